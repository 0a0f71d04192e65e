/**
 * Trackers that misbehave (HTTP and UDP servers on 127.0.0.1 written to
 * fail in one way each): every failure becomes one warning naming the
 * tracker and the problem, and the announce moves on to the next tracker.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { Announcer, type AnnouncedInfo } from '../../src/tracker/client.js';
import { encodeCompactV4 } from '../../src/tracker/compact-peers.js';
import * as wire from '../../src/tracker/udp-wire.js';
import { waitFor } from './helpers.js';

/** One HTTP server, one failure per path; /good answers properly with one peer. */
const HTTP_MODES: Record<string, (res: http.ServerResponse) => void> = {
  '/garbage': (res) => res.end('<html><body>Welcome to nginx!</body></html>'),
  '/status500': (res) => res.writeHead(500).end('d14:failure reason4:oopse'),
  '/stall': () => {
    /* never answers */
  },
  '/failure': (res) => res.end(encodeBencode({ 'failure reason': 'torrent not registered' })),
  '/ragged': (res) => res.end(encodeBencode({ interval: 60, peers: Buffer.alloc(7) })),
  '/truncated': (res) => res.end('d8:intervali60e5:peers12:abc'),
  '/huge': (res) => {
    res.write('d8:intervali60e5:peers');
    res.end(Buffer.alloc(2 * 1024 * 1024));
  },
  '/good': (res) => res.end(encodeBencode({ interval: 60, peers: encodeCompactV4('10.9.8.7', 6881)! })),
};

type UdpMode = 'wrong-tid' | 'garbage' | 'error-action' | 'wrong-action' | 'ragged-peers';

let httpServer: http.Server;
let httpBase = '';
const udpServers: dgram.Socket[] = [];
const udpUrls = new Map<UdpMode, string>();

function udpTracker(mode: UdpMode): Promise<string> {
  const s = dgram.createSocket('udp4');
  udpServers.push(s);
  s.on('message', (msg, r) => {
    const d = wire.decodeRequest(msg);
    if (!d?.request) return;
    const tid = d.transactionId;
    const reply = (b: Uint8Array): void => void s.send(b, r.port, r.address);
    if (mode === 'wrong-tid') return reply(wire.encodeConnectReply((tid + 1) >>> 0, 1n));
    if (mode === 'garbage') return reply(Buffer.from('hello'));
    if (d.request.action === 'connect') return reply(wire.encodeConnectReply(tid, 77n));
    if (mode === 'error-action') return reply(wire.encodeErrorReply(tid, 'info_hash not found'));
    if (mode === 'wrong-action') return reply(wire.encodeScrapeReply(tid, [{ seeders: 1, completed: 1, leechers: 1 }]));
    const ok = wire.encodeAnnounceReply(tid, { interval: 60, leechers: 1, seeders: 1 }, []);
    return reply(Buffer.concat([ok, Buffer.alloc(5)]));
  });
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(`udp://127.0.0.1:${s.address().port}/announce`)));
}

before(async () => {
  httpServer = http.createServer((req, res) => {
    const mode = HTTP_MODES[req.url!.split('?')[0]!];
    if (mode) mode(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
  httpBase = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  for (const m of ['wrong-tid', 'garbage', 'error-action', 'wrong-action', 'ragged-peers'] as const) udpUrls.set(m, await udpTracker(m));
});

after(async () => {
  httpServer.closeAllConnections();
  await new Promise((r) => httpServer.close(r));
  for (const s of udpServers) s.close();
});

function make(tiers: string[][], preferred: string[] = []): { a: Announcer; warnings: string[] } {
  const a = new Announcer({
    infoHash: new Uint8Array(20).fill(7),
    peerId: Buffer.from('-IS0100-badtrackers0', 'latin1'),
    port: 42000,
    tiers,
    preferred,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    timeoutMs: 700,
  });
  const warnings: string[] = [];
  a.on('warning', (w: string) => warnings.push(w));
  return { a, warnings };
}

test('every malformed reply is one warning naming the tracker, and the next tracker gives the peers', async () => {
  const bad = [
    ...['/garbage', '/status500', '/stall', '/failure', '/ragged', '/truncated', '/huge'].map((p) => `${httpBase}${p}`),
    ...[...udpUrls.values()],
  ];
  // Preferred trackers are tried in the given order (not shuffled), so each bad one is tried before the good one.
  const { a, warnings } = make([[`${httpBase}/good`]], bad);
  try {
    const peers = waitFor<{ host: string; port: number }[]>(a, 'peers', undefined, 20_000);
    a.start();
    assert.deepEqual(await peers, [{ host: '10.9.8.7', port: 6881 }]);
    const expected: [string, RegExp][] = [
      ['/garbage', /reply is not bencode/],
      ['/status500', /HTTP 500/],
      ['/stall', /no reply within 700 ms/],
      ['/failure', /tracker says "torrent not registered"/],
      ['/ragged', /7 bytes, not a multiple of 6/],
      ['/truncated', /not bencode/],
      ['/huge', /reply longer than 1048576 bytes/],
    ];
    for (const [path, re] of expected) {
      const w = warnings.find((x) => x.startsWith(`Tracker ${httpBase}${path}: `));
      assert.ok(w, `a warning for ${path} in ${JSON.stringify(warnings)}`);
      assert.match(w, re);
    }
    const udpExpect: [UdpMode, RegExp][] = [
      ['wrong-tid', /no valid reply within 700 ms .*unknown transaction id/],
      ['garbage', /no valid reply within 700 ms .*a 5-byte packet/],
      ['error-action', /tracker says "info_hash not found"/],
      ['wrong-action', /reply has action 2, expected 1/],
      ['ragged-peers', /5 bytes, not a multiple of 6/],
    ];
    for (const [mode, re] of udpExpect) {
      const w = warnings.find((x) => x.startsWith(`Tracker ${udpUrls.get(mode)}: `));
      assert.ok(w, `a warning for ${mode} in ${JSON.stringify(warnings)}`);
      assert.match(w, re);
    }
    assert.equal(warnings.length, expected.length + udpExpect.length, 'one line per failed tracker');
    assert.ok(warnings.every((w) => !w.includes('\n')));
  } finally {
    await a.stop();
  }
});

test('a failing tier hands over to the next tier; the answering tracker moves to the front of its tier', async () => {
  const { a, warnings } = make([[`${httpBase}/status500`], [`${httpBase}/garbage`, `${httpBase}/good`]]);
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    assert.equal((await ok).url, `${httpBase}/good`);
    assert.match(warnings[0]!, /status500: HTTP 500/);
    assert.deepEqual(a.trackers()[1]![0], `${httpBase}/good`);
  } finally {
    await a.stop();
  }
});

test('when no tracker answers, one summary warning says when it retries, and nothing throws', async () => {
  const { a, warnings } = make([[`${httpBase}/failure`], [udpUrls.get('error-action')!]]);
  try {
    a.start();
    const last = await waitFor<string>(a, 'warning', (w) => w.includes('(all trackers)'));
    assert.match(last, /no tracker answered; retrying in 15 s/);
    assert.equal(warnings.length, 3);
  } finally {
    await a.stop();
  }
});

test('unsupported tracker schemes are reported once and skipped', async () => {
  const { a, warnings } = make([['wss://tracker.example/announce', `${httpBase}/good`]]);
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    await ok;
    assert.deepEqual(warnings, ['Tracker wss://tracker.example/announce: unsupported tracker scheme, skipped']);
  } finally {
    await a.stop();
  }
});
