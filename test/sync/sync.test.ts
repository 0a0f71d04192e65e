import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeFloor } from '../../bench/floor.js';
import { cliAsync } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from './fixture-pair.js';

const skip = HAVE_RELEASES ? false : 'fixtures/releases not built (run npm run fixtures)';

describe('sync 1.00 -> 1.01 and back over an HTTP web seed', { skip }, () => {
  let pub: Published;
  let server: RangeServer;
  const names = ['distro-1.00', 'distro-1.01'];

  before(async () => {
    pub = publishChain(names);
    server = await startRangeServer(Object.fromEntries(names.map((n) => [`/${n}.iso`, pub.image(n)])));
  });
  after(async () => {
    await server?.close();
    pub?.cleanup();
  });

  async function sync(torrent: string, out: string, home: string, extra: string[] = []) {
    const before = server.bytesSent();
    const r = await cliAsync(['sync', torrent, '-o', out, '--home', home, '--json', ...extra]);
    return { ...r, served: server.bytesSent() - before, report: r.status === 0 ? JSON.parse(r.stdout) : undefined };
  }

  test('an upgrade with isosync hints fetches less than the file-level floor, bit-identical', async () => {
    const src = pub.image('distro-1.00');
    const srcHash = sha256(src);
    const out = join(pub.dir, 'up-hints.iso');
    const r = await sync(pub.torrent('distro-1.01'), out, join(pub.dir, 'client-a'), ['--from', src, '--web-seed', `${server.url}/distro-1.01.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(pub.image('distro-1.01')));
    assert.equal(sha256(src), srcHash, 'the source image is unchanged');
    const floor = await computeFloor(pub.image('distro-1.01'), [src]);
    assert.ok(r.served <= 0.95 * floor.floorBytes, `served ${r.served} > 0.95 x floor ${floor.floorBytes}`);
    assert.ok(r.served > 0, 'something changed, so something was fetched');
    assert.ok(r.report.sources.some((s: { hints?: string }) => s.hints === 'from'));
  });

  test('a stock torrent without hints fetches at most 1.02 x the floor', async () => {
    const img = pub.image('distro-1.01');
    const pieces = await hashPieces(img, 262144);
    const stock = createTorrent({ name: 'distro-1.01.iso', length: readFileSync(img).length, pieceLength: 262144, pieces, webSeeds: [`${server.url}/distro-1.01.iso`] });
    const torrent = join(pub.dir, 'stock-1.01.torrent');
    writeFileSync(torrent, stock.bytes);
    const src = pub.image('distro-1.00');
    const out = join(pub.dir, 'up-stock.iso');
    const r = await sync(torrent, out, join(pub.dir, 'client-b'), ['--from', src]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(img));
    const floor = await computeFloor(img, [src]);
    assert.ok(r.served <= 1.02 * floor.floorBytes, `served ${r.served} > 1.02 x floor ${floor.floorBytes}`);
    assert.ok(r.report.changedFiles.length > 0);
  });

  test('rollback: the catalog finds 1.01 on disk and the newer torrent hints the way back', async () => {
    const home = join(pub.dir, 'client-c');
    const up = join(pub.dir, 'c-1.01.iso');
    const first = await sync(pub.torrent('distro-1.01'), up, home, ['--from', pub.image('distro-1.00'), '--web-seed', `${server.url}/distro-1.01.iso`]);
    assert.equal(first.status, 0, first.stderr);
    const down = join(pub.dir, 'c-1.00.iso');
    const r = await sync(pub.torrent('distro-1.00'), down, home, ['--web-seed', `${server.url}/distro-1.00.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(down), sha256(pub.image('distro-1.00')));
    assert.ok(r.report.sources.some((s: { path: string; hints?: string }) => s.path === up && s.hints === 'to'), JSON.stringify(r.report.sources));
    const floor = await computeFloor(pub.image('distro-1.00'), [up]);
    assert.ok(r.served <= 0.95 * floor.floorBytes, `served ${r.served} > 0.95 x floor ${floor.floorBytes}`);
  });

  test('plan writes nothing and reports what sync then fetches', async () => {
    const r = await cliAsync(['plan', pub.torrent('distro-1.01'), '--from', pub.image('distro-1.00'), '--web-seed', `${server.url}/distro-1.01.iso`, '--home', join(pub.dir, 'client-d'), '--json'], { cwd: pub.dir });
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.targetBytes, readFileSync(pub.image('distro-1.01')).length);
    assert.equal(plan.reusedBytes + plan.fetchBytes, plan.targetBytes);
    assert.ok(plan.fetchBytes < plan.targetBytes / 4);
    assert.ok(!existsSync(join(pub.dir, 'distro-1.01.iso.part')), 'plan leaves no .part behind');
  });
});
