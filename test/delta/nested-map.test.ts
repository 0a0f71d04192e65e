import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapNestedFiles } from '../../src/delta/nested-map.js';
import { FileTable, SpanTable, type Layout, type LayoutFile, type SharedBlock } from '../../src/layouts/layout.js';
import type { NestedImage } from '../../src/layouts/nested.js';

/** A squashfs-like nested image at `base` of its outer image; files as "path:len,len,...". */
function img(base: number, files: string[], shared: SharedBlock[] = [], format: Layout['format'] = 'squashfs', path = '/live/fs.squashfs'): NestedImage {
  let at = 100;
  const list: LayoutFile[] = files.map((spec) => {
    const [p, lens, tail] = spec.split(':');
    const chunks: number[] = [];
    let size = 0;
    for (const l of lens ? lens.split(',').map(Number) : []) {
      chunks.push(at, at + l);
      at += l;
      size += 4096;
    }
    return { path: p!, type: 'file', size, chunks, ...(tail ? { tail: { block: 0, offset: 0, length: Number(tail) } } : {}) };
  });
  const layout: Layout = { format, size: 1 << 20, files: FileTable.of(list), metadata: SpanTable.merged([]), shared, readContent: () => Promise.reject(new Error('unused')) };
  return { path, depth: 1, layout, base, toImage: (s, e) => [{ start: s + base, end: e + base }] };
}
const segs = (m: ReturnType<typeof mapNestedFiles>) => m.exact.toArray().map((s) => `${s.start}-${s.end}<${s.source}@${s.sourceOffset}`);

describe('nested mapping', () => {
  test('a file with the same path and block list maps all its blocks, shifted', () => {
    const m = mapNestedFiles([img(10_000, ['/a:10,20', '/b:30'])], [{ index: 0, nested: [img(50_000, ['/b:30', '/a:10,20'])] }]);
    // target /a at 100..130 (abs 10100..10130); source /a at 130..160 (abs 50130..).
    assert.deepEqual(segs(m), ['10100-10130<0@50130', '10130-10160<0@50100']);
    assert.deepEqual(m.changed, []);
    assert.equal(m.mappedFiles, 2);
  });

  test('a changed file keeps the blocks whose stored length is the same at the same index', () => {
    const m = mapNestedFiles([img(0, ['/a:10,21,30'])], [{ index: 3, nested: [img(0, ['/a:10,20,30'])] }]);
    assert.deepEqual(segs(m), ['100-110<3@100', '131-161<3@130']);
    assert.equal(m.changed.length, 1);
    assert.equal(m.changed[0]!.path, '/live/fs.squashfs:/a');
    assert.deepEqual(m.changed[0]!.unmapped, [{ start: 110, end: 131 }]);
  });

  test('a renamed file with the same size and block list maps from its old path', () => {
    const m = mapNestedFiles([img(0, ['/usr/lib/libx.so.2:7,8'])], [{ index: 0, nested: [img(0, ['/usr/lib/libx.so.1:7,8'])] }]);
    assert.deepEqual(segs(m), ['100-115<0@100']);
    assert.deepEqual(m.changed, []);
  });

  test('a file found nowhere is listed with all its stored bytes unmapped', () => {
    const m = mapNestedFiles([img(0, ['/new:5'])], [{ index: 0, nested: [img(0, ['/old:6'])] }]);
    assert.equal(m.exact.length, 0);
    assert.deepEqual(m.changed.map((c) => [c.path, c.unmapped]), [['/live/fs.squashfs:/new', [{ start: 100, end: 105 }]]]);
  });

  test('a fragment block maps whole when its key and stored size match, not otherwise', () => {
    const t = img(0, [], [{ start: 500, end: 600, key: 'k1' }, { start: 600, end: 650, key: 'k2' }]);
    const s = img(1000, [], [{ start: 700, end: 800, key: 'k1' }, { start: 800, end: 849, key: 'k2' }]);
    assert.deepEqual(segs(mapNestedFiles([t], [{ index: 1, nested: [s] }])), ['500-600<1@1700']);
  });

  test('sources with the same container path are preferred to other images of the format', () => {
    const other = img(90_000, ['/a:10'], [], 'squashfs', '/other.sfs');
    const same = img(50_000, ['/a:10']);
    const m = mapNestedFiles([img(0, ['/a:10'])], [{ index: 0, nested: [other] }, { index: 1, nested: [same] }]);
    assert.deepEqual(segs(m), ['100-110<1@50100']);
    assert.deepEqual([...m.containers], ['/live/fs.squashfs']);
  });
});
