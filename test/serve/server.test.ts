/**
 * `isosync serve` as HTTP clients see it, on 127.0.0.1 with real sockets:
 * curl fetches files whole, by range and conditionally; torrent-aware
 * requests get a torrent naming this server as tracker and web seed; a
 * changed file gets a new torrent; bad requests get 4xx and the server stays up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Warning } from '../../src/core/warnings.js';
import { Catalog } from '../../src/library/catalog.js';
import { IsosyncServer } from '../../src/serve/server.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { hasTool, isosyncEnv, needTools, tempDir } from '../helpers/env.js';
import { HAVE_RELEASES, publishChain, RELEASES } from '../sync/fixture-pair.js';

function curl(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() });
    });
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes on a new connection and returns the status line of the reply. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    s.on('error', reject);
  });
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const MIN = 64 * 1024;

describe('isosync serve: plain HTTP', () => {
  const t = tempDir('isosync-serve-');
  const root = join(t.dir, 'root');
  let server: IsosyncServer;
  let data: Buffer;
  before(async () => {
    mkdirSync(join(root, 'sub'), { recursive: true });
    data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
    writeFileSync(join(root, 'big.iso'), data);
    writeFileSync(join(root, 'sub', 'SHA256SUMS'), `${sha(data)}  big.iso\n`);
    writeFileSync(join(root, 'small.txt'), 'hello\n');
    writeFileSync(join(root, '.env'), 'SECRET=1');
    writeFileSync(join(t.dir, 'outside'), 'do not serve');
    symlinkSync(join(t.dir, 'outside'), join(root, 'link-out'));
    symlinkSync(join(root, '.env'), join(root, 'link-dot'));
    symlinkSync(join(root, 'gone.iso'), join(root, 'link-broken'));
    symlinkSync(join(root, 'big.iso'), join(root, 'link-in'));
    server = await IsosyncServer.start({ root, port: 0, minSize: MIN, listing: true, headersTimeoutMs: 1000, onWarning: (w) => warnings.push(w) });
  });
  const warnings: Warning[] = [];
  after(async () => {
    await server.close();
    t.cleanup();
  });

  test('curl downloads a file unchanged, whole and by range', { skip: needTools('curl') }, async () => {
    const whole = await curl([`${server.url}/big.iso`]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(sha(whole.stdout), sha(data));
    const part = await curl(['-r', '1000-70999', `${server.url}/big.iso`]);
    assert.ok(part.stdout.equals(data.subarray(1000, 71000)));
    const tail = await curl(['-r', '-100', `${server.url}/big.iso`]);
    assert.ok(tail.stdout.equals(data.subarray(data.length - 100)));
    const small = await curl([`${server.url}/small.txt`]);
    assert.equal(small.stdout.toString(), 'hello\n');
  });

  test('curl gets several ranges as multipart/byteranges with the right bytes', { skip: needTools('curl') }, async () => {
    const r = await curl(['-i', '-r', '0-9,100000-100009,299990-', `${server.url}/big.iso`]);
    const text = r.stdout.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 206/);
    const boundary = /boundary=([^\r\n;]+)/.exec(text)?.[1];
    assert.ok(boundary);
    for (const [a, b] of [[0, 9], [100000, 100009], [299990, 299999]] as const) {
      const head = `Content-Range: bytes ${a}-${b}/${data.length}\r\n\r\n`;
      const at = text.indexOf(head);
      assert.ok(at > 0, head);
      assert.ok(Buffer.from(text.slice(at + head.length, at + head.length + b - a + 1), 'latin1').equals(data.subarray(a, b + 1)));
    }
  });

  test('conditional requests: 304 for a matching ETag or date, If-Range falls back to the whole file on mismatch', async () => {
    const first = await get(`${server.url}/big.iso`, {}, 'HEAD');
    const etag = String(first.headers.etag);
    const lm = String(first.headers['last-modified']);
    assert.match(etag, /^"/);
    assert.equal(first.headers['content-type'], 'application/x-iso9660-image');
    assert.equal((await get(`${server.url}/big.iso`, { 'If-None-Match': etag })).status, 304);
    assert.equal((await get(`${server.url}/big.iso`, { 'If-Modified-Since': lm })).status, 304);
    assert.equal((await get(`${server.url}/big.iso`, { 'If-None-Match': '"nope"' })).status, 200);
    const ok = await get(`${server.url}/big.iso`, { Range: 'bytes=10-19', 'If-Range': etag });
    assert.equal(ok.status, 206);
    assert.ok(ok.body.equals(data.subarray(10, 20)));
    const byDate = await get(`${server.url}/big.iso`, { Range: 'bytes=10-19', 'If-Range': lm });
    assert.equal(byDate.status, 206);
    const stale = await get(`${server.url}/big.iso`, { Range: 'bytes=10-19', 'If-Range': '"stale"' });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, data.length);
    assert.equal((await get(`${server.url}/big.iso`, { 'If-Match': '"stale"' })).status, 412);
  });

  test('each symlink answered 404 is named once, with why, when the folder is walked', async () => {
    await server.warm();
    await server.warm(); // walked again (a catalog change): nothing said twice
    const said = warnings.filter((w) => w.code === 'NOT_SERVED').map((w) => `${w.source.slice(root.length + 1)}: ${w.detail.split(':')[0]}`);
    assert.deepEqual(said.sort(), ['link-broken: a broken symlink', 'link-dot: a symlink to what is not served (dotfiles are hidden)', 'link-out: a symlink out of the served folder']);
  });

  test('bad requests get 4xx: traversal in many spellings, dotfiles, symlinks out, bad ranges, bad methods', async () => {
    const port = server.port;
    const paths: [string, number][] = [
      ['/../outside', 404],
      ['/%2e%2e/outside', 404],
      ['/%2E%2e%2Foutside', 404],
      ['/sub/..%2f..%2foutside', 404],
      ['/sub/%2e%2e/%2e%2e/outside', 404],
      ['/..\\outside', 404],
      ['/.env', 404],
      ['/%2eenv', 404],
      ['/link-out', 404],
      ['/link-dot', 404],
      ['/big.iso%00.txt', 400],
      ['/%e0%80%af', 400],
      ['/nope', 404],
    ];
    for (const [p, want] of paths) {
      const line = await raw(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(line, new RegExp(`^HTTP/1.1 ${want}`), `${p}: ${line}`);
    }
    const r416 = await get(`${server.url}/big.iso`, { Range: 'bytes=99999999999999999999-' });
    assert.equal(r416.status, 416);
    assert.equal(r416.headers['content-range'], `bytes */${data.length}`);
    assert.equal((await get(`${server.url}/big.iso`, { Range: 'bytes=500000-600000' })).status, 416);
    const garbled = await get(`${server.url}/big.iso`, { Range: 'bytes=zz-!!' });
    assert.equal(garbled.status, 200, 'a garbled Range is ignored (RFC 9110 §14.2): the whole file');
    assert.equal(garbled.body.length, data.length);
    const many = await get(`${server.url}/big.iso`, { Range: `bytes=${Array.from({ length: 20 }, () => '0-299999').join(',')}` });
    assert.equal(many.status, 200, 'overlapping ranges that multiply the file are not honoured');
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await get(`${server.url}/big.iso`, {}, m);
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    assert.match(await raw(port, 'GARBAGE\r\n\r\n'), /^HTTP\/1.1 400/);
    assert.match(await raw(port, `GET /big.iso HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20000)}\r\n\r\n`), /^HTTP\/1.1 431/);
    const still = await get(`${server.url}/small.txt`);
    assert.equal(still.status, 200, 'the server is still up');
  });

  test('a slow client holding a connection does not block others and is cut off', async () => {
    const slow = connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => slow.on('connect', () => r()));
    slow.write('GET /big.iso HTTP/1.1\r\nHost: x\r\n'); // headers never finish
    const closed = new Promise<string>((r) => {
      let got = '';
      slow.on('data', (d) => (got += d.toString('latin1')));
      slow.on('close', () => r(got));
      slow.on('error', () => undefined);
    });
    // A reader that asks for the whole file and never reads it.
    const stalled = connect(server.port, '127.0.0.1');
    stalled.pause();
    stalled.write('GET /big.iso HTTP/1.1\r\nHost: x\r\n\r\n');
    const other = await get(`${server.url}/big.iso`);
    assert.equal(other.status, 200);
    assert.equal(sha(other.body), sha(data));
    assert.match(await closed, /^HTTP\/1.1 408/, 'headers that never end time out with 408');
    stalled.destroy();
    assert.equal((await get(`${server.url}/small.txt`)).status, 200);
  });

  test('a folder URL gets an HTML listing without dotfiles; no trailing slash redirects', async () => {
    const r = await get(`${server.url}/`);
    assert.equal(r.status, 200);
    const html = r.body.toString();
    assert.match(html, /href="big.iso"/);
    assert.match(html, /href="sub\/"/);
    assert.doesNotMatch(html, /\.env/);
    const redirect = await get(`${server.url}/sub`);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/sub/');
  });

  test('torrent-aware requests get a torrent naming this server as tracker and web seed; others get the file', async () => {
    const byName = await get(`${server.url}/big.iso.torrent`);
    assert.equal(byName.status, 200);
    assert.equal(byName.headers['content-type'], 'application/x-bittorrent');
    const m = parseMetainfo(byName.body, 'big.iso.torrent');
    assert.equal(m.name, 'big.iso');
    assert.equal(m.length, data.length);
    assert.equal(m.announce, `${server.url}/announce`);
    assert.deepEqual(m.urlList, [`${server.url}/big.iso`]);
    for (let i = 0; i < m.pieceCount; i++) {
      const piece = data.subarray(i * m.pieceLength, (i + 1) * m.pieceLength);
      assert.ok(Buffer.from(createHash('sha1').update(piece).digest()).equals(Buffer.from(m.pieces.subarray(i * 20, i * 20 + 20))), `piece ${i}`);
    }
    const byAccept = await get(`${server.url}/big.iso`, { Accept: 'application/x-bittorrent' });
    assert.equal(byAccept.headers['content-type'], 'application/x-bittorrent');
    assert.equal(byAccept.headers.vary, 'Accept, X-Isosync');
    assert.equal(parseMetainfo(byAccept.body, 'x').infoHash, m.infoHash);
    const byHeader = await get(`${server.url}/big.iso`, { 'X-Isosync': '1' });
    assert.equal(parseMetainfo(byHeader.body, 'x').infoHash, m.infoHash);
    const refused = await get(`${server.url}/big.iso`, { Accept: 'application/x-bittorrent;q=0, */*' });
    assert.equal(refused.body.length, data.length, 'q=0 means not wanted');
    const browser = await get(`${server.url}/big.iso`, { Accept: 'text/html,*/*' });
    assert.equal(sha(browser.body), sha(data));
    assert.equal((await get(`${server.url}/small.txt.torrent`)).status, 404, 'small files get no torrent');
    assert.equal((await get(`${server.url}/small.txt`, { 'X-Isosync': '1' })).body.toString(), 'hello\n');
  });

  test('/status answers in JSON and HTML with bytes sent and torrents', async () => {
    const j = await get(`${server.url}/status`, { Accept: 'application/json' });
    const s = JSON.parse(j.body.toString());
    assert.ok(s.http.bytesSent >= data.length);
    assert.ok(s.torrents.some((x: { url: string }) => x.url === `${server.url}/big.iso`));
    assert.equal(typeof s.bittorrent.bytesSent, 'number');
    assert.equal(JSON.parse((await get(`${server.url}/status.json`)).body.toString()).url, server.url);
    const h = await get(`${server.url}/status`);
    assert.match(String(h.headers['content-type']), /text\/html/);
    assert.match(h.body.toString(), /Sent over HTTP/);
  });
});

describe('isosync serve: torrents follow the files', () => {
  test('a changed file gets a new torrent; an unchanged one is loaded from the catalog after a restart', async () => {
    const t = tempDir('isosync-serve-');
    const home = join(t.dir, 'home');
    const root = join(t.dir, 'root');
    mkdirSync(root);
    const file = join(root, 'x.iso');
    writeFileSync(file, Buffer.alloc(200_000, 1));
    const catalog = Catalog.open(home);
    let server = await IsosyncServer.start({ root, minSize: MIN, catalog });
    try {
      const a = parseMetainfo((await get(`${server.url}/x.iso.torrent`)).body, 'a');
      assert.equal(server.torrents.generated, 1);
      await server.close();
      server = await IsosyncServer.start({ root, minSize: MIN, catalog });
      const again = parseMetainfo((await get(`${server.url}/x.iso.torrent`)).body, 'again');
      assert.equal(again.infoHash, a.infoHash);
      assert.equal(server.torrents.generated, 0, 'nothing hashed after a restart');
      assert.equal(server.torrents.loaded, 1);
      writeFileSync(file, Buffer.alloc(200_000, 2)); // same size, new content
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      const b = parseMetainfo((await get(`${server.url}/x.iso.torrent`)).body, 'b');
      assert.notEqual(b.infoHash, a.infoHash);
      const piece0 = createHash('sha1').update(Buffer.alloc(Math.min(b.pieceLength, b.length), 2)).digest();
      assert.ok(Buffer.from(b.pieces.subarray(0, 20)).equals(piece0), 'hashes of the new content');
    } finally {
      await server.close();
      catalog.close();
      t.cleanup();
    }
  });

  test('a file published in the catalog is served with its release torrent: same infohash, isosync keys, this server as tracker and web seed', { skip: HAVE_RELEASES ? false : 'fixture releases missing' }, async () => {
    const pub = publishChain(['distro-1.00', 'distro-1.01'], { webSeed: (n) => `http://mirror.example/${n}.iso` });
    const catalog = Catalog.open(pub.home);
    const server = await IsosyncServer.start({ root: pub.dir, minSize: MIN, catalog });
    try {
      const published = parseMetainfo(readFileSync(pub.torrent('distro-1.01')), 'published');
      const r = await get(`${server.url}/distro-1.01.iso`, { Accept: 'application/x-bittorrent' });
      const m = parseMetainfo(r.body, 'served');
      assert.equal(m.infoHash, published.infoHash);
      assert.equal(m.isosync?.product, 'distro');
      assert.equal(m.isosync?.release, '1.01');
      assert.equal(m.isosync?.lineage[0]?.release, '1.00');
      assert.ok(m.isosync?.hints !== undefined, 'hints kept');
      assert.equal(m.announce, `${server.url}/announce`);
      assert.deepEqual(m.urlList, [`${server.url}/distro-1.01.iso`, 'http://mirror.example/distro-1.01.iso']);
      assert.equal(server.torrents.generated, 0, 'a published release is not hashed again');
    } finally {
      await server.close();
      catalog.close();
      pub.cleanup();
    }
  });
});

