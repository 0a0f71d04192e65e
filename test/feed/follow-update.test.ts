/**
 * The whole loop with a real `isosync serve` on 127.0.0.1 and real SQLite
 * catalogs: a publisher signs 1.00, 1.01 and 1.02 into its feed; a follower
 * follows, updates (first install, then twice), rolls back (to a kept image,
 * then to one rebuilt from the images on disk), and finally finds no network
 * source left. Every image is compared with the publisher's byte for byte.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { HAVE_FIXTURES, makeWorld, sameBytes, startServe, type Server, type World } from './world.js';

describe('follow, update and rollback against isosync serve', { skip: HAVE_FIXTURES ? false : 'fixtures/releases not built' }, () => {
  let w: World;
  let server: Server;
  before(async () => {
    w = makeWorld();
    const p = w.publish('1.00');
    assert.equal(p.status, 0, p.stderr);
    server = await startServe(w.pub, w.pubHome);
  });
  after(async () => {
    await server?.stop();
    w?.cleanup();
  });

  it('serves the feed at /feeds/PRODUCT (its media type, no-cache, an ETag) and lists it on /status', async () => {
    const r = await server.get('/feeds/distro');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-isosync-feed');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const again = await server.get('/feeds/distro', { 'If-None-Match': String(r.headers['etag']) });
    assert.equal(again.status, 304);
    assert.equal((await server.get('/feeds/nothing')).status, 404);
    const s = JSON.parse((await server.get('/status.json')).body.toString('utf8'));
    assert.deepEqual(s.feeds.map((f: any) => [f.product, f.sequence, f.newest.release, f.key, f.signed]), [['distro', 1, '1.00', w.publicKey, true]]);
    assert.equal(s.feeds[0].url, `${server.url}/feeds/distro`);
    assert.match((await server.get('/status')).body.toString('utf8'), /Release feeds[\s\S]*\/feeds\/distro/);
  });

  it('follow pins the feed\'s key on first use and says so', () => {
    const r = w.user(['follow', `${server.url}/feeds/distro`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`key +${w.publicKey}: pinned on first use`));
    // info names the signer of a release torrent, and that it is the key this machine now follows.
    const info = w.user(['info', `${server.url}/distro-1.00.iso.torrent`]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`^signed by: +${w.publicKey} \\(valid: infohash, product, release and lineage match; the key this machine follows for distro\\)$`, 'm'));
  });

  it('the first update installs 1.00 into --dir (exit 0)', () => {
    const r = w.userJson(['update', '--yes', '--dir', w.imgs]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.exitCode, 0);
    assert.equal(r.json.products[0].outcome, 'applied');
    assert.deepEqual(w.images(), ['distro-1.00.iso']);
    assert.ok(sameBytes(join(w.imgs, 'distro-1.00.iso'), w.source('1.00')));
  });

  it('update with nothing new exits 3 and changes nothing', () => {
    const r = w.user(['update', '--yes']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /distro is up to date \(1\.00\)/);
  });

  it('updates to 1.01: shows the package diff first, then syncs from 1.00 fetching a fraction (exit 0, bit-identical)', async () => {
    assert.equal(w.publish('1.01').status, 0);
    const before = await server.sent();
    const r = w.userJson(['update', '--yes']);
    assert.equal(r.status, 0, r.stderr);
    const p = r.json.products[0];
    assert.equal(p.outcome, 'applied');
    assert.equal(p.from.release, '1.00');
    assert.equal(p.to.release, '1.01');
    assert.deepEqual(p.diff.upgraded.map((c: any) => c.name), ['acl', 'libc6', 'libssl3', 'openssh-client', 'tzdata']);
    assert.deepEqual(p.diff.added.map((c: any) => c.name), ['htop']);
    assert.deepEqual(p.diff.removed.map((c: any) => c.name), ['curl']);
    assert.ok(p.sync.fetchedBytes < p.sync.targetBytes / 2, `fetched ${p.sync.fetchedBytes} of ${p.sync.targetBytes}`);
    const after = await server.sent();
    assert.ok(after.http + after.bittorrent - before.http - before.bittorrent < p.sync.targetBytes / 2, 'the server sent a fraction of the image');
    assert.ok(sameBytes(join(w.imgs, 'distro-1.01.iso'), w.source('1.01')));
    assert.deepEqual(w.images(), ['distro-1.00.iso', 'distro-1.01.iso'], '1.00 kept for rollback (--keep 1)');
  });

  it('updates to 1.02 printing the diff before the sync, and removes 1.00 (only one previous release kept)', () => {
    assert.equal(w.publish('1.02').status, 0);
    const r = w.user(['update', '--yes']);
    assert.equal(r.status, 0, r.stderr);
    const avail = r.stdout.indexOf('distro: 1.01 -> 1.02');
    const diff = r.stdout.indexOf('No package or file changes');
    const done = r.stdout.indexOf('distro: updated to 1.02');
    assert.ok(avail >= 0 && diff > avail && done > diff, r.stdout);
    assert.match(r.stdout, /distro: removed .*distro-1\.00\.iso/);
    assert.deepEqual(w.images(), ['distro-1.01.iso', 'distro-1.02.iso']);
    assert.ok(sameBytes(join(w.imgs, 'distro-1.02.iso'), w.source('1.02')));
  });

  it('rolls back to 1.01 (kept on disk) and then to 1.00 (rebuilt from the images on disk), bit-identical each time', () => {
    const one = w.userJson(['rollback', 'distro']);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.json.to.release, '1.01');
    assert.equal(one.json.sync.fetchedBytes, 0, 'the kept image is only verified');
    assert.ok(sameBytes(join(w.imgs, 'distro-1.01.iso'), w.source('1.01')));
    const two = w.userJson(['rollback', 'distro', '--to', '1.00']);
    assert.equal(two.status, 0, two.stderr);
    assert.equal(two.json.from.release, '1.01');
    assert.equal(two.json.to.release, '1.00');
    assert.ok(two.json.sync.reusedBytes > two.json.sync.targetBytes / 2, `rebuilt mostly from local images: reused ${two.json.sync.reusedBytes}`);
    assert.ok(sameBytes(join(w.imgs, 'distro-1.00.iso'), w.source('1.00')));
    const again = w.user(['rollback', 'distro', '--to', '1.00']);
    assert.equal(again.status, 3);
    assert.match(again.stdout, /distro is already on 1\.00/);
  });

  it('status lists the feed, the key, the release in use, the releases on disk, the newest and the last check', () => {
    const r = w.userJson(['status']);
    assert.equal(r.status, 0, r.stderr);
    const s = r.json[0];
    assert.equal(s.product, 'distro');
    assert.equal(s.key, w.publicKey);
    assert.equal(s.pinned, 'first-use');
    assert.equal(s.inUse.release, '1.00');
    assert.deepEqual(s.installed.map((i: any) => i.release), ['1.02', '1.01', '1.00']);
    assert.equal(s.newest.release, '1.02');
    assert.equal(s.feed.sequence, 3);
    assert.match(s.lastCheck.outcome, /rolled back to 1\.00/);
    const text = w.user(['status', 'distro']);
    assert.match(text.stdout, /in use +1\.00 /);
    assert.match(text.stdout, /newest +1\.02 \(published .*\), not installed/);
  });

  it('update goes forward again to the newest release, which is still on disk', () => {
    const r = w.userJson(['update', '--yes']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.products[0].to.release, '1.02');
    assert.equal(r.json.products[0].sync.fetchedBytes, 0);
  });

  it('update without --yes and no terminal says an update is available and applies nothing (exit 5)', () => {
    assert.equal(w.user(['rollback', 'distro']).status, 0);
    const before = w.images();
    const r = w.user(['update']);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stdout, /distro 1\.02 is available; not applied \(run with --yes to apply\)/);
    assert.deepEqual(w.images(), before);
    assert.equal(w.userJson(['status']).json[0].inUse.release, '1.01');
  });

  it('update with no network source left fails in one line (exit 1) and changes nothing', async () => {
    const statusBefore = w.userJson(['status']).json;
    const imagesBefore = w.images();
    await server.stop();
    const r = w.user(['update', '--yes']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^isosync: Cannot fetch feed http:\/\/127\.0\.0\.1:\d+\/feeds\/distro: connection refused\n$/);
    assert.deepEqual(w.images(), imagesBefore);
    assert.deepEqual(w.userJson(['status']).json, statusBefore);
  });
});
