/**
 * Tracker hygiene: a tracker answering `interval 0` is not re-announced to
 * every second, a peer address such as `../../etc` from a dictionary-model
 * reply never reaches the swarm (so it is never looked up), and a tracker
 * that keeps failing the same way is reported once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { Announcer, announceDelays, MIN_ANNOUNCE_INTERVAL_S, type AnnouncedInfo } from '../../src/tracker/client.js';
import { isHostName, isPeerHost, type PeerAddress } from '../../src/tracker/compact-peers.js';
import { parseAnnounceReply } from '../../src/tracker/http-reply.js';
import type { Warning } from '../../src/core/warnings.js';
import { waitFor } from './helpers.js';

const REPLIES: Record<string, () => Uint8Array | number> = {
  '/zero': () => encodeBencode({ interval: 0, peers: Buffer.alloc(0) }),
  '/dict': () => encodeBencode({
    interval: 1800,
    peers: [
      { ip: '../../etc', port: 6881 },
      { ip: '10.0.0.1', port: 6881 },
      { ip: 'evil.example/x', port: 1 },
      { ip: 'seed.example.org', port: 51413 },
      { ip: '[2001:db8::5]', port: 7000 },
      { ip: '1.2.3', port: 80 },
      { ip: '10.0.0.2', port: 0 },
    ],
  }),
  '/fail': () => 500,
};
const hits = new Map<string, number>();
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const path = req.url!.split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const r = REPLIES[path]?.();
    if (typeof r === 'number') res.writeHead(r).end();
    else if (r) res.end(r);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function announcer(path: string, warnings: Warning[]): Announcer {
  const a = new Announcer({
    infoHash: new Uint8Array(20).fill(0x5a),
    peerId: Buffer.from('-IS0100-hygiene00000', 'latin1'),
    port: 42100,
    tiers: [[`${base}${path}`]],
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    timeoutMs: 3000,
    onWarning: (w) => warnings.push(w),
  });
  return a;
}

test('announce delays: the 5-minute floor, or the tracker min interval when larger, at most a day', () => {
  const table: [{ interval: number; minInterval?: number }, number | undefined, { nextS: number; minS: number }][] = [
    [{ interval: 0 }, undefined, { nextS: 300, minS: 300 }],
    [{ interval: 1 }, undefined, { nextS: 300, minS: 300 }],
    [{ interval: 1800, minInterval: 900 }, undefined, { nextS: 1800, minS: 900 }],
    [{ interval: 60, minInterval: 600 }, undefined, { nextS: 600, minS: 600 }],
    [{ interval: 0, minInterval: 0 }, undefined, { nextS: 300, minS: 300 }],
    [{ interval: 10 ** 9 }, undefined, { nextS: 86_400, minS: 300 }],
    [{ interval: 5, minInterval: 10 ** 9 }, undefined, { nextS: 86_400, minS: 86_400 }],
    [{ interval: 2.7 }, 1, { nextS: 2, minS: 1 }],
    [{ interval: 0 }, 1, { nextS: 1, minS: 1 }],
  ];
  assert.equal(MIN_ANNOUNCE_INTERVAL_S, 300);
  for (const [reply, floor, want] of table) assert.deepEqual(announceDelays(reply, floor), want, JSON.stringify([reply, floor]));
});

test('a tracker answering interval 0 is announced to once, and the next announce is 5 minutes away', async () => {
  const a = announcer('/zero', []);
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    const info = await ok;
    assert.equal(info.interval, 0, 'the tracker said 0');
    assert.equal(info.nextAnnounceS, MIN_ANNOUNCE_INTERVAL_S);
    // An early update() is held to the same floor.
    a.update();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(hits.get('/zero'), 1, 'one announce in 2.5 s');
  } finally {
    await a.stop();
  }
});

test('peer addresses: IP addresses and host names pass, anything else is never a peer', () => {
  for (const ok of ['10.0.0.1', '::1', 'seed.example.org', 'localhost', 'a-b.c', 'x.example.']) assert.ok(isPeerHost(ok), ok);
  for (const bad of ['../../etc', '', '.', 'a..b', '-a.b', 'a-.b', 'evil.example/x', 'a b', 'x:y', '1.2.3', '999.1.1.1', 'ä.example', `${'a'.repeat(64)}.b`, 'a.'.repeat(127) + 'a']) {
    assert.ok(!isPeerHost(bad), bad);
  }
  assert.ok(isHostName('a'.repeat(63)));
  const r = parseAnnounceReply(REPLIES['/dict']!() as Uint8Array);
  assert.deepEqual(r.peers, [{ host: '10.0.0.1', port: 6881 }, { host: 'seed.example.org', port: 51413 }, { host: '2001:db8::5', port: 7000 }]);
  assert.deepEqual(r.skipped, { count: 4, first: '../../etc:6881' });
});

test('a dictionary reply with "../../etc" gives the swarm only the valid peers, and one warning', async () => {
  const warnings: Warning[] = [];
  const a = announcer('/dict', warnings);
  try {
    const peers = waitFor<PeerAddress[]>(a, 'peers');
    a.start();
    assert.deepEqual((await peers).map((p) => p.host), ['10.0.0.1', 'seed.example.org', '2001:db8::5']);
    assert.deepEqual(warnings.map((w) => [w.code, w.source]), [['TRACKER_PEERS_SKIPPED', `tracker ${base}/dict`]]);
    assert.equal(warnings[0]!.detail, 'skipped 4 peer entries with an invalid address or port (first: "../../etc:6881")');
  } finally {
    await a.stop();
  }
});

test('a tracker that fails the same way every round is reported once, with one "no tracker answered"', async () => {
  const warnings: Warning[] = [];
  const a = announcer('/fail', warnings);
  try {
    a.start();
    for (let round = 1; round <= 4; round++) {
      while ((hits.get('/fail') ?? 0) < round) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50)); // the round's warnings are emitted
      if (round < 4) a.update(); // never answered: nothing holds an early announce back
    }
    assert.equal(hits.get('/fail'), 4);
    assert.deepEqual(warnings.map((w) => [w.code, w.source, w.error?.code]), [
      ['TRACKER_FAILED', `tracker ${base}/fail`, 'HTTP_STATUS'],
      ['TRACKERS_UNREACHABLE', 'trackers', undefined],
    ]);
  } finally {
    await a.stop();
  }
});
