/**
 * The metadata region (src/iso/meta-region.ts): which directories keep the
 * base's bytes, and every directory after its parent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planRegion, type RegionDir } from '../../src/iso/meta-region.js';
import { moveHybrid, crc32 } from '../../src/iso/hybrid.js';

const dir = (d: Partial<RegionDir> & { blocks: number }): RegionDir => ({ candidate: false, attrStable: true, ...d });

describe('metadata region', () => {
  test('an unchanged tree keeps every directory where the base had it, verbatim', () => {
    const dirs = [dir({ blocks: 1, base: { start: 20, length: 1 }, candidate: true }), dir({ parent: 0, blocks: 1, base: { start: 21, length: 1 }, candidate: true })];
    const r = planRegion(dirs, [1, 1], 20, []);
    assert.deepEqual(r.pos, [20, 21]);
    assert.deepEqual(r.verbatim, [true, true]);
    assert.deepEqual(r.tables, [22, 23]);
    assert.equal(r.end, 24);
  });

  test('a directory whose child moved is written anew; one whose parent changed attributes too', () => {
    const dirs = [
      dir({ blocks: 1, base: { start: 20, length: 1 }, candidate: true, attrStable: false }),
      dir({ parent: 0, blocks: 1, base: { start: 21, length: 1 }, candidate: true }),
      dir({ parent: 0, blocks: 2, base: { start: 22, length: 1 }, candidate: true }),
      dir({ parent: 2, blocks: 3, base: { start: 23, length: 1 } }),
    ];
    const r = planRegion(dirs, [1], 20, []);
    assert.deepEqual(r.verbatim, [false, false, false, false]);
    for (const [i, d] of dirs.entries()) if (d.parent !== undefined) assert.ok(r.pos[i]! > r.pos[d.parent]!, `directory ${i} lies after its parent`);
  });

  test('reserved blocks (the base\'s continuation areas, a boot catalog) are never used', () => {
    const r = planRegion([dir({ blocks: 2 }), dir({ parent: 0, blocks: 1 })], [1], 20, [{ start: 21, length: 1 }]);
    assert.ok(!r.pos.includes(21) && !r.tables.includes(21));
    assert.ok(r.pos[0] !== 20 || r.pos[0] + 2 <= 21);
  });
});

describe('hybrid tables', () => {
  test('a protective MBR and a GPT follow a grown volume, their CRCs recomputed', () => {
    const sys = new Uint8Array(32768);
    // MBR: one 0xEE entry from sector 1 over the whole 1000-sector disk.
    sys.set([0, 0, 2, 0, 0xee, 0, 0, 0, 1, 0, 0, 0, 0xe7, 3, 0, 0], 446);
    sys[510] = 0x55;
    sys[511] = 0xaa;
    const hdr = Buffer.alloc(92);
    hdr.write('EFI PART', 0, 'latin1');
    hdr.writeUInt32LE(92, 12);
    hdr.writeUInt32LE(1, 24);
    hdr.writeUInt32LE(999, 32);
    hdr.writeUInt32LE(64, 40);
    hdr.writeUInt32LE(966, 48);
    hdr.writeUInt32LE(2, 72);
    hdr.writeUInt32LE(4, 80);
    hdr.writeUInt32LE(128, 84);
    sys.set(hdr, 512);
    const entry = (i: number, first: number, last: number) => {
      const e = Buffer.alloc(128);
      e[0] = 1;
      e.writeUInt32LE(first, 32);
      e.writeUInt32LE(last, 40);
      sys.set(e, 1024 + 128 * i);
    };
    entry(0, 64, 799); // the ISO data: the volume is 800 sectors
    entry(1, 800, 899); // an appended partition
    const tail = new Uint8Array(200 * 512); // 800..999: the appended partition, a gap, the backup GPT
    tail.set(sys.subarray(1024, 1024 + 512), (967 - 800) * 512);
    const backup = Buffer.from(hdr);
    backup.writeUInt32LE(999, 24);
    backup.writeUInt32LE(1, 32);
    backup.writeUInt32LE(967, 72);
    tail.set(backup, tail.length - 512);
    const r = moveHybrid(sys, tail, 800 * 512, 1000 * 512);
    const v = new DataView(r.system.buffer);
    assert.equal(v.getUint32(446 + 12, true), 999 + 200, 'the protective entry covers the grown disk');
    assert.deepEqual([v.getUint32(1024 + 32, true), v.getUint32(1024 + 40, true)], [64, 999]);
    assert.deepEqual([v.getUint32(1024 + 128 + 32, true), v.getUint32(1024 + 128 + 40, true)], [1000, 1099]);
    assert.equal(v.getUint32(512 + 32, true), 1199, 'the backup header is at the new last sector');
    const h = Buffer.from(r.system.subarray(512, 512 + 92));
    const crc = h.readUInt32LE(16);
    h.writeUInt32LE(0, 16);
    assert.equal(crc32(h), crc);
    const t = new DataView(r.tail.buffer);
    assert.equal(t.getUint32(r.tail.length - 512 + 24, true), 1199);
    assert.equal(t.getUint32(r.tail.length - 512 + 72, true), 1167);
  });
});
