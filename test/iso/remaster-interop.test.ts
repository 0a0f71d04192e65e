/**
 * `isosync remaster` checked by the Debian tools: for every fixture image and
 * for a generated tree of 10,000+ files, the remastered image lists and
 * extracts exactly TREE (xorriso -find, isoinfo -l -R -J, bsdtar -xf plus
 * diff -r) and passes xorriso -check_media; a bootable base stays bootable
 * (xorriso -report_el_torito); the image is no larger than 1.02 x xorriso's
 * image of the same tree written from scratch; the base is never modified,
 * the output is deterministic under SOURCE_DATE_EPOCH, and the command's
 * errors exit 2 and leave nothing behind.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fixture, needTools, spawnTool, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { sha256 } from '../sync/fixture-pair.js';
import { checkImage, extractTo } from './remaster-check.js';
import { crc32 } from '../../src/iso/hybrid.js';

const skip = needTools('xorriso', 'isoinfo', 'bsdtar');
const EPOCH = { SOURCE_DATE_EPOCH: '1702419200' };
const FIXTURES = [...readdirSync(fixture('reader')).map((f) => fixture('reader', f)), ...readdirSync(fixture('releases')).filter((f) => f.endsWith('.iso')).map((f) => fixture('releases', f))];

function remaster(base: string, tree: string, out: string, extra: string[] = []): { keptBytes: number; newBytes: number; movedBytes: number; wastePercent: number } {
  const r = cli(['remaster', base, tree, '-o', out, '--json', ...extra], { env: EPOCH, timeoutMs: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { keptBytes: number; newBytes: number; movedBytes: number; wastePercent: number };
}

function xorrisoScratch(tree: string, out: string, extra: string[] = []): void {
  const r = spawnTool('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', out, ...extra, tree], { encoding: 'utf8', env: { ...process.env, ...EPOCH } });
  assert.equal(r.status, 0, r.stderr);
}

function hasJoliet(image: string): boolean {
  return spawnSync('isoinfo', ['-d', '-i', image], { encoding: 'utf8' }).stdout.includes('Joliet with UCS level');
}

describe('remaster, checked by xorriso, isoinfo and bsdtar', { skip }, () => {
  const t = tempDir('isosync-remaster-');
  after(() => t.cleanup());

  for (const img of FIXTURES) {
    test(`${img.slice(img.indexOf('fixtures/'))} remastered over itself lists and extracts exactly its tree`, () => {
      const dir = join(t.dir, `fx-${FIXTURES.indexOf(img)}`);
      mkdirSync(join(dir, 'tree'), { recursive: true });
      extractTo(img, join(dir, 'tree'));
      const before = sha256(img);
      const out = join(dir, 'new.iso');
      const r = remaster(img, join(dir, 'tree'), out);
      assert.deepEqual(checkImage(out, join(dir, 'tree'), hasJoliet(img)), []);
      assert.equal(sha256(img), before, 'the base is unchanged');
      assert.equal(r.newBytes, 0, 'every file is the base\'s');
      rmSync(dir, { recursive: true, force: true });
    });
  }

  test('a release remastered over itself from its own tree is the base, byte for byte', () => {
    const tree = join(t.dir, 'tree-100');
    mkdirSync(tree);
    extractTo(fixture('releases', 'distro-1.00.iso'), tree);
    const root = lsJson(fixture('releases', 'distro-1.00.iso')).find((e) => e.path === '/') as { mtime?: string } | undefined;
    const when = new Date(root!.mtime!);
    utimesSync(tree, when, when); // extraction stamped the top folder with the time of day
    const out = join(t.dir, 'self.iso');
    const r = cli(['remaster', fixture('releases', 'distro-1.00.iso'), tree, '-o', out], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(fixture('releases', 'distro-1.00.iso')), 'every directory reused, every name and block kept');
  });

  test('release 1.01 remastered over 1.00: exact tree, same bytes twice, within 1.02 x the size of xorriso\'s image of the tree', () => {
    const tree = join(t.dir, 'tree-101');
    mkdirSync(tree);
    extractTo(fixture('releases', 'distro-1.01.iso'), tree);
    const a = join(t.dir, 'a.iso'), b = join(t.dir, 'b.iso'), x = join(t.dir, 'x.iso');
    const r = remaster(fixture('releases', 'distro-1.00.iso'), tree, a, ['-V', 'DISTRO_1_01']);
    remaster(fixture('releases', 'distro-1.00.iso'), tree, b, ['-V', 'DISTRO_1_01']);
    assert.equal(sha256(a), sha256(b), 'deterministic under SOURCE_DATE_EPOCH');
    assert.deepEqual(checkImage(a, tree, true), []);
    xorrisoScratch(tree, x, ['-V', 'DISTRO_1_01']);
    assert.ok(statSync(a).size <= 1.02 * statSync(x).size, `remastered ${statSync(a).size} bytes > 1.02 x xorriso's ${statSync(x).size}`);
    assert.ok(r.keptBytes > 0.5 * statSync(a).size, 'most of the release kept its blocks');
    assert.equal(r.movedBytes, 0);
    assert.ok(r.wastePercent <= 5);
  });

  test('a generated tree of 10,000+ files, changed and remastered, lists and extracts exactly', () => {
    const tree = join(t.dir, 'big');
    const rng = new Rng(7);
    let files = 0;
    for (let d = 0; d < 100; d++) {
      const dir = join(tree, `dir-${String(d).padStart(3, '0')}`, d % 3 === 0 ? 'sub/deeper' : 'sub');
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 101; f++, files++) writeFileSync(join(dir, `file-${f}${f % 5 === 0 ? '.txt' : '.bin'}`), rng.bytes(rng.int(3000)));
    }
    assert.ok(files >= 10_000);
    const base = join(t.dir, 'big-base.iso');
    xorrisoScratch(tree, base);
    for (let d = 0; d < 100; d += 7) {
      const dir = join(tree, `dir-${String(d).padStart(3, '0')}`, d % 3 === 0 ? 'sub/deeper' : 'sub');
      writeFileSync(join(dir, 'file-1.bin'), rng.bytes(5000));
      rmSync(join(dir, 'file-2.bin'));
      writeFileSync(join(dir, `added-${d}.dat`), rng.bytes(rng.int(9000)));
    }
    const out = join(t.dir, 'big-new.iso');
    const r = remaster(base, tree, out);
    assert.deepEqual(checkImage(out, tree, true), []);
    assert.ok(r.wastePercent <= 5);
    const x = join(t.dir, 'big-x.iso');
    xorrisoScratch(tree, x);
    assert.ok(statSync(out).size <= 1.02 * statSync(x).size, `remastered ${statSync(out).size} bytes > 1.02 x xorriso's ${statSync(x).size}`);
    rmSync(tree, { recursive: true, force: true });
  });
});

/** The `El Torito boot img` lines of xorriso -report_el_torito plain. */
function elTorito(image: string): string[] {
  const r = spawnSync('xorriso', ['-indev', image, '-report_el_torito', 'plain'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith('El Torito boot img') || l.startsWith('El Torito catalog'));
}

function lsJson(image: string): { path: string; lba: number; size: number }[] {
  const r = cli(['ls', image, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { path: string; lba: number; size: number }[];
}

describe('a bootable base stays bootable', { skip }, () => {
  const t = tempDir('isosync-remaster-boot-');
  after(() => t.cleanup());

  test('unchanged boot images keep their blocks and the catalog its entries', () => {
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(fixture('reader', 'eltorito.iso'), tree);
    writeFileSync(join(tree, 'README.txt'), 'El Torito fixture, release 2, with a longer readme than before.\n'.repeat(40));
    writeFileSync(join(tree, 'added.txt'), 'new\n');
    const out = join(t.dir, 'new.iso');
    remaster(fixture('reader', 'eltorito.iso'), tree, out);
    assert.deepEqual(elTorito(out), elTorito(fixture('reader', 'eltorito.iso')));
    assert.deepEqual(checkImage(out, tree, true), []);
    // isosync reads it back: the catalog is a region, and the images are the files the catalog names.
    const regions = JSON.parse(cli(['regions', out, '--json']).stdout) as { kind: string; start: number }[];
    const catalogLba = Number(/El Torito catalog\s*:\s*(\d+)/.exec(elTorito(out)[0]!)![1]);
    assert.ok(regions.some((r) => r.kind === 'boot-catalog' && r.start === catalogLba * 2048));
    const lbas = elTorito(out).slice(1).map((l) => Number(l.trim().split(/\s+/).pop()));
    const ls = lsJson(out);
    assert.deepEqual(lbas, ['/boot/boot.img', '/boot/efi.img'].map((p) => ls.find((e) => e.path === p)!.lba));
  });

  test('a changed boot image moves, the catalog follows it and its boot information table is patched', () => {
    const src = join(t.dir, 'src');
    mkdirSync(join(src, 'isolinux'), { recursive: true });
    const rng = new Rng(3);
    writeFileSync(join(src, 'isolinux', 'isolinux.bin'), rng.bytes(20000));
    writeFileSync(join(src, 'README'), 'bootable\n');
    const base = join(t.dir, 'bib.iso');
    xorrisoScratch(src, base, ['-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table']);
    const tree = join(t.dir, 'bib-tree');
    mkdirSync(tree);
    extractTo(base, tree);
    writeFileSync(join(tree, 'isolinux', 'isolinux.bin'), rng.bytes(26000)); // a new loader, without a table
    const out = join(t.dir, 'bib-new.iso');
    remaster(base, tree, out);
    const entry = lsJson(out).find((e) => e.path === '/isolinux/isolinux.bin')!;
    const report = elTorito(out).find((l) => l.startsWith('El Torito boot img'))!;
    assert.equal(Number(report.trim().split(/\s+/).pop()), entry.lba, 'the catalog points at the new image');
    const bytes = readFileSync(out).subarray(entry.lba * 2048, entry.lba * 2048 + entry.size);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    assert.deepEqual([dv.getUint32(8, true), dv.getUint32(12, true), dv.getUint32(16, true)], [16, entry.lba, 26000]);
    let sum = 0;
    for (let i = 64; i < bytes.length; i += 4) sum = (sum + (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16)) + (bytes[i + 3] ?? 0) * 0x1000000) % 0x100000000;
    assert.equal(dv.getUint32(20, true), sum);
  });
});

describe('a hybrid base keeps its partition tables consistent with the new size', { skip }, () => {
  const t = tempDir('isosync-remaster-hybrid-');
  after(() => t.cleanup());

  test('the appended EFI partition and the backup GPT move with the volume\'s end', () => {
    const src = join(t.dir, 'src');
    mkdirSync(join(src, 'boot'), { recursive: true });
    const efi = new Rng(9).bytes(65536);
    writeFileSync(join(src, 'boot', 'efi.img'), efi);
    writeFileSync(join(src, 'README'), 'hybrid\n');
    const base = join(t.dir, 'hybrid.iso');
    xorrisoScratch(src, base, ['-e', 'boot/efi.img', '-no-emul-boot', '-append_partition', '2', '0xef', join(src, 'boot', 'efi.img'), '-appended_part_as_gpt']);
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(base, tree);
    writeFileSync(join(tree, 'grown.bin'), new Rng(10).bytes(300_000));
    const out = join(t.dir, 'new.iso');
    remaster(base, tree, out);
    assert.deepEqual(checkImage(out, tree, true), []);
    const report = spawnSync('xorriso', ['-indev', out, '-report_system_area', 'plain'], { encoding: 'utf8' }).stdout;
    const isoSectors = Number(/ISO image size\/512 : (\d+)/.exec(report)![1]);
    const disk = statSync(out).size / 512;
    const part2 = /GPT start and size :\s+2\s+(\d+)\s+(\d+)/.exec(report)!;
    assert.equal(Number(part2[1]), isoSectors, 'the appended partition starts where the volume now ends');
    assert.deepEqual(readFileSync(out).subarray(isoSectors * 512, isoSectors * 512 + efi.length), Buffer.from(efi));
    assert.match(report, new RegExp(`MBR partition\\s+:\\s+1\\s+0x00\\s+0xee\\s+1\\s+${disk - 1}\\b`), 'the protective MBR covers the new disk');
    const b = readFileSync(out);
    for (const at of [512, b.length - 512]) {
      assert.equal(b.subarray(at, at + 8).toString('latin1'), 'EFI PART');
      const h = Buffer.from(b.subarray(at, at + 92));
      const crc = h.readUInt32LE(16);
      h.writeUInt32LE(0, 16);
      assert.equal(crc32(h), crc, `GPT header at ${at} has a good CRC`);
    }
  });
});

describe('remaster refuses what it must not do', { skip: needTools('bsdtar') }, () => {
  const t = tempDir('isosync-remaster-err-');
  after(() => t.cleanup());
  const base = fixture('reader', 'joliet-only.iso');

  test('an existing output without --force, a bad --max-waste, a missing tree: exit 2, nothing written', () => {
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(base, tree);
    const out = join(t.dir, 'out.iso');
    writeFileSync(out, 'precious');
    const r = cli(['remaster', base, tree, '-o', out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Cannot write .*out\.iso.*exists \(use --force/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    assert.equal(cli(['remaster', base, tree, '-o', join(t.dir, 'o2.iso'), '--max-waste', '120']).status, 2);
    const missing = cli(['remaster', base, join(t.dir, 'nope'), '-o', join(t.dir, 'o3.iso')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Cannot read tree/);
    assert.deepEqual(readdirSync(t.dir).sort(), ['out.iso', 'tree']);
    assert.equal(cli(['remaster', base, tree, '-o', out, '--force']).status, 0);
    assert.ok(!existsSync(`${out}.part`));
  });
});