describe('isosync serve: the command', () => {
  test('prints its URL, serves, and stops cleanly on SIGTERM', { skip: HAVE_RELEASES ? false : 'fixture releases missing' }, async () => {
    const t = tempDir('isosync-serve-');
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(t.dir, 'distro-1.00.iso'));
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/env.js');
    const child = spawn(process.execPath, [BIN, 'serve', t.dir, '--port', '0', '--min-size', '1000000', '--home', join(t.dir, '.home')], { env: isosyncEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /at (http:\/\/\S+?)\/?\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      const r = await get(`${url}/distro-1.00.iso.torrent`);
      assert.equal(parseMetainfo(r.body, 'x').name, 'distro-1.00.iso');
      assert.equal((await get(`${url}/.home/catalog.sqlite`)).status, 404, 'the catalog inside DIR is a dotfile');
      const exit = new Promise<number | null>((r2) => child.on('exit', (c) => r2(c)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.match(out, /stopped after \d+ requests/);
    } finally {
      child.kill('SIGKILL');
      t.cleanup();
    }
  });
});

void hasTool;

test('a file with a non-ASCII name is served and gets its torrent', async () => {
  const t = tempDir('isosync-serve-');
  const server = await IsosyncServer.start({ root: t.dir, minSize: MIN });
  try {
    const name = 'débian-日本 1.iso';
    writeFileSync(join(t.dir, name), Buffer.alloc(100_000, 7));
    const path = `/${encodeURIComponent(name)}`;
    const file = await get(`${server.url}${path}`);
    assert.equal(file.status, 200);
    assert.equal(file.body.length, 100_000);
    const tor = await get(`${server.url}${path}.torrent`);
    assert.equal(tor.status, 200);
    const m = parseMetainfo(tor.body, 'x');
    assert.equal(m.name, name);
    assert.deepEqual(m.urlList, [`${server.url}${path}`]);
  } finally {
    await server.close();
    t.cleanup();
  }
});
