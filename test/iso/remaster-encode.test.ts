/**
 * The writer's encoders read back by the reader: system use areas (PX, TF,
 * NM, SL, CE), directory extents with continuation blocks and multi-extent
 * records, path tables, the El Torito catalog and boot information table,
 * and the identifiers. Pure: bytes in memory through a MemorySource.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../src/store/byte-source.js';
import { IsoContext } from '../../src/iso/context.js';
import { parseSystemUse } from '../../src/iso/susp.js';
import { readDirectory } from '../../src/iso/records.js';
import { readPathTable } from '../../src/iso/path-tables.js';
import { readBootCatalog } from '../../src/iso/eltorito.js';
import { erEntry, planSystemUse, rrEntries, slEntries, spEntry } from '../../src/iso/susp-write.js';
import { encodeDirectory, sizeDirectory, type RecordSpec } from '../../src/iso/dir-write.js';
import { encodePathTable } from '../../src/iso/path-table-write.js';
import { bootInfoChecksum, hasBootInfoTable, patchBootInfoTable, patchCatalog } from '../../src/iso/eltorito-write.js';
import { compareIsoIds, isoIdentifiers, jolietIdentifiers } from '../../src/iso/names.js';

const enc = new TextEncoder();
const ctxOf = (b: Uint8Array) => new IsoContext(new MemorySource(b), 'test');
const concat = (xs: readonly Uint8Array[]) => {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

describe('system use entries read back', () => {
  const attrs = { mode: 0o100644, nlink: 1, uid: 1000, gid: 100, serial: 42, mtimeMs: Date.UTC(2023, 10, 14, 22, 13, 20) };
  for (const [what, name, target] of [
    ['a short name', 'README.txt', undefined],
    ['a 255-byte name (two NM entries)', 'n'.repeat(255), undefined],
    ['a relative symlink with . and ..', 'link', '../a/./b/../c'],
    ['an absolute symlink', 'abs', '/usr/share/doc'],
    ['a 4000-byte symlink whose components cross SL entries', 'long', `/${Array.from({ length: 300 }, (_, i) => `dir-${i}`).join('/')}`],
    ['a symlink with a 255-byte component', 'c', `x/${'y'.repeat(255)}/z`],
    ['a symlink to "/"', 'root', '/'],
  ] as const) {
    test(what, async () => {
      const entries = rrEntries({ ...attrs, name: enc.encode(name), ...(target !== undefined ? { target } : {}) });
      for (const e of entries) assert.ok(e.length <= 255);
      const su = await parseSystemUse(ctxOf(new Uint8Array(0)), concat(entries), 0, 0, 2048);
      assert.equal(su.rr.name, name);
      assert.equal(su.rr.target, target);
      assert.equal(su.rr.mode, attrs.mode);
      assert.equal(su.rr.uid, 1000);
      assert.equal(su.rr.serial, 42);
      assert.equal(su.rr.times?.modify, attrs.mtimeMs);
    });
  }

  test('SL entries split inside a component, never between two', () => {
    for (const e of slEntries(`/${'abcdefghij/'.repeat(60)}end`).slice(0, -1)) {
      // The last component record of a continued entry carries CONTINUE.
      let p = 5, lastFlags = -1;
      while (p + 2 <= e.length) {
        lastFlags = e[p]!;
        p += 2 + e[p + 1]!;
      }
      assert.equal(lastFlags & 1, 1);
    }
  });

  test('what does not fit a record goes to chained continuation areas of one block each', () => {
    const entries = [spEntry(), ...rrEntries({ ...attrs, name: enc.encode('x'.repeat(255)), target: 'y/'.repeat(1500) }), erEntry()];
    const plan = planSystemUse(entries, 200);
    assert.ok(plan.inlineBytes <= 200);
    assert.ok(plan.areas.length >= 2);
    for (const b of plan.areaBytes) assert.ok(b <= 2048);
  });
});

describe('a directory extent read back', () => {
  const su = (name: string) => rrEntries({ mode: 0o100644, nlink: 1, uid: 0, gid: 0, serial: 1, mtimeMs: 0, name: enc.encode(name) });
  const specs: RecordSpec[] = [
    { id: Uint8Array.of(0), directory: true, mtimeMs: 0, su: [spEntry(), ...rrEntries({ mode: 0o40755, nlink: 2, uid: 0, gid: 0, serial: 2, mtimeMs: 0 }), erEntry()], records: 1 },
    { id: Uint8Array.of(1), directory: true, mtimeMs: 0, su: [], records: 1 },
    ...Array.from({ length: 40 }, (_, i): RecordSpec => ({ id: enc.encode(`F${String(i).padStart(3, '0')}.;1`), directory: false, mtimeMs: 0, su: su(`file-${i}-${'z'.repeat(150)}`), records: i === 7 ? 3 : 1 })),
  ];

  test('records never cross a block, continuation areas resolve, multi-extent records repeat', async () => {
    const size = sizeDirectory(specs);
    assert.ok(size.bytes > 2048, 'this directory needs more than one block');
    const lba = 20, ceLba = lba + size.bytes / 2048;
    const { dir, ce } = encodeDirectory(size, lba, ceLba, (i) => (i === 9 ? [{ lba: 100, size: 4096 }, { lba: 200, size: 2048 }, { lba: 300, size: 5 }] : [{ lba: 50 + i, size: i }]));
    const image = new Uint8Array((ceLba + size.ceBytes / 2048) * 2048 + 2048);
    image.set(dir, lba * 2048);
    image.set(ce, ceLba * 2048);
    const ctx = ctxOf(image);
    const names: string[] = [];
    const multi: number[] = [];
    let i = 0;
    for await (const r of readDirectory(ctx, lba, size.bytes, 2048, '/')) {
      if (i++ < 2) continue;
      const s = await parseSystemUse(ctx, r.systemUse, r.offset, 0, 2048);
      names.push(s.rr.name!);
      if (s.rr.name === `file-7-${'z'.repeat(150)}`) multi.push(r.extentLba, r.flags & 0x80);
    }
    assert.equal(names.length, 42);
    assert.deepEqual(multi, [100, 0x80, 200, 0x80, 300, 0]);
  });
});

describe('identifiers', () => {
  test('ISO 9660 identifiers are d-characters, unique, and sort as §9.3 says', () => {
    const ids = isoIdentifiers([
      { name: 'README.txt', dir: false }, { name: 'readme.TXT', dir: false }, { name: 'a-b c.tar.gz', dir: false },
      { name: 'noext', dir: false }, { name: 'dir.with.dots', dir: true }, { name: 'x'.repeat(80), dir: false },
    ]);
    assert.deepEqual(ids.slice(0, 4), ['README.TXT;1', 'README1.TXT;1', 'A_B_C_TAR.GZ;1', 'NOEXT.;1']);
    assert.equal(ids[4], 'DIR_WITH_DOTS');
    assert.ok(ids[5]!.length <= 33, 'name and extension hold 30 characters, plus "." and ";1"');
    assert.ok(compareIsoIds('A.B;1', 'A_.B;1') < 0, 'a short name sorts as if padded with spaces');
  });

  test('Joliet identifiers fit 64 UCS-2 units, keep the extension and stay unique', () => {
    const long = `${'é'.repeat(70)}.deb`;
    const ids = jolietIdentifiers([{ name: long, dir: false }, { name: long.replace(/^é/, 'è'), dir: false }, { name: 'a:b?c', dir: false }]);
    assert.ok(ids[0]!.length <= 64 && ids[0]!.endsWith('.deb'));
    assert.notEqual(ids[0], ids[1]);
    assert.equal(ids[2], 'a_b_c');
  });
});

describe('path tables and El Torito read back', () => {
  test('L and M tables carry the same records', async () => {
    const recs = [{ id: Uint8Array.of(0), parent: 1 }, { id: enc.encode('BOOT'), parent: 1 }, { id: enc.encode('GRUB'), parent: 2 }];
    const image = new Uint8Array(4 * 2048);
    image.set(encodePathTable(recs, [20, 21, 22], 'L'), 2 * 2048);
    image.set(encodePathTable(recs, [20, 21, 22], 'M'), 3 * 2048);
    const size = encodePathTable(recs, [0, 0, 0], 'L').length;
    for (const [kind, lba] of [['L', 2], ['M', 3]] as const) {
      const t = await readPathTable(ctxOf(image), 'primary', kind, lba, size, 2048);
      assert.deepEqual(t.records.map((r) => [r.name, r.lba, r.parent]), [['', 20, 1], ['BOOT', 21, 1], ['GRUB', 22, 2]]);
    }
  });

  test('a patched catalog points its entries at the new places', async () => {
    const cat = new Uint8Array(2048);
    cat.set([1, 0, 0, 0], 0);
    cat[30] = 0x55;
    cat[31] = 0xaa;
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + (cat[i]! | (cat[i + 1]! << 8))) & 0xffff;
    const ck = (0x10000 - sum) & 0xffff;
    cat[28] = ck & 0xff;
    cat[29] = ck >> 8;
    cat.set([0x88, 0, 0, 0, 0, 0, 4, 0, 33, 0, 0, 0], 32); // initial entry: 4 sectors at 33
    cat.set([0x91, 0xef, 1, 0], 64); // final section header, EFI, one entry
    cat.set([0x88, 0, 0, 0, 0, 0, 64, 0, 40, 0, 0, 0], 96);
    const out = patchCatalog(cat, new Map([[1, { lba: 77, sectorCount: 70 }]]));
    const image = new Uint8Array(4096);
    image.set(out, 2048);
    const b = await readBootCatalog(ctxOf(image), 1, 2048);
    assert.deepEqual(b.entries.map((e) => [e.platform, e.lba, e.sectorCount]), [[0, 33, 4], [0xef, 77, 70]]);
  });

  test('the boot information table names the image\'s block, length and checksum', () => {
    const img = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    patchBootInfoTable(img, 123);
    assert.ok(hasBootInfoTable(img, 123));
    assert.ok(!hasBootInfoTable(img, 124));
    assert.equal(new DataView(img.buffer).getUint32(20, true), bootInfoChecksum(img));
  });
});
