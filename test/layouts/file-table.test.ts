import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsUint32, narrowedInt16 } from '../../src/layouts/column.js';
import { FileTable, FileTableBuilder } from '../../src/layouts/file-table.js';
import { SpanTable, usedBounds, type Layout } from '../../src/layouts/layout.js';

test('evidence given as numbers reads back as the string a reader would have written', () => {
  const b = new FileTableBuilder();
  const root = b.add(-1, '/', { type: 'dir', size: 0 });
  b.add(root, 'b', { type: 'file', size: 9000, chunks: [4096, 8192, 8192, 9000], las: [0, 5000] });
  b.add(root, 'a', { type: 'file', size: 9000, chunks: [4096, 8192, 8192, 9000], evidence: '0.3uw' });
  b.add(root, 'c', { type: 'file', size: 10, chunks: [0, 10], las: [7, 9] });
  b.add(root, 'd', { type: 'file', size: 10, chunks: [0, 10], las: [] });
  const t = b.finish();
  assert.deepEqual(Array.from({ length: t.count }, (_, i) => [t.path(i), t.evidence(i)]), [
    ['/', undefined],
    ['/a', '0.3uw'],
    ['/b', '0.3uw'],
    // Not one start per chunk: kept as given, as a string.
    ['/c', '7.9'],
    ['/d', undefined],
  ]);
  assert.equal(t.get(1).evidence, t.get(2).evidence);
});

test('a builder sized by a hint (exact, short, long) gives the table of one without', () => {
  // A deterministic tree in scrambled order: directories, files with and without chunks, tails, refs, modes, symlinks.
  const build = (hint?: number) => {
    const b = new FileTableBuilder(hint);
    const root = b.add(-1, '/', { type: 'dir', size: 0 });
    const dirs = [root];
    let x = 7;
    for (let i = 0; i < 300; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const parent = dirs[x % dirs.length]!;
      const name = `n${(x >> 8) % 997}-${i}`;
      if (i % 9 === 0) dirs.push(b.add(parent, name, { type: 'dir', size: 4096 }));
      else if (i % 11 === 0) b.add(parent, name, { type: 'symlink', size: 0, target: `t${i}` });
      else {
        const chunks = i % 3 === 0 ? [i * 100, i * 100 + 50] : [];
        b.add(parent, name, { type: 'file', size: 50 + i, chunks, ref: i * 3, mode: i % 512, ...(i % 2 ? { tail: { block: i % 5, offset: i, length: 7 } } : {}) });
      }
    }
    return b.finish();
  };
  const rows = (t: ReturnType<typeof build>) => Array.from({ length: t.count }, (_, i) => JSON.stringify({ ...t.get(i), chunks: Array.from(t.chunks(i)) }));
  const plain = rows(build());
  assert.equal(plain.length, 301);
  // Sorted by path: the in-place ordering moved entries.
  assert.notEqual(JSON.parse(plain[1]!).path, '/n');
  for (const hint of [301, 100, 5000]) assert.deepEqual(rows(build(hint)), plain, `hint ${hint}`);
});

test('the bytes a layout uses are its metadata, every chunk and the shared blocks, merged', () => {
  const files = FileTable.of([
    { path: '/b', type: 'file', size: 30, chunks: [500, 520, 900, 910] },
    { path: '/a', type: 'file', size: 20, chunks: [100, 120] },
    { path: '/d', type: 'dir', size: 0, chunks: [] },
    { path: '/c', type: 'file', size: 5, chunks: [119, 130], tail: { block: 0, offset: 0, length: 5 } },
  ]);
  assert.deepEqual([...files.allChunks()].sort((x, y) => x - y), [100, 119, 120, 130, 500, 520, 900, 910]);
  const layout = {
    format: 'squashfs',
    size: 2000,
    files,
    metadata: SpanTable.merged([{ start: 0, end: 96 }, { start: 1500, end: 2000 }]),
    shared: [{ start: 1000, end: 1100, key: 'k' }, { start: 96, end: 100, key: 'j' }],
    readContent: () => Promise.reject(new Error('not read')),
  } satisfies Layout;
  assert.deepEqual([...usedBounds(layout)], [0, 130, 500, 520, 900, 910, 1000, 1100, 1500, 2000]);
});

