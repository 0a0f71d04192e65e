/**
 * `isosync get` of files inside nested images (the live fixtures: a
 * squashfs root filesystem and an EFI FAT image in live-1.iso, an EROFS
 * root filesystem in live-erofs-1.iso), named as `ls --deep` prints them
 * ("/live/filesystem.squashfs:/usr/bin/bash"). The torrent has 32 KiB pieces
 * and one mirror whose server counts what it sends: a get fetches only the
 * pieces of the directories on the way, the container's metadata and the
 * chosen files' stored blocks (at most their stored bytes + 2 pieces per run
 * + the metadata pieces), far less than the container. The files equal what
 * the reference tools extract: unsquashfs, fsck.erofs --extract, mcopy.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cli, cliAsync, fixture, needTools, spawnTool, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';

const PIECE = 32768;

interface GetJson {
  files: { path: string; size: number }[];
  fileBytes: number;
  storedBytes: number;
  metadataPieces: number;
  filePieces: number;
  fetchedBytes: number;
  reusedBytes: number;
  boundBytes: number;
}

function run(cmd: string, args: string[]): void {
  const r = spawnTool(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Regular files under `dir` (relative path -> sha256), hidden ones included. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, f);
    if (statSync(p).isFile()) out.set(relative(dir, p), sha(p));
  }
  return out;
}

describe('isosync get inside nested images', { skip: needTools('xorriso', 'unsquashfs', 'fsck.erofs', 'mcopy') }, () => {
  let t: ReturnType<typeof tempDir>;
  let server: RangeServer;
  const torrents: Record<string, string> = {};
  /** Reference trees: the containers extracted from the ISOs, then unpacked by their own tools. */
  let sqRef: string;
  let erofsRef: string;
  let efiImg: string;

  before(async () => {
    t = tempDir('isosync-get-nested-');
    const files: Record<string, string> = {};
    for (const name of ['live-1.iso', 'live-2.iso', 'live-erofs-1.iso']) {
      const image = join(t.dir, name);
      copyFileSync(fixture('live', name), image);
      torrents[name] = join(t.dir, `${name}.torrent`);
      const p = cli(['publish', image, '--product', name.replace(/-\d\.iso$/, ''), '--release', name.replace(/\D/g, ''), '--piece-length', '32K', '--home', join(t.dir, 'pub'), '-o', torrents[name]!]);
      assert.equal(p.status, 0, p.stderr);
      files[`/${name}`] = image;
    }
    run('xorriso', ['-osirrox', 'on', '-indev', fixture('live', 'live-2.iso'), '-extract', '/live/filesystem.squashfs', join(t.dir, 'fs2.sq'), '-extract', '/boot/grub/efi.img', join(t.dir, 'efi2.img')]);
    run('xorriso', ['-osirrox', 'on', '-indev', fixture('live', 'live-1.iso'), '-extract', '/live/filesystem.squashfs', join(t.dir, 'fs1.sq'), '-extract', '/boot/grub/efi.img', join(t.dir, 'efi1.img')]);
    run('xorriso', ['-osirrox', 'on', '-indev', fixture('live', 'live-erofs-1.iso'), '-extract', '/LiveOS/squashfs.img', join(t.dir, 'erofs1.img')]);
    sqRef = join(t.dir, 'sq-ref');
    run('unsquashfs', ['-q', '-no-progress', '-d', sqRef, join(t.dir, 'fs1.sq')]);
    erofsRef = join(t.dir, 'erofs-ref');
    run('fsck.erofs', [`--extract=${erofsRef}`, join(t.dir, 'erofs1.img')]);
    efiImg = join(t.dir, 'efi1.img');
    server = await startRangeServer(files);
  });
  after(async () => {
    await server.close();
    t.cleanup();
  });

  async function get(iso: string, args: string[], label: string): Promise<{ r: GetJson; sent: number; out: string }> {
    const out = join(t.dir, label);
    const before = server.bytesSent();
    const res = await cliAsync(['get', torrents[iso]!, ...args, '-o', out, '--mirror', `${server.url}/${iso}`, '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
    assert.equal(res.status, 0, res.stderr);
    const r = JSON.parse(res.stdout) as GetJson;
    if (process.env.SHOW) process.stderr.write(`${label}: sent ${server.bytesSent() - before} ${JSON.stringify({ ...r, files: r.files.length, webSeeds: undefined, extracted: undefined })}\n`);
    return { r, sent: server.bytesSent() - before, out };
  }

  it('squashfs: a few files and a folder, equal to unsquashfs; the server sends their blocks and the metadata, not the container', async () => {
    const sq = '/live/filesystem.squashfs';
    const { r, sent, out } = await get('live-1.iso', [`${sq}:/usr/bin/bash`, `live/filesystem.squashfs:/etc`, `${sq}:/usr/bin/n*`], 'sq');
    const want = ['/etc/fstab', '/etc/hostname', '/etc/os-release', '/usr/bin/bash', '/usr/bin/nano'];
    assert.deepEqual(r.files.map((f) => f.path).sort(), want.map((p) => `${sq}:${p}`));
    const got = tree(out);
    assert.deepEqual([...got.keys()].sort(), want.map((p) => `live/filesystem.squashfs${p}`), 'only the chosen files, no .part left');
    for (const p of want) {
      assert.equal(got.get(`live/filesystem.squashfs${p}`), sha(join(sqRef, p)), `${p} equals unsquashfs's`);
      assert.equal(statSync(join(out, 'live/filesystem.squashfs', p)).mode & 0o7777, statSync(join(sqRef, p)).mode & 0o7777, `${p} keeps its mode`);
    }
    for (const d of ['live', 'live/filesystem.squashfs', 'live/filesystem.squashfs/usr/bin']) assert.equal(statSync(join(out, d)).mode & 0o777, 0o755, `${d} is not left private`);
    assert.ok(r.storedBytes < r.fileBytes, `stored compressed: ${r.storedBytes} < ${r.fileBytes}`);
    assert.ok(sent >= r.fetchedBytes && sent < r.fetchedBytes + 4096, `the server sent what the session counts (and multipart framing): ${sent}, ${r.fetchedBytes}`);
    assert.ok(sent <= r.boundBytes, `sent ${sent}, bound ${r.boundBytes} (${r.storedBytes} stored, ${r.metadataPieces} metadata pieces)`);
    assert.ok(r.fetchedBytes <= (r.metadataPieces + r.filePieces) * PIECE, `only the pieces it names: ${r.fetchedBytes} <= ${r.metadataPieces + r.filePieces} pieces`);
    const container = statSync(join(t.dir, 'fs1.sq')).size;
    assert.ok(sent < container / 2, `far less than the squashfs: ${sent} of ${container}`);
  });

  it('EROFS: a file and a folder, equal to fsck.erofs --extract; bounded the same way', async () => {
    const { r, sent, out } = await get('live-erofs-1.iso', ['/LiveOS/squashfs.img:/usr/bin/dpkg', '/LiveOS/squashfs.img:/etc/**'], 'erofs');
    const want = ['/etc/fstab', '/etc/hostname', '/etc/os-release', '/usr/bin/dpkg'];
    assert.deepEqual(r.files.map((f) => f.path).sort(), want.map((p) => `/LiveOS/squashfs.img:${p}`));
    const got = tree(out);
    assert.deepEqual([...got.keys()].sort(), want.map((p) => `LiveOS/squashfs.img${p}`));
    for (const p of want) assert.equal(got.get(`LiveOS/squashfs.img${p}`), sha(join(erofsRef, p)), `${p} equals fsck.erofs's`);
    assert.ok(sent <= r.boundBytes, `sent ${sent}, bound ${r.boundBytes}`);
    assert.ok(r.fetchedBytes <= (r.metadataPieces + r.filePieces) * PIECE && sent < r.fetchedBytes + 4096, `only the pieces it names: ${r.fetchedBytes} (${sent} sent)`);
    // EROFS keeps each inode beside its data, all over the image: only the inodes on the chosen paths are read.
    assert.ok(sent < statSync(join(t.dir, 'erofs1.img')).size / 5, `far less than the EROFS image: ${sent}`);
  });

  it('FAT: the EFI loader of the EFI image, equal to mcopy; an ISO file alongside', async () => {
    const { r, sent, out } = await get('live-1.iso', ['/boot/grub/efi.img:/EFI/boot/bootx64.efi', '/.disk/info'], 'fat');
    assert.deepEqual(r.files.map((f) => f.path), ['/.disk/info', '/boot/grub/efi.img:/EFI/boot/bootx64.efi']);
    const ref = join(t.dir, 'bootx64.efi');
    run('mcopy', ['-n', '-i', efiImg, '::/EFI/boot/bootx64.efi', ref]);
    assert.equal(sha(join(out, 'boot/grub/efi.img/EFI/boot/bootx64.efi')), sha(ref));
    assert.equal(readFileSync(join(out, '.disk/info'), 'utf8'), 'Debian GNU/Linux 12 live 1\n');
    assert.ok(sent <= r.boundBytes, `sent ${sent}, bound ${r.boundBytes}`);
    assert.ok(sent < 786432 / 2, `far less than the EFI image: ${sent}`);
  });

  it('local data fills what it can: the files unchanged since the older live image come from its squashfs', async () => {
    // The torrent is release 2; --from is release 1 (its squashfs differs: bash grew, every later block moved).
    const ref2 = join(t.dir, 'sq2-ref');
    run('unsquashfs', ['-q', '-no-progress', '-d', ref2, join(t.dir, 'fs2.sq')]);
    const want = ['/usr/bin/acl', '/usr/bin/dpkg', '/usr/bin/tar'];
    const unchanged = want.filter((p) => sha(join(ref2, p)) === sha(join(sqRef, p)));
    assert.ok(unchanged.length >= 2, `the fixture pair keeps most files: ${unchanged.join(' ')}`);
    const { r, sent, out } = await get('live-2.iso', [...want.map((p) => `/live/filesystem.squashfs:${p}`), '--from', fixture('live', 'live-1.iso')], 'local');
    for (const p of want) assert.equal(sha(join(out, 'live/filesystem.squashfs', p)), sha(join(ref2, p)), `${p} equals release 2's`);
    assert.ok(r.reusedBytes > 0, `reused ${r.reusedBytes}`);
    assert.ok(sent < r.storedBytes, `fetched less than the files' stored bytes: ${sent} < ${r.storedBytes}`);
  });

  it('sync --only with a nested path keeps the container metadata and the file blocks in the .part; a repeated run fetches nothing', async () => {
    const out = join(t.dir, 'partial', 'live-1.iso');
    mkdirSync(join(t.dir, 'partial'));
    const args = ['sync', torrents['live-1.iso']!, '-o', out, '--only', '/live/filesystem.squashfs:/usr/bin/bash', '--mirror', `${server.url}/live-1.iso`, '--no-catalog', '--home', join(t.dir, 'home'), '--json'];
    const before = server.bytesSent();
    const first = await cliAsync(args);
    assert.equal(first.status, 0, first.stderr);
    const r = JSON.parse(first.stdout) as { complete: boolean; files: { path: string }[]; piecesHeld: number; pieceCount: number; metadataPieces: number; filePieces: number; fetchedBytes: number };
    assert.deepEqual(r.files.map((f) => f.path), ['/live/filesystem.squashfs:/usr/bin/bash']);
    assert.equal(r.complete, false);
    assert.ok(existsSync(`${out}.part`) && !existsSync(out));
    assert.ok(r.filePieces >= 2 && r.fetchedBytes <= (r.metadataPieces + r.filePieces) * PIECE, JSON.stringify(r));
    assert.ok(r.piecesHeld < r.pieceCount / 2, `${r.piecesHeld} of ${r.pieceCount} pieces`);
    const sent = server.bytesSent() - before;
    assert.ok(sent >= r.fetchedBytes && sent < r.fetchedBytes + 4096, `${sent} sent, ${r.fetchedBytes} counted`);
    const again = await cliAsync(args);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(server.bytesSent() - before, sent, 'the .part holds all of it');
  });

  it('a mirror that lies: no nested file appears under its name, a .part is kept; the same command on a good mirror completes', async () => {
    const liar = await startRangeServer({ '/live-1.iso': fixture('live', 'live-1.iso') }, 'corrupt');
    const out = join(t.dir, 'liar');
    const args = (url: string) => ['get', torrents['live-1.iso']!, '/live/filesystem.squashfs:/usr/bin/bash', '/live/filesystem.squashfs:/etc', '-o', out, '--mirror', `${url}/live-1.iso`, '--no-catalog', '--home', join(t.dir, 'home')];
    try {
      const bad = await cliAsync(args(liar.url));
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /web seed|piece/);
      assert.deepEqual([...tree(out).keys()].filter((f) => !f.split('/').some((c) => c.startsWith('.'))), [], 'no file under its final name');
    } finally {
      await liar.close();
    }
    const good = await cliAsync(args(server.url));
    assert.equal(good.status, 0, good.stderr);
    const got = tree(out);
    assert.deepEqual([...got.keys()].sort(), ['live/filesystem.squashfs/etc/fstab', 'live/filesystem.squashfs/etc/hostname', 'live/filesystem.squashfs/etc/os-release', 'live/filesystem.squashfs/usr/bin/bash']);
    for (const [p, sum] of got) assert.equal(sum, sha(join(sqRef, p.slice('live/filesystem.squashfs/'.length))), p);
  });

  it('a container part that matches nothing, or names no filesystem image, fails with exit 2 and a message naming it', async () => {
    const none = await cliAsync(['get', torrents['live-1.iso']!, '/live/nothing.squashfs:/usr/bin/bash', '-o', join(t.dir, 'none'), '--mirror', `${server.url}/live-1.iso`, '--no-catalog', '--home', join(t.dir, 'home')]);
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stderr, /nothing\.squashfs/);
    const notFs = await cliAsync(['get', torrents['live-1.iso']!, '/live/vmlinuz:/x', '-o', join(t.dir, 'none'), '--mirror', `${server.url}/live-1.iso`, '--no-catalog', '--home', join(t.dir, 'home')]);
    assert.notEqual(notFs.status, 0);
    assert.match(notFs.stderr, /vmlinuz.*no squashfs, EROFS or FAT image/);
    const inner = await cliAsync(['get', torrents['live-1.iso']!, '/live/filesystem.squashfs:/usr/bin/no-such', '-o', join(t.dir, 'none'), '--mirror', `${server.url}/live-1.iso`, '--no-catalog', '--home', join(t.dir, 'home')]);
    assert.equal(inner.status, 2, inner.stderr);
    assert.match(inner.stderr, /no-such/);
  });
});
