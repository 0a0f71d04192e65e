/**
 * What a mirror admin sees of `isosync serve`, through real sockets and a
 * real catalog: /status and its JSON twin after real downloads, the listing,
 * the access log, and a release published while the server runs.
 */
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Catalog } from '../../src/library/catalog.js';
import { IsosyncServer } from '../../src/serve/server.js';
import { Tracker } from '../../src/tracker/server.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, cliAsync, fixture, tempDir } from '../helpers/env.js';

const RELEASE = fixture('releases', 'distro-1.01.iso');

async function text(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

/** Polls until `ok` (bounded): the server samples on its own clock. */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await get();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

describe('serve: /status, the listing and the access log', () => {
  it('/status shows what was saved compared with plain HTTP, drawn over time, with human sizes; /status.json has the same numbers', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const root = join(tmp.dir, 'srv');
    mkdirSync(root);
    for (const v of ['1.00', '1.01']) copyFileSync(fixture('releases', `distro-${v}.iso`), join(root, `distro-${v}.iso`));
    const home = join(tmp.dir, 'pub');
    for (const v of ['1.00', '1.01']) assert.equal(cli(['publish', join(root, `distro-${v}.iso`), '--product', 'distro', '--release', v, '--home', home, '-o', join(tmp.dir, `${v}.torrent`)]).status, 0);
    const catalog = Catalog.open(home);
    const lines: string[] = [];
    const tracker = new Tracker({});
    const server = await IsosyncServer.start({ root, port: 0, minSize: 1024 * 1024, catalog, tracker, statusSampleMs: 100, accessLog: (l) => lines.push(l) });
    t.after(async () => {
      await server.close();
      catalog.close();
    });
    // A user with 1.00 upgrades through the server (web seed only), and someone downloads 1.00 whole.
    const mine = join(tmp.dir, 'mine-1.00.iso');
    copyFileSync(fixture('releases', 'distro-1.00.iso'), mine);
    const r = await cliAsync([`${server.url}/distro-1.01.iso`, '--from', mine, '--no-catalog', '-o', join(tmp.dir, 'got.iso'), '--home', join(tmp.dir, 'user')]);
    assert.equal(r.status, 0, r.stderr);
    await (await fetch(`${server.url}/distro-1.00.iso`)).arrayBuffer();

    const s = await until(async () => (await fetch(`${server.url}/status.json`)).json() as Promise<any>, (j) => j.history.length >= 3, 'three samples');
    const img = s.images.find((i: any) => i.name === 'distro-1.01.iso');
    assert.equal(img.product, 'distro');
    assert.equal(img.release, '1.01');
    assert.ok(img.httpBytes > 0 && img.httpBytes < img.length / 2, `the delta only went over HTTP: ${img.httpBytes}`);
    assert.equal(img.torrentUrl, `${server.url}/distro-1.01.iso.torrent`);
    const whole = s.images.find((i: any) => i.name === 'distro-1.00.iso');
    assert.equal(whole.completed, 1, 'a whole-file GET is a completed download');
    assert.equal(whole.httpBytes, whole.length);
    assert.equal(img.completed, 1, 'the sync announced its completion to the tracker');
    assert.ok(s.saved.bytes > 0, 'the delta saved bytes compared with plain HTTP');
    assert.equal(s.saved.bytes, img.length - img.httpBytes - img.bittorrentBytes);
    assert.equal(s.saved.sentBytes, s.images.reduce((n: number, i: any) => n + i.httpBytes + i.bittorrentBytes, 0));
    assert.equal(typeof s.http.rate, 'number');
    assert.equal(s.peers, 0, 'peers now, not every peer ever seen');

    const page = await text(`${server.url}/status`);
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    assert.match(page.body, /<meta http-equiv="refresh" content="\d+">/);
    assert.match(page.body, /<meta name="viewport" content="width=device-width/);
    assert.match(page.body, /<svg viewBox="0 0 \d+ \d+" role="img"/);
    assert.match(page.body, /<path class="saved-band" d="M/);
    assert.match(page.body, /Saved compared with plain HTTP<\/div><div class="v">\d[\d.]* (?:KiB|MiB)<\/div>/);
    assert.match(page.body, />5\.03 MiB</, 'image sizes in human units');
    assert.doesNotMatch(page.body, /<script|<link|src=|url\(/, 'no script and no external asset');
    // The JSON twin is also what Accept: application/json gets.
    const twin = await fetch(`${server.url}/status`, { headers: { Accept: 'application/json' } });
    assert.match(twin.headers.get('content-type') ?? '', /^application\/json/);

    // Every request was logged in the combined format.
    assert.ok(lines.length >= 5);
    for (const l of lines) assert.match(l, /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "(?:GET|HEAD) \S+ HTTP\/1\.1" \d{3} (?:\d+|-) "[^"]*" "[^"]*"$/);
    assert.ok(lines.some((l) => / "GET \/distro-1\.00\.iso HTTP\/1\.1" 200 5220352 "-" /.test(l)), 'the whole GET with its bytes');
    assert.ok(lines.some((l) => /"GET \/distro-1\.01\.iso HTTP\/1\.1" 206 \d+ "-" "[^"]*"$/.test(l)), `web-seed ranges: ${lines.join('\n')}`);
  });

  it('the listing shows human sizes and .torrent links, and leaves out what would not be served', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const root = join(tmp.dir, 'srv');
    mkdirSync(join(root, 'sub'), { recursive: true });
    copyFileSync(RELEASE, join(root, 'distro-1.01.iso'));
    writeFileSync(join(root, 'README'), 'hello\n');
    writeFileSync(join(tmp.dir, 'secret'), 'x');
    symlinkSync(join(tmp.dir, 'secret'), join(root, 'escape'));
    symlinkSync(join(root, 'nowhere'), join(root, 'broken'));
    writeFileSync(join(root, '.hidden'), 'x');
    const server = await IsosyncServer.start({ root, port: 0, minSize: 1024 * 1024, listing: true });
    t.after(() => server.close());
    const page = await text(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<a href="distro-1\.01\.iso">distro-1\.01\.iso<\/a> <a class="t" href="distro-1\.01\.iso\.torrent">\.torrent<\/a><\/td><td class="num" title="5269504 bytes">5\.03 MiB<\/td>/);
    assert.match(page.body, /<a href="README">README<\/a><\/td><td class="num" title="6 bytes">6 B<\/td>/, 'a small file: no torrent link');
    assert.match(page.body, /<a href="sub\/">sub\/<\/a>/);
    for (const hidden of ['escape', 'broken', '.hidden']) assert.ok(!page.body.includes(`href="${hidden}"`), `${hidden} is not listed`);
    // Every link of the listing is served.
    for (const m of page.body.matchAll(/href="([^"]+)"/g)) assert.equal((await fetch(`${server.url}/${m[1]}`, { method: 'HEAD' })).status, 200, m[1]);
  });

  it('a release published while the server runs is served with its own torrent, also through a hard link and a symlink', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const root = join(tmp.dir, 'srv');
    mkdirSync(root);
    // The release is published from outside the served folder; the folder holds a hard link of it, and a symlink to that.
    const published = join(tmp.dir, 'release', 'distro-1.01.iso');
    mkdirSync(join(tmp.dir, 'release'));
    copyFileSync(RELEASE, published);
    linkSync(published, join(root, 'hard.iso'));
    symlinkSync(join(root, 'hard.iso'), join(root, 'soft.iso'));
    const home = join(tmp.dir, 'home');
    const catalog = Catalog.open(home);
    const server = await IsosyncServer.start({ root, port: 0, minSize: 1024 * 1024, catalog, statusSampleMs: 100 });
    t.after(async () => {
      await server.close();
      catalog.close();
    });
    const torrentOf = async (name: string) => parseMetainfo(new Uint8Array(await (await fetch(`${server.url}/${name}.torrent`)).arrayBuffer()), name);
    const before = await torrentOf('hard.iso');
    assert.equal(before.isosync, undefined, 'before publishing: a plain torrent');

    // Published by another process into the same catalog, after the server started.
    const r = await cliAsync(['publish', published, '--product', 'distro', '--release', '1.01', '--home', home]);
    assert.equal(r.status, 0, r.stderr);
    const release = parseMetainfo(readFileSync(`${published}.torrent`), 'published');
    for (const name of ['hard.iso', 'soft.iso']) {
      const m = await torrentOf(name);
      assert.equal(m.infoHash, release.infoHash, `${name}: the release's infohash, no restart`);
      assert.equal(m.isosync?.product, 'distro');
      assert.equal(m.isosync?.release, '1.01');
      assert.equal(m.announce, `${server.url}/announce`, `${name}: this server is its tracker`);
    }
  });
});
