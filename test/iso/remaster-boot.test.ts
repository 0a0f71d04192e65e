/**
 * A new release changes its boot setup: El Torito images and the system
 * area given to `isosync remaster` as xorriso -as mkisofs takes them (-b,
 * --boot-load-size, --boot-info-table, -e, -c, --isohybrid-mbr, -G), checked
 * by xorriso (-report_el_torito, -report_system_area, -check_media) and by
 * the boot structures themselves: the catalog's validation entry, the boot
 * information table, the MBR's pointer to the BIOS image and its partition.
 * xorriso's own image of the same setup is the reference.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, needTools, spawnTool, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { extractTo } from './remaster-check.js';

const EPOCH = { SOURCE_DATE_EPOCH: '1702419200' };

function xorriso(args: string[]): string {
  const r = spawnTool('xorriso', args, { encoding: 'utf8', env: { ...process.env, ...EPOCH } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** -report_el_torito lines, and the same with the LBA column cut (it differs between writers). */
function elTorito(image: string): { lines: string[]; shape: string[] } {
  const lines = xorriso(['-indev', image, '-report_el_torito', 'plain']).split('\n').filter((l) => l.startsWith('El Torito'));
  return { lines, shape: lines.map((l) => (l.startsWith('El Torito boot img') ? l.replace(/\s+\d+\s*$/, '') : l.startsWith('El Torito catalog') ? 'El Torito catalog' : l)) };
}

