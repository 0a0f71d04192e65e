/**
 * `isosync get` on the fixture release with a stock torrent (no hints, no
 * web seed in it) and one mirror: the server counts the bytes it sends.
 * A handful of packages costs at most their bytes + 2 pieces each + the
 * metadata pieces that located them; the files equal the image's own;
 * local data fills what it can; a file appears under its name only once
 * complete (a lying mirror leaves none).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cli, cliAsync, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { releasesDir, releasesMissing } from '../packages/releases.js';

/** Every file under `dir` (relative path -> sha256), hidden files included. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, f);
    if (statSync(p).isFile()) out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

interface GetJson {
  files: { path: string; size: number }[];
  fileBytes: number;
  packages: { name: string; why: { kind: string } }[];
  metadataPieces: number;
  filePieces: number;
  fetchedBytes: number;
  reusedBytes: number;
  boundBytes: number;
  pieceLength: number;
}

describe('isosync get', { skip: releasesMissing() }, () => {
  let t: ReturnType<typeof tempDir>;
  let server: RangeServer;
  let torrent: string;
  let image: string;
  let ref: Map<string, string>;

  before(async () => {
    t = tempDir('isosync-get-');
    image = join(t.dir, 'distro-1.01.iso');
    copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
    torrent = join(t.dir, 'distro-1.01.iso.torrent');
    // 32 KiB pieces: the 5 MB fixture then has 161 pieces, so "only the pieces it needs" means something.
    const p = cli(['publish', image, '--product', 'distro', '--release', '1.01', '--piece-length', '32K', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(p.status, 0, p.stderr);
    const x = cli(['extract', image, '-o', join(t.dir, 'ref')]);
    assert.equal(x.status, 0, x.stderr);
    ref = files(join(t.dir, 'ref'));
    server = await startRangeServer({ '/distro-1.01.iso': image });
  });
  after(async () => {
    await server.close();
    t.cleanup();
  });

  async function get(args: string[], label: string): Promise<{ r: GetJson; sent: number; out: string }> {
    const out = join(t.dir, label);
    const before = server.bytesSent();
    const res = await cliAsync(['get', torrent, ...args, '-o', out, '--mirror', `${server.url}/distro-1.01.iso`, '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
    assert.equal(res.status, 0, res.stderr);
    return { r: JSON.parse(res.stdout) as GetJson, sent: server.bytesSent() - before, out };
  }

  it('a handful of packages: the server sends at most their bytes + 2 pieces each + the metadata pieces; the files equal the originals', async () => {
    const { r, sent, out } = await get(['--packages', 'acl', 'libc6', 'nano', 'tzdata', 'htop'], 'pkgs');
    assert.deepEqual(r.packages.map((p) => p.name).sort(), ['acl', 'htop', 'libc6', 'nano', 'tzdata']);
    assert.equal(r.files.length, 5);
    const bound = r.fileBytes + 2 * r.files.length * r.pieceLength + r.metadataPieces * r.pieceLength;
    assert.equal(r.boundBytes, bound);
    assert.ok(sent <= bound, `server sent ${sent} bytes, bound ${bound} (${r.fileBytes} of files, ${r.metadataPieces} metadata pieces)`);
    assert.ok(sent >= r.fileBytes, `the files' bytes came from the server: ${sent} >= ${r.fileBytes}`);
    assert.ok(sent < statSync(image).size / 3, `far from the whole image: ${sent} of ${statSync(image).size}`);
    const got = files(out);
    assert.equal(got.size, 5, `only the chosen files, no .part left: ${[...got.keys()].join(', ')}`);
    for (const [path, sum] of got) assert.equal(sum, ref.get(path), `${path} equals the image's own`);
  });

  it('paths and globs: only the directories on their paths are read', async () => {
    const { r, sent, out } = await get(['pool/main/b/*/*.deb', '/README.txt'], 'globs');
    assert.deepEqual(r.files.map((f) => f.path), ['/README.txt', ...[...ref.keys()].filter((p) => p.startsWith('pool/main/b/')).map((p) => `/${p}`).sort()]);
    assert.ok(sent <= r.boundBytes, `${sent} <= ${r.boundBytes}`);
    for (const [path, sum] of files(out)) assert.equal(sum, ref.get(path), path);
    for (const d of ['pool', 'pool/main', 'pool/main/b']) assert.equal(statSync(join(out, d)).mode & 0o777, 0o755, `${d}, made on the way, is not left private`);
  });

  it('local data fills what it can: unchanged packages come from the older release, only metadata and neighbours are fetched', async () => {
    const { r, sent, out } = await get(['--packages', 'bash', 'coreutils', 'zlib1g', '--from', join(releasesDir(), 'distro-1.00.iso')], 'local');
    assert.ok(r.reusedBytes >= r.fileBytes / 2, `reused ${r.reusedBytes} of ${r.fileBytes}`);
    assert.ok(sent < r.fileBytes, `fetched less than the files: ${sent} < ${r.fileBytes}`);
    for (const [path, sum] of files(out)) assert.equal(sum, ref.get(path), path);
  });

  it('a mirror that lies: nothing appears under a final name, the command fails; then a good run completes', async () => {
    const liar = await startRangeServer({ '/distro-1.01.iso': image }, 'corrupt');
    const out = join(t.dir, 'liar');
    try {
      const res = await cliAsync(['get', torrent, '--packages', 'acl', 'openssh-client', '-o', out, '--mirror', `${liar.url}/distro-1.01.iso`, '--no-catalog', '--home', join(t.dir, 'home')]);
      assert.notEqual(res.status, 0);
      assert.match(res.stderr, /web seed|piece/);
      assert.deepEqual([...files(out).keys()].filter((f) => !f.startsWith('.')), [], 'no file under its final name');
    } finally {
      await liar.close();
    }
    const again = await cliAsync(['get', torrent, '--packages', 'acl', 'openssh-client', '-o', out, '--mirror', `${server.url}/distro-1.01.iso`, '--no-catalog', '--home', join(t.dir, 'home')]);
    assert.equal(again.status, 0, again.stderr);
    const got = files(out);
    assert.equal(got.size, 2, [...got.keys()].join(', '));
    for (const [path, sum] of got) assert.equal(sum, ref.get(path), path);
  });

  it('bad input exits 2 before anything is fetched', async () => {
    const before = server.bytesSent();
    assert.equal(cli(['get', torrent, 'x']).status, 2, 'no -o');
    assert.equal(cli(['get', torrent, '-o', join(t.dir, 'none')]).status, 2, 'nothing chosen');
    assert.equal(cli(['get', torrent, 'x', '-o', join(t.dir, 'none'), '--with-deps']).status, 2, '--with-deps without packages');
    const missing = await cliAsync(['get', torrent, '--packages', 'no-such-package', '-o', join(t.dir, 'none2'), '--mirror', `${server.url}/distro-1.01.iso`, '--no-catalog']);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /no-such-package/);
    assert.ok(server.bytesSent() - before < 20 * 32768, 'a missing package costs only the index');
  });
});
