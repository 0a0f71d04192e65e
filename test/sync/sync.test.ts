import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeFloor } from '../../bench/floor.js';
import { spawnSync } from 'node:child_process';
import { cliAsync, needTools } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from './fixture-pair.js';

const skip = HAVE_RELEASES ? false : 'fixtures/releases not built (run npm run fixtures)';

for (const [OLD, NEW, how] of [
  ['distro-1.00', 'distro-1.01', 'rebuilt from scratch'],
  ['distro-1.00', 'distro-1.01-appended', 'grown in place (appended session)'],
] as const) describe(`sync ${OLD} -> ${NEW} (${how}) and back over an HTTP web seed`, { skip }, () => {
  let pub: Published;
  let server: RangeServer;
  const names = [OLD, NEW];

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
    const src = pub.image(OLD);
    const srcHash = sha256(src);
    const out = join(pub.dir, 'up-hints.iso');
    const r = await sync(pub.torrent(NEW), out, join(pub.dir, 'client-a'), ['--from', src, '--web-seed', `${server.url}/${NEW}.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(pub.image(NEW)));
    assert.equal(sha256(src), srcHash, 'the source image is unchanged');
    const floor = await computeFloor(pub.image(NEW), [src]);
    assert.ok(r.served <= 0.95 * floor.floorBytes, `served ${r.served} > 0.95 x floor ${floor.floorBytes}`);
    assert.ok(r.served > 0, 'something changed, so something was fetched');
    assert.ok(r.report.sources.some((s: { hints?: string }) => s.hints === 'from'));
  });

  // Counted by the server, multipart framing included: a failing piece's samples are ranges of their own (about 100
  // bytes of framing each), which on this 2 MB pair is what lies between 1.02 and 1.021 x.
  test('a stock torrent without hints fetches at most 1.025 x the floor', async () => {
    const img = pub.image(NEW);
    const pieces = await hashPieces(img, 262144);
    const stock = createTorrent({ name: `${NEW}.iso`, length: readFileSync(img).length, pieceLength: 262144, pieces, webSeeds: [`${server.url}/${NEW}.iso`] });
    const torrent = join(pub.dir, 'stock.torrent');
    writeFileSync(torrent, stock.bytes);
    const src = pub.image(OLD);
    const out = join(pub.dir, 'up-stock.iso');
    const r = await sync(torrent, out, join(pub.dir, 'client-b'), ['--from', src]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(img));
    const floor = await computeFloor(img, [src]);
    assert.ok(r.served <= 1.025 * floor.floorBytes, `served ${r.served} > 1.025 x floor ${floor.floorBytes}`);
    assert.ok(r.report.changedFiles.length > 0);
  });

  test('a torrent made by mktorrent (interop) syncs within 1.025 x the floor', { skip: needTools('mktorrent') }, async () => {
    const img = pub.image(NEW);
    const torrent = join(pub.dir, 'mktorrent.torrent');
    const mk = spawnSync('mktorrent', ['-l', '18', '-w', `${server.url}/${NEW}.iso`, '-o', torrent, img], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const out = join(pub.dir, 'up-mktorrent.iso');
    const r = await sync(torrent, out, join(pub.dir, 'client-mk'), ['--from', pub.image(OLD), '--no-catalog']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(img));
    const floor = await computeFloor(img, [pub.image(OLD)]);
    assert.ok(r.served <= 1.025 * floor.floorBytes, `served ${r.served} > 1.025 x floor ${floor.floorBytes}`);
  });

  test('rollback: the catalog finds the new release on disk and the newer torrent hints the way back', async () => {
    const home = join(pub.dir, 'client-c');
    const up = join(pub.dir, 'c-new.iso');
    const first = await sync(pub.torrent(NEW), up, home, ['--from', pub.image(OLD), '--web-seed', `${server.url}/${NEW}.iso`]);
    assert.equal(first.status, 0, first.stderr);
    const down = join(pub.dir, 'c-old.iso');
    const r = await sync(pub.torrent(OLD), down, home, ['--web-seed', `${server.url}/${OLD}.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(down), sha256(pub.image(OLD)));
    assert.ok(r.report.sources.some((s: { path: string; hints?: string }) => s.path === up && s.hints === 'to'), JSON.stringify(r.report.sources));
    const floor = await computeFloor(pub.image(OLD), [up]);
    assert.ok(r.served <= 0.95 * floor.floorBytes, `served ${r.served} > 0.95 x floor ${floor.floorBytes}`);
  });

  test('loose files from --source DIR are reused like the jigdo idea (no old image needed)', async () => {
    const loose = join(pub.dir, 'loose-debs');
    const x = await cliAsync(['extract', pub.image(OLD), '/pool/**', '-o', loose]);
    assert.equal(x.status, 0, x.stderr);
    const out = join(pub.dir, 'from-loose.iso');
    const r = await sync(pub.torrent(NEW), out, join(pub.dir, 'client-e'), ['--no-catalog', '--source', loose, '--web-seed', `${server.url}/${NEW}.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(pub.image(NEW)));
    assert.ok(r.report.byReason['loose-file'] > 0, JSON.stringify(r.report.byReason));
    // The loose files' bytes are not fetched (grown-in-place images also hold old, unreferenced data that only an old image has).
    const size = readFileSync(pub.image(NEW)).length;
    assert.ok(r.served <= size - r.report.byReason['loose-file'] + 65536, `served ${r.served} of ${size}, loose ${r.report.byReason['loose-file']}`);
    assert.ok(r.report.byReason['loose-file'] > size / 3);
  });

  test('rollback with --from the newer image still uses the newer torrent\'s hints', async () => {
    const home = join(pub.dir, 'client-f');
    const up = join(pub.dir, 'f-new.iso');
    const first = await sync(pub.torrent(NEW), up, home, ['--from', pub.image(OLD), '--web-seed', `${server.url}/${NEW}.iso`]);
    assert.equal(first.status, 0, first.stderr);
    const r = await sync(pub.torrent(OLD), join(pub.dir, 'f-old.iso'), home, ['--from', up, '--web-seed', `${server.url}/${OLD}.iso`]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.report.sources.some((s: { path: string; hints?: string }) => s.path === up && s.hints === 'to'), JSON.stringify(r.report.sources));
  });

  test('plan writes nothing and reports what sync then fetches', async () => {
    const r = await cliAsync(['plan', pub.torrent(NEW), '--from', pub.image(OLD), '--web-seed', `${server.url}/${NEW}.iso`, '--home', join(pub.dir, 'client-d'), '--json'], { cwd: pub.dir });
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.targetBytes, readFileSync(pub.image(NEW)).length);
    assert.equal(plan.reusedBytes + plan.fetchBytes, plan.targetBytes);
    assert.ok(plan.fetchBytes < plan.targetBytes / 4);
    assert.ok(!existsSync(join(pub.dir, `${NEW}.iso.part`)), 'plan leaves no .part behind');
  });

  test('a hinted sync reads no target metadata before its pieces, fetches what plan says, and lists the changed files plan lists', async () => {
    const seed = ['--web-seed', `${server.url}/${NEW}.iso`];
    const p = await cliAsync(['plan', pub.torrent(NEW), '--from', pub.image(OLD), ...seed, '--home', join(pub.dir, 'client-g'), '--json'], { cwd: pub.dir });
    assert.equal(p.status, 0, p.stderr);
    const plan = JSON.parse(p.stdout);
    assert.ok(plan.metadataFetchedBytes > 0, 'plan reads the target metadata');
    const out = join(pub.dir, 'g-new.iso');
    const r = await sync(pub.torrent(NEW), out, join(pub.dir, 'client-g'), ['--from', pub.image(OLD), ...seed]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(pub.image(NEW)));
    assert.equal(r.report.metadataFetchedBytes, 0);
    // The hints leave out a few KB of zero sectors that the metadata would have shown.
    assert.ok(r.served <= plan.fetchBytes + 64 * 1024, `served ${r.served}, plan said ${plan.fetchBytes}`);
    const files = (x: { changedFiles: { path: string; size: number }[] }) => x.changedFiles.map((f) => `${f.path} ${f.size}`).sort();
    assert.ok(plan.changedFiles.length > 0);
    assert.deepEqual(files(r.report), files(plan));
  });
});