function lsJson(image: string): { path: string; lba: number; size: number }[] {
  const r = cli(['ls', image, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { path: string; lba: number; size: number }[];
}

function remaster(base: string, tree: string, out: string, extra: string[]): void {
  const r = cli(['remaster', base, tree, '-o', out, ...extra], { env: EPOCH });
  assert.equal(r.status, 0, r.stderr);
}

/** The checks a firmware and isohdpfx.bin rely on, read from the image's bytes. */
function bootStructures(image: string, bios: string, efi: string): void {
  const b = readFileSync(image);
  const ls = lsJson(image);
  const at = (p: string) => ls.find((e) => e.path === p)!;
  const report = elTorito(image).lines;
  const catalogLba = Number(/El Torito catalog\s*:\s*(\d+)/.exec(report[0]!)![1]);
  const catalog = b.subarray(catalogLba * 2048, catalogLba * 2048 + 2048);
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + catalog.readUInt16LE(i)) & 0xffff;
  assert.equal(sum, 0, 'validation entry words sum to zero');
  assert.deepEqual([catalog[0], catalog[30], catalog[31]], [1, 0x55, 0xaa]);
  assert.equal(catalog.readUInt32LE(32 + 8), at(bios).lba, 'the default entry loads the BIOS image');
  assert.equal(catalog.readUInt16LE(32 + 6), 4);
  assert.deepEqual([catalog[64], catalog[65]], [0x91, 0xef], 'a final EFI section follows');
  assert.equal(catalog.readUInt32LE(96 + 8), at(efi).lba);
  assert.equal(catalog.readUInt16LE(96 + 6), at(efi).size / 512);
  // Boot information table (mkisofs -boot-info-table): PVD block, own block, length, checksum from byte 64.
  const img = b.subarray(at(bios).lba * 2048, at(bios).lba * 2048 + at(bios).size);
  let check = 0;
  for (let i = 64; i < img.length; i += 4) check = (check + img.readUInt32LE(i)) % 0x100000000;
  assert.deepEqual([img.readUInt32LE(8), img.readUInt32LE(12), img.readUInt32LE(16), img.readUInt32LE(20)], [16, at(bios).lba, img.length, check]);
  // isosync reads it back: the catalog is a region of its own.
  const regions = JSON.parse(cli(['regions', image, '--json']).stdout) as { kind: string; start: number }[];
  assert.ok(regions.some((r) => r.kind === 'boot-catalog' && r.start === catalogLba * 2048), 'isosync regions shows the catalog');
  // The boot record at block 17 points at the catalog.
  assert.equal(b.subarray(17 * 2048 + 7, 17 * 2048 + 30).toString('latin1'), 'EL TORITO SPECIFICATION');
  assert.equal(b.readUInt32LE(17 * 2048 + 71), catalogLba);
}

describe('remaster takes a new boot setup from the command line', { skip: needTools('xorriso', 'bsdtar') }, () => {
  const t = tempDir('isosync-remaster-boot-setup-');
  after(() => t.cleanup());
  const rng = new Rng(17);
  const src = join(t.dir, 'src');
  mkdirSync(join(src, 'isolinux'), { recursive: true });
  mkdirSync(join(src, 'boot'), { recursive: true });
  const loader = Buffer.from(rng.bytes(24_000));
  loader.writeUInt32LE(0x7078c0fb, 64); // isolinux's isohybrid signature
  writeFileSync(join(src, 'isolinux', 'isolinux.bin'), loader);
  writeFileSync(join(src, 'boot', 'efi.img'), rng.bytes(65_536));
  writeFileSync(join(src, 'README'), 'a release\n');
  const mbr = join(t.dir, 'isohdpfx.bin');
  writeFileSync(mbr, rng.bytes(432));
  const setup = ['-c', 'isolinux/boot.cat', '--boot-info-table', '-e', 'boot/efi.img'];

  test('a base that does not boot gains BIOS and EFI entries and an isohybrid MBR, as xorriso writes them', () => {
    const plain = join(t.dir, 'plain.iso');
    xorriso(['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', plain, src]);
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(plain, tree);
    const out = join(t.dir, 'bootable.iso');
    remaster(plain, tree, out, ['-b', 'isolinux/isolinux.bin', ...setup, '--isohybrid-mbr', mbr]);
    const ref = join(t.dir, 'xorriso.iso');
    xorriso(['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', ref, '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
      '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot', '-isohybrid-mbr', mbr, src]);
    assert.deepEqual(elTorito(out).shape, elTorito(ref).shape, 'the same catalog as xorriso\'s, images where isosync put them');
    bootStructures(out, '/isolinux/isolinux.bin', '/boot/efi.img');
    const b = readFileSync(out);
    const bios = lsJson(out).find((e) => e.path === '/isolinux/isolinux.bin')!;
    assert.equal(b.readUInt32LE(432), bios.lba * 4, 'isohdpfx.bin finds the BIOS image');
    assert.deepEqual(b.subarray(0, 432), readFileSync(mbr));
    const sys = xorriso(['-indev', out, '-report_system_area', 'plain']);
    assert.match(sys, new RegExp(`MBR partition\\s+:\\s+1\\s+0x80\\s+0x17\\s+0\\s+${b.length / 512}\\b`), 'one bootable partition over the image');
    assert.match(xorriso(['-indev', out, '-check_media', '--']), /Media region\s*:\s*0\s*,\s*\d+\s*,\s*\+ good/);
    // Everything else is the tree: the files read back, the loader with its table patched in.
    const x = join(t.dir, 'x');
    mkdirSync(x);
    extractTo(out, x);
    assert.deepEqual(readFileSync(join(x, 'README')), readFileSync(join(tree, 'README')));
    assert.deepEqual(readFileSync(join(x, 'boot', 'efi.img')), readFileSync(join(tree, 'boot', 'efi.img')));
    const patched = readFileSync(join(x, 'isolinux', 'isolinux.bin'));
    assert.deepEqual([patched.subarray(0, 8), patched.subarray(64)], [loader.subarray(0, 8), loader.subarray(64)]);
  });

  test('a BIOS-only release adds an EFI entry: the kept BIOS image and the catalog keep their blocks', () => {
    const biosOnly = join(t.dir, 'bios.iso');
    xorriso(['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', biosOnly, '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', src]);
    const tree = join(t.dir, 'tree2');
    mkdirSync(tree);
    extractTo(biosOnly, tree);
    const out = join(t.dir, 'both.iso');
    remaster(biosOnly, tree, out, ['-b', 'isolinux/isolinux.bin', ...setup]);
    const before = elTorito(biosOnly).lines, now = elTorito(out).lines;
    assert.equal(now.find((l) => l.startsWith('El Torito catalog')), before.find((l) => l.startsWith('El Torito catalog')), 'the catalog stays in its block');
    assert.equal(now.filter((l) => l.startsWith('El Torito boot img'))[0], before.filter((l) => l.startsWith('El Torito boot img'))[0], 'the BIOS entry is unchanged');
    assert.match(now.filter((l) => l.startsWith('El Torito boot img'))[1]!, /UEFI\s+y\s+none\s+0x0000\s+0x00\s+128\s/);
    bootStructures(out, '/isolinux/isolinux.bin', '/boot/efi.img');
    const old = lsJson(biosOnly).find((e) => e.path === '/isolinux/isolinux.bin')!;
    assert.equal(lsJson(out).find((e) => e.path === '/isolinux/isolinux.bin')!.lba, old.lba);
  });

  test('-G takes the system area as it is; bad boot options exit 2 and write nothing', () => {
    const plain = join(t.dir, 'plain.iso');
    const tree = join(t.dir, 'tree');
    const area = Buffer.from(rng.bytes(32_768));
    writeFileSync(join(t.dir, 'area.bin'), area);
    const out = join(t.dir, 'g.iso');
    remaster(plain, tree, out, ['-e', 'boot/efi.img', '-G', join(t.dir, 'area.bin')]);
    assert.deepEqual(readFileSync(out).subarray(0, 32_768), area);
    assert.match(elTorito(out).lines.join('\n'), /UEFI/);
    for (const bad of [['-b', 'no/such.bin'], ['--boot-info-table'], ['-b', 'isolinux', '-c', 'x.cat'], ['--isohybrid-mbr', mbr], ['-b', 'README', '-c', 'README']]) {
      const r = cli(['remaster', plain, tree, '-o', join(t.dir, 'bad.iso'), ...bad], { env: EPOCH });
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^isosync: (Invalid|Cannot) /);
    }
    assert.ok(!existsSync(join(t.dir, 'bad.iso')) && !existsSync(join(t.dir, 'bad.iso.part')));
  });
  test('without boot options, a changed BIOS loader moves and the isohybrid MBR and the catalog follow it', () => {
    const hybrid = join(t.dir, 'hybrid.iso');
    xorriso(['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', hybrid, '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
      '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot', '-isohybrid-mbr', mbr, src]);
    const tree = join(t.dir, 'tree3');
    mkdirSync(tree);
    extractTo(hybrid, tree);
    // The next release's loader is larger: it cannot stay in its old blocks.
    const newer = Buffer.from(rng.bytes(40_000));
    newer.writeUInt32LE(0x7078c0fb, 64);
    writeFileSync(join(tree, 'isolinux', 'isolinux.bin'), newer);
    const out = join(t.dir, 'hybrid2.iso');
    remaster(hybrid, tree, out, []);
    const old = lsJson(hybrid).find((e) => e.path === '/isolinux/isolinux.bin')!;
    const now = lsJson(out).find((e) => e.path === '/isolinux/isolinux.bin')!;
    assert.notEqual(now.lba, old.lba, 'the loader moved');
    const b = readFileSync(out);
    assert.equal(readFileSync(hybrid).readUInt32LE(432), old.lba * 4, 'the base is an isohybrid image');
    assert.equal(b.readUInt32LE(432), now.lba * 4, 'isohdpfx.bin finds the moved BIOS image');
    assert.deepEqual(b.subarray(0, 432), readFileSync(mbr), 'the boot code is the base\'s');
    bootStructures(out, '/isolinux/isolinux.bin', '/boot/efi.img');
    assert.match(xorriso(['-indev', out, '-check_media', '--']), /Media region\s*:\s*0\s*,\s*\d+\s*,\s*\+ good/);
  });
});
