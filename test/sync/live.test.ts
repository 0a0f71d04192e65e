/**
 * Live and hybrid images with a stock torrent (no isosync keys, one web
 * seed): an upgrade and a rollback between the committed live pairs, counted
 * by the web server, every result bit-identical, and `plan` against `sync`.
 * The block floor (bench/live-floor.ts) is what a client that reads the
 * target's metadata and copies whole stored blocks must fetch.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { computeLiveFloor } from '../../bench/live-floor.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { cliAsync, fixture, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { sha256 } from './fixture-pair.js';

const PIECE = 32 * 1024;

/**
 * [pair, bound on served / block floor, bound on |plan - sync| / sync] for each direction. The squashfs pair's plan
 * samples its guesses as a sync does (changed blocks, blocks changed in place, pieces failing as built locally); the
 * EROFS pair's counts its checked pieces exactly and hashes the others as built locally (sampling those that fail).
 */
const PAIRS = [
  ['live', 1.05, 0.02],
  ['live-erofs', 1.2, 0.02],
] as const;

for (const [name, floorBound, planBound] of PAIRS) {
  describe(`stock torrent, ${name}: upgrade and rollback over a web seed`, () => {
    let server: RangeServer;
    let dir: string;
    let cleanup: () => void;
    const img = (r: 1 | 2) => fixture('live', `${name}-${r}.iso`);

    before(async () => {
      ({ dir, cleanup } = tempDir('isosync-live-'));
      server = await startRangeServer({ [`/${name}-1.iso`]: img(1), [`/${name}-2.iso`]: img(2) });
    });
    after(async () => {
      await server?.close();
      cleanup?.();
    });

    async function stockTorrent(r: 1 | 2): Promise<string> {
      const path = img(r);
      const t = createTorrent({ name: `${name}-${r}.iso`, length: readFileSync(path).length, pieceLength: PIECE, pieces: await hashPieces(path, PIECE), webSeeds: [`${server.url}/${name}-${r}.iso`] });
      const file = join(dir, `${name}-${r}.torrent`);
      writeFileSync(file, t.bytes);
      return file;
    }

    test('isosync torrent with delta hints: hints under 0.1 % of the image, plan lists nested changes within 2 % of sync, fewer bytes than stock, bit-identical', async () => {
      const home = join(dir, 'publisher');
      const t1 = join(dir, `${name}-h1.torrent`);
      const t2 = join(dir, `${name}-h2.torrent`);
      const pub1 = await cliAsync(['publish', img(1), '--product', name, '--release', '1', '--home', home, '-o', t1]);
      assert.equal(pub1.status, 0, pub1.stderr);
      const pub2 = await cliAsync(['publish', img(2), '--product', name, '--release', '2', '--previous', img(1), '--web-seed', `${server.url}/${name}-2.iso`, '--piece-length', String(PIECE), '--home', home, '-o', t2]);
      assert.equal(pub2.status, 0, pub2.stderr);
      const info = JSON.parse((await cliAsync(['info', t2, '--json'])).stdout) as { length: number; hints: { bytes: number } };
      assert.ok(info.hints.bytes > 0 && info.hints.bytes < 0.001 * info.length, `hints ${info.hints.bytes} bytes`);
      const client = join(dir, 'hinted-client');
      const plan = await cliAsync(['plan', t2, '--from', img(1), '--home', client, '--json']);
      assert.equal(plan.status, 0, plan.stderr);
      const p = JSON.parse(plan.stdout);
      assert.ok((p.changedFiles as { path: string }[]).some((c) => c.path.includes(':/usr/bin/')), 'nested changes listed');
      const sent0 = server.bytesSent();
      const out = join(dir, 'hinted.iso');
      const r = await cliAsync(['sync', t2, '--from', img(1), '-o', out, '--home', client, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const served = server.bytesSent() - sent0;
      assert.equal(sha256(out), sha256(img(2)));
      // Against what the server sent: the plan counts the multipart framing of the many small ranges hints leave.
      const fetched = JSON.parse(r.stdout).fetchedBytes as number;
      assert.ok(Math.abs(p.fetchBytes - served) <= 0.02 * served, `plan ${p.fetchBytes} vs sync ${served} (payload ${fetched})`);
      assert.ok(served >= fetched && served <= 1.05 * fetched, `served ${served} vs fetched ${fetched}`);
      const floor = await computeLiveFloor(img(2), img(1));
      assert.ok(served < floor.floorBytes, `hints (${served}) beat the block floor (${floor.floorBytes}): they reach inside changed blocks`);
    });

    for (const [from, to, what] of [[1, 2, 'upgrade'], [2, 1, 'rollback']] as const) {
      test(`${what}: bit-identical, within ${floorBound} x the block floor, plan within ${planBound * 100} % of sync, nested changes listed`, async (t) => {
        const torrent = await stockTorrent(to);
        const home = join(dir, `home-${what}`);
        const plan = await cliAsync(['plan', torrent, '--from', img(from), '--home', home, '--json']);
        assert.equal(plan.status, 0, plan.stderr);
        const p = JSON.parse(plan.stdout);
        const nested = (p.changedFiles as { path: string }[]).filter((c) => c.path.includes(':/'));
        assert.ok(nested.length > 0, 'plan lists nested files that change');
        assert.ok(nested.some((c) => c.path.startsWith(name === 'live' ? '/live/filesystem.squashfs:/usr/' : '/LiveOS/squashfs.img:/usr/')));
        const sent0 = server.bytesSent();
        const out = join(dir, `${what}.iso`);
        const r = await cliAsync(['sync', torrent, '--from', img(from), '-o', out, '--home', home, '--json']);
        assert.equal(r.status, 0, r.stderr);
        const served = server.bytesSent() - sent0;
        assert.equal(sha256(out), sha256(img(to)), 'bit-identical');
        const floor = await computeLiveFloor(img(to), img(from));
        assert.ok(served <= floorBound * floor.floorBytes, `served ${served} > ${floorBound} x block floor ${floor.floorBytes}`);
        t.diagnostic(`served ${served} = ${(served / floor.floorBytes).toFixed(2)} x the block floor ${floor.floorBytes}`);
        assert.ok(served < 0.4 * readFileSync(img(to)).length, 'far less than the whole image');
        const planned = p.fetchBytes as number;
        t.diagnostic(`plan/sync ${(planned / served).toFixed(3)} (${planned} / ${served})`);
        assert.ok(Math.abs(planned - served) <= planBound * served, `plan ${planned} vs sync ${served}`);
      });
    }
  });
}