test('sizes and refs read back as given, whether every one fits 32 bits or one does not', () => {
  for (const big of [0, 2 ** 32, 2 ** 40 + 3]) {
    const b = new FileTableBuilder(4);
    const root = b.add(-1, '/', { type: 'dir', size: 0 });
    b.add(root, 'a', { type: 'file', size: 0xffff_ffff, ref: 7 });
    b.add(root, 'b', { type: 'file', size: big, ref: big + 1 });
    b.add(root, 'c', { type: 'file', size: 12, ref: 0 });
    b.add(root, 'd', { type: 'symlink', size: 0, target: '/x' });
    const t = b.finish();
    assert.deepEqual(Array.from({ length: t.count }, (_, i) => [t.path(i), t.size(i), t.ref(i)]), [
      ['/', 0, undefined],
      ['/a', 0xffff_ffff, 7],
      ['/b', big, big + 1],
      ['/c', 12, 0],
      ['/d', 0, undefined],
    ]);
  }
});

test('chunk bounds, logical starts and tail blocks read back as given, in 4 or 2 bytes when all fit or not', () => {
  for (const big of [0, 2 ** 32, 2 ** 40 + 3]) {
    for (const block of [0, 0x7fff, 0x8000, 2 ** 31 - 1]) {
      const b = new FileTableBuilder(4);
      const root = b.add(-1, '/', { type: 'dir', size: 0 });
      b.add(root, 'a', { type: 'file', size: 9000, chunks: [big + 10, big + 20, 4096, 4100], las: [0, big + 4096] });
      b.add(root, 'b', { type: 'file', size: 30, tail: { block, offset: 0xffff_ffff, length: 7 } });
      b.add(root, 'c', { type: 'file', size: 5, chunks: [0xffff_ffff - 1, 0xffff_ffff], tail: { block: 0, offset: 1, length: 2 } });
      const t = b.finish();
      const row = (i: number) => [t.path(i), [...t.chunks(i)], t.chunkCount(i) > 0 ? t.lasAt(i, t.chunkCount(i) - 1) : undefined, t.tail(i), t.tailBlock(i)];
      assert.deepEqual(Array.from({ length: t.count }, (_, i) => row(i)), [
        ['/', [], undefined, undefined, -1],
        ['/a', [big + 10, big + 20, 4096, 4100], big + 4096, undefined, -1],
        ['/b', [], undefined, { block, offset: 0xffff_ffff, length: 7 }, block],
        ['/c', [0xffff_ffff - 1, 0xffff_ffff], undefined, { block: 0, offset: 1, length: 2 }, 0],
      ]);
      assert.equal(t.evidence(1), `0.${(big + 4096).toString(36)}`);
      assert.deepEqual([...t.allChunks()], [big + 10, big + 20, 4096, 4100, 0xffff_ffff - 1, 0xffff_ffff]);
    }
  }
});

test('fitsUint32 and narrowedInt16 keep exactly what fits', () => {
  const cases: [number[], boolean][] = [[[], true], [[0, 1, 0xffff_ffff], true], [[0x1_0000_0000], false], [[-1], false], [[0.5], false], [[NaN], false], [[1, 2, 2 ** 53], false]];
  for (const [values, fits] of cases) assert.equal(fitsUint32(values), fits, String(values));
  assert.equal(fitsUint32([2 ** 40, 3, 4, -1], 1, 3), true);
  for (const [values, narrow] of [[[-1, 0, 0x7fff, -0x8000], true], [[0x8000], false], [[-0x8001], false], [[], true]] as [number[], boolean][]) {
    const got = narrowedInt16(Int32Array.from(values));
    assert.equal(got instanceof Int16Array, narrow, String(values));
    assert.deepEqual([...got], values);
  }
});

test('metadata spans read back as given, whether every bound fits 32 bits or one does not', () => {
  for (const big of [0, 2 ** 32 - 10, 2 ** 32, 2 ** 45]) {
    const spans = [{ start: big + 50, end: big + 90 }, { start: 0, end: 4 }, { start: 3, end: 6 }];
    const want = [0, 6, big + 50, big + 90];
    assert.deepEqual([...SpanTable.merged(spans).pairs()], want);
    const pairs = new Float64Array([big + 50, big + 90, 0, 4, 3, 6, 0, 0]).subarray(0, 6);
    const t = SpanTable.mergedBounds(pairs);
    assert.deepEqual([...t.pairs()], want);
    assert.deepEqual([...t], [{ start: 0, end: 6 }, { start: big + 50, end: big + 90 }]);
    assert.equal(t.length, 2);
  }
});
