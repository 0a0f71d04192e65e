/**
 * The Announcer against isosync's own tracker (startTracker) on 127.0.0.1,
 * over HTTP and over UDP: peers find each other, the events reach the
 * tracker's table, stop() is prompt.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Announcer, type AnnouncedInfo } from '../../src/tracker/client.js';
import type { Warning } from '../../src/core/warnings.js';
import { startTracker, type RunningTracker } from '../../src/tracker/http-server.js';
import type { PeerAddress } from '../../src/tracker/compact-peers.js';
import { waitFor } from './helpers.js';

let t: RunningTracker;

before(async () => {
  t = await startTracker({ host: '127.0.0.1', port: 0, udp: true, interval: 1, minInterval: 1 });
});
after(async () => {
  await t.close();
});

function announcer(INFO_HASH: Buffer, url: string, port: number, left: { v: number }, warnings: Warning[]): Announcer {
  const a = new Announcer({
    infoHash: INFO_HASH,
    peerId: Buffer.from(`-IS0100-peer${String(port).padStart(8, '0')}`, 'latin1'),
    port,
    tiers: [[url]],
    stats: () => ({ uploaded: 0, downloaded: 0, left: left.v }),
    timeoutMs: 3000,
    // The tracker asks for 1 s: let it here (the default floor of 5 minutes is tested in hygiene.test.ts).
    minAnnounceIntervalS: 1,
    onWarning: (w) => warnings.push(w),
  });
  return a;
}

function swarm(INFO_HASH: Buffer): { seeders: number; leechers: number; completed: number } | undefined {
  const s = t.tracker.swarms().find((x) => x.infoHash === INFO_HASH.toString('hex'));
  return s && { seeders: s.seeders, leechers: s.leechers, completed: s.completed };
}

for (const scheme of ['http', 'udp'] as const) {
  test(`announcer over ${scheme}: two peers find each other, completed and stopped reach the tracker, own address filtered`, async () => {
    const INFO_HASH = Buffer.from((scheme === 'http' ? '11' : '12').repeat(20), 'hex');
    const url = scheme === 'http' ? `http://127.0.0.1:${t.httpPort}/announce` : `udp://127.0.0.1:${t.udpPort}/announce`;
    const warnings: Warning[] = [];
    const leftA = { v: 1000 };
    const leftB = { v: 1000 };
    const a = announcer(INFO_HASH, url, 40001, leftA, warnings);
    const b = announcer(INFO_HASH, url, 40002, leftB, warnings);
    const seenByA: PeerAddress[][] = [];
    a.on('peers', (p: PeerAddress[]) => seenByA.push(p));
    try {
      const aStarted = waitFor<AnnouncedInfo>(a, 'announced', (i) => i.event === 'started');
      a.start();
      assert.equal((await aStarted).peers, 0, 'alone in the swarm, and its own entry is filtered');
      const bPeers = waitFor<PeerAddress[]>(b, 'peers');
      b.start();
      assert.deepEqual(await bPeers, [{ host: '127.0.0.1', port: 40001 }]);
      // A learns of B at its next regular announce (interval 1 s).
      const aPeers = await waitFor<PeerAddress[]>(a, 'peers', undefined, 5000);
      assert.deepEqual(aPeers, [{ host: '127.0.0.1', port: 40002 }]);
      assert.ok(seenByA.flat().every((p) => p.port !== 40001), 'A never receives itself');
      assert.deepEqual(swarm(INFO_HASH), { seeders: 0, leechers: 2, completed: 0 });
      leftA.v = 0;
      const done = waitFor<AnnouncedInfo>(a, 'announced', (i) => i.event === 'completed');
      a.completed();
      await done;
      assert.deepEqual(swarm(INFO_HASH), { seeders: 1, leechers: 1, completed: 1 });
      a.completed();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(swarm(INFO_HASH)!.completed, 1, 'completed is sent once');
      const scraped = await b.scrape();
      assert.deepEqual(scraped, { url, complete: 1, incomplete: 1, downloaded: 1 });
      const t0 = Date.now();
      await a.stop();
      assert.ok(Date.now() - t0 < 2500);
      assert.deepEqual(swarm(INFO_HASH), { seeders: 0, leechers: 1, completed: 1 });
      await b.stop();
      assert.deepEqual(swarm(INFO_HASH), { seeders: 0, leechers: 0, completed: 1 });
      assert.deepEqual(warnings, []);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
}

test('announcer: the preferred tracker is tried first; a dead one in front only costs a warning', async () => {
  const warnings: Warning[] = [];
  const a = new Announcer({
    infoHash: Buffer.from('22'.repeat(20), 'hex'),
    peerId: Buffer.from('-IS0100-preferred000', 'latin1'),
    port: 40010,
    tiers: [[`http://127.0.0.1:${t.httpPort}/announce`]],
    preferred: ['http://127.0.0.1:1/announce'],
    stats: () => ({ uploaded: 0, downloaded: 0, left: 5 }),
    timeoutMs: 2000,
    onWarning: (w) => warnings.push(w),
  });
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    assert.equal((await ok).url, `http://127.0.0.1:${t.httpPort}/announce`);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.code, 'TRACKER_FAILED');
    assert.equal(warnings[0]!.source, 'tracker http://127.0.0.1:1/announce');
    assert.equal(warnings[0]!.error?.fields['errno'], 'ECONNREFUSED');
  } finally {
    await a.stop();
  }
});

test('announcer: stop() returns within its bound when the tracker never answers', async () => {
  const a = new Announcer({
    infoHash: Buffer.from('33'.repeat(20), 'hex'),
    peerId: Buffer.from('-IS0100-stopper00000', 'latin1'),
    port: 40011,
    // A UDP port nobody answers on: the started announce is still in flight at stop().
    tiers: [['udp://127.0.0.1:9/announce']],
    stats: () => ({ uploaded: 0, downloaded: 0, left: 5 }),
    timeoutMs: 60_000,
  });
  a.start();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await a.stop();
  assert.ok(Date.now() - t0 < 2500, `stop took ${Date.now() - t0} ms`);
});
