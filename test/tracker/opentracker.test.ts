/**
 * Interop: the Announcer against a real opentracker on 127.0.0.1, over HTTP
 * and over UDP (BEP 15). Two announcers find each other through it, and
 * opentracker's own scrape counts show that started, completed and stopped
 * arrived.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Announcer, type AnnouncedInfo } from '../../src/tracker/client.js';
import type { Warning } from '../../src/core/warnings.js';
import type { PeerAddress } from '../../src/tracker/compact-peers.js';
import { httpScrape } from '../../src/tracker/http-announce.js';
import { needTools } from '../helpers/env.js';
import { startOpentracker, waitFor, type Opentracker } from './helpers.js';

const skip = needTools('opentracker');
const HASHES = { http: Buffer.from('c1'.repeat(20), 'hex'), udp: Buffer.from('c2'.repeat(20), 'hex') };
let ot: Opentracker | undefined;

before(async () => {
  if (!skip) ot = await startOpentracker([HASHES.http.toString('hex'), HASHES.udp.toString('hex')]);
});
after(async () => {
  await ot?.stop();
});

for (const scheme of ['http', 'udp'] as const) {
  test(`opentracker over ${scheme}: two announcers find each other and the events show in its scrape`, { skip }, async () => {
    const url = scheme === 'http' ? ot!.announce : ot!.udp;
    const infoHash = HASHES[scheme];
    const warnings: Warning[] = [];
    const left = { a: 100, b: 100 };
    const make = (name: 'a' | 'b', port: number): Announcer => {
      const x = new Announcer({
        infoHash,
        peerId: Buffer.from(`-IS0100-${name}${scheme}${'0'.repeat(8)}`.slice(0, 20), 'latin1'),
        port,
        tiers: [[url]],
        stats: () => ({ uploaded: 0, downloaded: 0, left: left[name] }),
        timeoutMs: 3000,
        onWarning: (w) => warnings.push(w),
      });
      return x;
    };
    const a = make('a', 41001);
    const b = make('b', 41002);
    // Counts as opentracker sees them, read with a plain HTTP scrape (not through the Announcer).
    const counts = () => httpScrape(ot!.announce, infoHash, 3000);
    try {
      const aStarted = waitFor<AnnouncedInfo>(a, 'announced', (i) => i.event === 'started');
      a.start();
      await aStarted;
      const bPeers = waitFor<PeerAddress[]>(b, 'peers');
      b.start();
      assert.deepEqual(await bPeers, [{ host: '127.0.0.1', port: 41001 }]);
      assert.deepEqual(await counts(), { complete: 0, incomplete: 2, downloaded: 0 });
      // completed goes out at once (not at opentracker's 30-minute interval), and its answer lists B.
      left.a = 0;
      const aPeers = waitFor<PeerAddress[]>(a, 'peers');
      a.completed();
      assert.deepEqual(await aPeers, [{ host: '127.0.0.1', port: 41002 }]);
      assert.deepEqual(await counts(), { complete: 1, incomplete: 1, downloaded: 1 });
      const viaAnnouncer = await b.scrape();
      assert.deepEqual(viaAnnouncer, { url, complete: 1, incomplete: 1, downloaded: 1 });
      await a.stop();
      assert.deepEqual(await counts(), { complete: 0, incomplete: 1, downloaded: 1 });
      await b.stop();
      assert.deepEqual(await counts(), { complete: 0, incomplete: 0, downloaded: 1 });
      assert.deepEqual(warnings, []);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
}
