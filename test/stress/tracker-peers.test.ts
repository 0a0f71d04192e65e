/**
 * Huge but valid tracker replies: 200,000 compact peers parse (a spread of
 * them into one push once overflowed the stack at ~125,000), and a reply at
 * the client's 1 MiB cap, served over HTTP on 127.0.0.1, reaches the
 * Announcer's listeners as a bounded list instead of a crash or 174,000
 * dials.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { Announcer, MAX_PEERS_PER_REPLY, type AnnouncedInfo } from '../../src/tracker/client.js';
import { COMPACT_V4_BYTES, COMPACT_V6_BYTES, type PeerAddress } from '../../src/tracker/compact-peers.js';
import { MAX_REPLY_BYTES } from '../../src/tracker/http-announce.js';
import { parseAnnounceReply } from '../../src/tracker/http-reply.js';
import type { Warning } from '../../src/core/warnings.js';
import { waitFor } from '../tracker/helpers.js';

/** `n` distinct compact peers: 10.x.y.z, ports from 1024 up. */
function compactPeers(n: number, family: 4 | 6): Buffer {
  const size = family === 4 ? COMPACT_V4_BYTES : COMPACT_V6_BYTES;
  const b = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) {
    const at = i * size;
    if (family === 4) {
      b[at] = 10;
      b.writeUIntBE(i & 0xffffff, at + 1, 3);
    } else {
      b.writeUInt16BE(0x2001, at);
      b.writeUInt16BE(0x0db8, at + 2);
      b.writeUInt32BE(i, at + 12);
    }
    b.writeUInt16BE(1024 + (i % 60000), at + size - 2);
  }
  return b;
}

test('a reply of 200,000 compact IPv4 peers and 20,000 IPv6 peers parses into every address', () => {
  const bytes = encodeBencode({ interval: 1800, peers: compactPeers(200_000, 4), peers6: compactPeers(20_000, 6) });
  const r = parseAnnounceReply(bytes);
  assert.equal(r.peers.length, 220_000);
  assert.deepEqual(r.peers[199_999], { host: `10.3.13.63`, port: 1024 + (199_999 % 60000) });
  assert.equal(r.peers[200_000]!.host, '2001:db8::');
});

test('a dictionary-model reply of 200,000 peers parses', () => {
  const peers = [];
  for (let i = 0; i < 200_000; i++) peers.push({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) });
  const r = parseAnnounceReply(encodeBencode({ interval: 1800, peers }));
  assert.equal(r.peers.length, 200_000);
});

let server: http.Server;
let url = '';
/** The largest compact reply under the cap: as many 6-byte peers as fit. */
let capPeers = 0;
let capBody: Uint8Array;

before(async () => {
  const overhead = encodeBencode({ interval: 1800, peers: Buffer.alloc(0) }).length + 7; // the length prefix grows by up to 7 digits
  capPeers = Math.floor((MAX_REPLY_BYTES - overhead) / COMPACT_V4_BYTES);
  capBody = encodeBencode({ interval: 1800, peers: compactPeers(capPeers, 4) });
  assert.ok(capBody.length <= MAX_REPLY_BYTES && capBody.length > MAX_REPLY_BYTES - 64, `${capBody.length} bytes is at the cap`);
  server = http.createServer((_req, res) => res.end(capBody));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test(`a reply at the 1 MiB cap (${'~174,000'} peers) gives the Announcer's listeners at most ${MAX_PEERS_PER_REPLY} peers, without a warning`, async () => {
  const warnings: Warning[] = [];
  const a = new Announcer({
    infoHash: new Uint8Array(20).fill(3),
    peerId: Buffer.from('-IS0100-stresspeers0', 'latin1'),
    port: 42001,
    tiers: [[url]],
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    timeoutMs: 10_000,
    onWarning: (w) => warnings.push(w),
  });
  try {
    const peers = waitFor<PeerAddress[]>(a, 'peers', undefined, 20_000);
    const announced = waitFor<AnnouncedInfo>(a, 'announced', undefined, 20_000);
    a.start();
    const got = await peers;
    assert.equal(got.length, MAX_PEERS_PER_REPLY);
    assert.equal(new Set(got.map((p) => `${p.host}:${p.port}`)).size, got.length, 'distinct peers');
    assert.equal((await announced).peers, MAX_PEERS_PER_REPLY);
    assert.ok(capPeers > 170_000, `${capPeers} peers were sent`);
    assert.deepEqual(warnings, []);
  } finally {
    await a.stop();
  }
});
