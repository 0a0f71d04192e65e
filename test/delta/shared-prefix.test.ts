import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { blocksByLeadingTail, leadingTails, oldSharedIndex } from '../../src/delta/shared-prefix.js';
import { mapNestedFiles } from '../../src/delta/nested-map.js';
import { FileTable, SpanTable, type Layout, type LayoutFile, type SharedBlock } from '../../src/layouts/layout.js';
import type { NestedImage } from '../../src/layouts/nested.js';

/** A squashfs-like image of fragment blocks only: each block as "path/length path/length ..." in offset order, stored at 1000 + 100 per block (`sizes` bytes each). */
function fragments(blocks: string[], sizes: number[], raw: number[] = []): NestedImage {
  const files: LayoutFile[] = [];
  const shared: SharedBlock[] = [];
  let at = 1000;
  blocks.forEach((spec, block) => {
    let offset = 0;
    for (const m of spec.split(' ').filter(Boolean)) {
      const [path, len] = m.split('/');
      files.push({ path: `/${path!}`, type: 'file', size: Number(len), chunks: [], tail: { block, offset, length: Number(len) } });
      offset += Number(len);
    }
    shared.push({ start: at, end: at + sizes[block]!, key: `${spec}:${sizes[block]}`, ...(raw.includes(block) ? { raw: true } : {}) });
    at += sizes[block]!;
  });
  const layout: Layout = { format: 'squashfs', size: 1 << 20, files: FileTable.of(files), metadata: SpanTable.merged([]), shared, readContent: () => Promise.reject(new Error('unused')) };
  return { path: '/live/fs.squashfs', depth: 1, layout, base: 0, toImage: (s, e) => [{ start: s, end: e }] };
}

describe('changed fragment blocks are guessed from the old block that starts with the same tail', () => {
  test('leading tails: the tail at offset 0 of each compressed block', () => {
    const img = fragments(['a/10 b/20', 'c/5', '', 'd/7'], [100, 100, 100, 100], [3]);
    assert.deepEqual(leadingTails(img.layout), ['/a\u000010', '/c\u00005', undefined, undefined]);
    assert.deepEqual([...blocksByLeadingTail(img.layout)], [['/a\u000010', 0], ['/c\u00005', 1]]);
  });

  const table: [string, number, string | undefined, [string, number][], number][] = [
    ['moved one index on', 5, 'x', [['x', 4]], 4],
    ['no old block starts with it: same index', 5, 'y', [['x', 4]], 5],
    ['no leading tail: same index', 5, undefined, [['x', 4]], 5],
  ];
  for (const [name, index, leading, old, want] of table) test(name, () => assert.equal(oldSharedIndex(index, leading, new Map(old)), want));

  test('a package added before them: every later block is guessed from the block one index before', () => {
    // Old: [a b] [c d] [e f]; new: [a b] [n] [c d2] [e f2] (d and f changed, n added).
    const old = fragments(['a/10 b/10', 'c/10 d/10', 'e/10 f/10'], [300, 300, 300]);
    const now = fragments(['a/10 b/10', 'n/10', 'c/10 d/10', 'e/10 f/12'], [300, 310, 320, 330]);
    const m = mapNestedFiles([now], [{ index: 0, nested: [old] }]);
    // Block 0 is the same (key and size): exact. Block 1 starts with a new tail: the same index. Blocks 2 and 3: the old blocks 1 and 2.
    assert.deepEqual(m.exact.toArray().map((s) => [s.start, s.end, s.sourceOffset]), [[1000, 1300, 1000]]);
    assert.deepEqual(
      m.changedBlocks.map((s) => [s.start, s.end, s.sourceOffset]),
      [
        [1300 + 64, 1300 + 300, 1300 + 64],
        [1610 + 64, 1610 + 300, 1300 + 64],
        [1930 + 64, 1930 + 300, 1600 + 64],
      ],
    );
  });

  test('a block whose leading tail sits at the start of another old block is guessed from that block', () => {
    const old = fragments(['q/10', 'a/10 b/10', 'c/10'], [200, 200, 200]);
    const now = fragments(['a/10 b/11', 'c/10 z/3'], [210, 220]);
    const m = mapNestedFiles([now], [{ index: 0, nested: [old] }]);
    assert.deepEqual(
      m.changedBlocks.map((s) => [s.start, s.end, s.sourceOffset]),
      [
        [1000 + 64, 1200, 1200 + 64],
        [1210 + 64, 1210 + 200, 1400 + 64],
      ],
    );
  });
});
