/**
 * A fast seed peer beside a slow mirror carries most of a delta sync, over
 * real sockets on 127.0.0.1: a small HTTP range server behind a relay that
 * paces it to MIRROR_RATE in total, and an unlimited `isosync seed`. The
 * mirror alone takes some 10 s for the delta, so the swarm starts
 * ("web-seed-slow", sync/swarm-start.ts); from then the seed peer takes the
 * far end of the mirror's queue by measured rate (engine/scheduler.ts
 * keptQueue), and look-ahead takes pieces for it too (engine/look-ahead.ts
 * aheadRoom).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, openSync, closeSync, fstatSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { startRangeServer } from '../helpers/range-server.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import { isosync, isosyncSeed } from '../swarm/peers.js';
import { HAVE_RELEASES, RELEASES, sha256 } from './fixture-pair.js';
import { MIN_QUEUE_BYTES } from '../../src/webseed/web-peer.js';

/** The mirror's rate in total: some 10 s for the delta, twice what starts the swarm (SLOW_LEFT_MS). */
const MIRROR_RATE = 256 * 1024;
/**
 * The fixtures' delta (0.7 MB) is less than a mirror's first requests take
 * (webseed/web-peer.ts MIN_QUEUE_BYTES): the new release's file data is
 * changed in stretches of CHANGED_BYTES every CHANGED_EVERY bytes from 1 MiB
 * on (its metadata, in the first MiB, stays), some 2.7 MB more to fetch.
 */
const CHANGED_BYTES = 48 * 1024;
const CHANGED_EVERY = 80 * 1024;

interface Report {
  fetchedBytes: number;
  duplicateBytes: number;
  peers: { downloaded: number; started: string | false };
}

/** Overwrites stretches of `path`'s file data with seeded random bytes. */
function changeFileData(path: string): void {
  const rng = new Rng(7);
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    for (let at = 1024 * 1024; at + CHANGED_BYTES <= size; at += CHANGED_EVERY) writeSync(fd, rng.bytes(CHANGED_BYTES), 0, CHANGED_BYTES, at);
  } finally {
    closeSync(fd);
  }
}

describe('a seed peer beside a slow mirror', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, () => {
  test('takes most of the bytes, fetches none twice, and the image is bit-identical', async () => {
    const t = tempDir('isosync-slow-mirror-');
    const old = join(t.dir, '1.00.iso');
    const cur = join(t.dir, '1.01.iso');
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), old);
    copyFileSync(join(RELEASES, 'distro-1.01.iso'), cur);
    changeFileData(cur);
    const torrent = join(t.dir, '1.01.torrent');
    const home = join(t.dir, 'pub');
    for (const args of [
      ['publish', old, '--product', 'distro', '--release', '1.00', '--home', home, '-o', join(t.dir, '1.00.torrent')],
      ['publish', cur, '--product', 'distro', '--release', '1.01', '--previous', old, '--home', home, '-o', torrent],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
    }
    const seed = await isosyncSeed(torrent, cur, ['--no-catalog', '--no-dht']);
    const web = await startRangeServer({ '/1.01.iso': cur });
    const mirror = await startTcpRelay(Number(new URL(web.url).port), { rate: MIRROR_RATE });
    try {
      const out = join(t.dir, 'synced.iso');
      const r = await isosync(['sync', torrent, '--from', old, '--no-catalog', '--no-dht', '--home', join(t.dir, 'h'), '-o', out, '--json', '--peer', `127.0.0.1:${seed.port}`, '--web-seed', `http://127.0.0.1:${mirror.port}/1.01.iso`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(cur));
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.peers.started, 'web-seed-slow', `the mirror fell behind (${report.fetchedBytes} bytes to fetch): the swarm started`);
      const fromPeer = report.peers.downloaded;
      // What crossed the paced link, HTTP headers and multipart framing included (the server's own count includes what it wrote into the relay for a request withdrawn later).
      const fromWeb = mirror.bytesFromServer();
      assert.ok(fromPeer >= (2 / 3) * report.fetchedBytes, `the peer sent ${fromPeer} of ${report.fetchedBytes} bytes fetched (the mirror ${fromWeb})`);
      // Nothing twice but endgame's deliberate repeats: a peer repeats the mirror's asks once they are ENDGAME_CROSS_MS old, at most what
      // the mirror had in flight (a request cannot be withdrawn: MIN_QUEUE_BYTES at its rate), and some hundred bytes of headers a request.
      assert.ok(fromPeer + fromWeb <= report.fetchedBytes + MIN_QUEUE_BYTES + 64 * 1024, `peer ${fromPeer} + mirror ${fromWeb} bytes for ${report.fetchedBytes} fetched`);
      // The report names the copies that came twice, apart from the fetched bytes: both together are at most what the two sources sent.
      assert.equal(typeof report.duplicateBytes, 'number');
      assert.ok(report.fetchedBytes + report.duplicateBytes <= fromPeer + fromWeb, `${report.fetchedBytes} fetched + ${report.duplicateBytes} twice, but peer ${fromPeer} + mirror ${fromWeb} sent`);
    } finally {
      await seed.stop();
      await mirror.close();
      await web.close();
      t.cleanup();
    }
  });
});
