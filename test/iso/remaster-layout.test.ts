/**
 * The remaster layout (src/iso/layout.ts) as table tests. A base image is
 * drawn as a string, one character per block:
 *   '#' reserved (system area, descriptors), 'P' pinned, '.' free,
 *   a letter: the kept file of that name (uppercase and lowercase are two files).
 * The expected result is drawn the same way, fresh files as digits
 * (their index in `fresh`), directory zones as 'Z', dead blocks as '.'.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planLayout, type LayoutInput, type Run } from '../../src/iso/layout.js';
import { FreeSpace } from '../../src/iso/free-space.js';
import { packFresh } from '../../src/iso/piece-pack.js';

interface Scenario {
  name: string;
  base: string;
  fresh?: number[];
  metadata?: { blocks: number; prefer?: Run; barrier?: boolean }[];
  unsplittable?: string;
  maxWaste?: number;
  freshWaste?: number;
  /** Blocks per torrent piece (fresh content packed by piece). */
  pieceBlocks?: number;
  want: string;
  moved?: Record<string, number>;
}

function input(s: Scenario): LayoutInput {
  const kept = new Map<string, Run[]>();
  const pinned: Run[] = [];
  let reservedEnd = 0;
  [...s.base].forEach((c, i) => {
    if (c === '#') reservedEnd = i + 1;
    else if (c === 'P') pinned.push({ start: i, length: 1 });
    else if (/[a-zA-Z]/.test(c)) {
      const runs = kept.get(c) ?? [];
      const last = runs[runs.length - 1];
      if (last && last.start + last.length === i) runs[runs.length - 1] = { start: last.start, length: last.length + 1 };
      else runs.push({ start: i, length: 1 });
      kept.set(c, runs);
    }
  });
  return {
    reservedEnd, baseEnd: s.base.length, pinned,
    kept: [...kept].map(([key, runs]) => ({ key, runs, blocks: runs.reduce((n, r) => n + r.length, 0), splittable: !(s.unsplittable ?? '').includes(key) })),
    metadata: (s.metadata ?? []).map((m, i) => ({ key: `Z${i}`, blocks: m.blocks, splittable: false, ...(m.prefer ? { prefer: m.prefer } : {}), ...(m.barrier ? { barrier: true } : {}) })),
    fresh: (s.fresh ?? []).map((blocks, i) => ({ key: String(i), blocks, splittable: !(s.unsplittable ?? '').includes(String(i)) })),
    maxWaste: s.maxWaste ?? 0.05, freshWaste: s.freshWaste ?? 0, maxExtentBlocks: 1 << 20, maxExtents: 32,
    ...(s.pieceBlocks !== undefined ? { pieceBlocks: s.pieceBlocks } : {}),
  };
}

function draw(s: Scenario, runs: ReadonlyMap<string, readonly Run[]>, end: number): string {
  const out: string[] = Array.from({ length: end }, (_, i) => (s.base[i] === '#' || s.base[i] === 'P' ? s.base[i]! : '.'));
  for (const [key, rs] of runs) for (const r of rs) for (let b = r.start; b < r.start + r.length; b++) out[b] = key.startsWith('Z') ? 'Z' : key;
  return out.join('');
}

const SCENARIOS: Scenario[] = [
  { name: 'kept files stay and nothing else happens', base: '##aaabbcc', want: '##aaabbcc' },
  { name: 'a removed file at the end shortens the image', base: '##aaabb..', want: '##aaabb' },
  { name: 'a fresh file that fits a freed run exactly goes there', base: '##aa...bb', fresh: [3], want: '##aa000bb' },
  { name: 'a fresh file larger than every free run fills the largest runs first, in ascending order, and slides the rest down', base: '##a..b....c', fresh: [7], want: '##a00b0000c0' },
  { name: 'free runs stay dead while the waste is within the fresh bound', base: '##a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', fresh: [1], freshWaste: 0.05, want: '##a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb0' },
  { name: 'kept content at the tail moves only while the waste is above the bound', base: '##aaaa....bbcc', maxWaste: 0.2, want: '##aaaacc..bb', moved: { c: 2 } },
  { name: 'under the bound kept content never moves', base: '##aaaa.bbbbbbbbbbbbbbbbbbbbbbbcc', maxWaste: 0.05, want: '##aaaa.bbbbbbbbbbbbbbbbbbbbbbbcc' },
  { name: 'a pinned block at the tail stops compaction', base: '##a....P', maxWaste: 0, want: '##a....P' },
  { name: 'metadata goes back to its place when the blocks there are free', base: '##....aa', metadata: [{ blocks: 3, prefer: { start: 3, length: 2 } }], maxWaste: 0.5, want: '##.ZZZaa' },
  { name: 'metadata whose place is taken goes to the best-fitting run', base: '##a.....bb', metadata: [{ blocks: 2, prefer: { start: 0, length: 1 } }], maxWaste: 0.5, want: '##aZZ...bb' },
  { name: 'an unsplittable file moves whole or not at all', base: '##a..b..cccc', unsplittable: 'c', maxWaste: 0, want: '##a..b..cccc' },
  { name: 'a single-extent file may go to either side of a directory zone', base: '##..Z.aaaa', metadata: [{ blocks: 1, prefer: { start: 4, length: 1 }, barrier: true }], fresh: [2], maxWaste: 0.5, want: '##00Z.aaaa' },
  // Pieces of 4 blocks (counted from block 0): '####|aa..|....|bbb.|cccc'.
  { name: 'by piece: a wholly free piece takes fresh content even when the waste allows leaving it dead', base: '####aa......bbb.cccc', fresh: [4], pieceBlocks: 4, freshWaste: 0.5, maxWaste: 0.5, want: '####aa..0000bbb.cccc' },
  { name: 'without a piece size the same fresh file stays at the end', base: '####aa......bbb.cccc', fresh: [4], freshWaste: 0.5, maxWaste: 0.5, want: '####aa......bbb.cccc0000' },
  { name: 'by piece: the piece with the most free blocks is filled first, and only as far as the waste must shrink', base: '####a...bb..ccc.dddd', fresh: [3, 2], pieceBlocks: 4, freshWaste: 0.2, maxWaste: 0.2, want: '####a000bb..ccc.dddd11' },
  { name: 'by piece: a fresh file of a piece or more starts on a piece border at the end, a small one in the gap before it', base: '####aaaaaa', fresh: [4, 1], pieceBlocks: 4, freshWaste: 0.5, maxWaste: 0.5, want: '####aaaaaa1.0000' },
  { name: 'by piece: no border gap is left dead past the waste bound', base: '####aaaaaa', fresh: [4, 1], pieceBlocks: 4, freshWaste: 0, maxWaste: 0, want: '####aaaaaa10000' },
  { name: 'a split never straddles a directory zone: the zone moves down instead', base: '##..Z.aaaa', metadata: [{ blocks: 1, prefer: { start: 4, length: 1 }, barrier: true }], fresh: [3], maxWaste: 0.5, want: '##Z000aaaa' },
];

describe('remaster layout', () => {
  for (const s of SCENARIOS) {
    test(s.name, () => {
      const base = s.base.replace(/Z/g, '.');
      const r = planLayout(input({ ...s, base }));
      assert.equal(draw({ ...s, base }, r.runs, r.end), s.want);
      assert.deepEqual(Object.fromEntries(r.moved), s.moved ?? {});
      let dead = 0;
      for (const c of s.want) if (c === '.') dead++;
      assert.equal(r.deadBlocks, dead, 'dead blocks are the free blocks below the end');
    });
  }

  test('every file keeps its extents in ascending block order and its blocks once', () => {
    const r = planLayout(input({ name: '', base: '##a.b..c...d....e', fresh: [9, 4, 1], want: '' }));
    const seen = new Set<number>();
    for (const [key, runs] of r.runs) {
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.start > runs[i - 1]!.start, `${key} extents ascend`);
      for (const x of runs) for (let b = x.start; b < x.start + x.length; b++) {
        assert.ok(!seen.has(b), `block ${b} used twice`);
        seen.add(b);
      }
    }
    assert.equal(r.runs.get('0')!.reduce((n, x) => n + x.length, 0), 9);
  });
});

describe('packing fresh content by piece', () => {
  const base = { pieceBlocks: 4, maxExtents: 32, maxExtentBlocks: 1 << 20 };

  test('a piece that holds rewritten metadata costs nothing to fill; a piece of kept blocks costs them', () => {
    const free = packFresh({ ...base, holes: [{ start: 4, length: 2 }], dirty: [{ start: 6, length: 1 }], items: [{ key: 'x', blocks: 2, splittable: true }], need: 0 });
    assert.deepEqual(free.placed.get('x'), [{ start: 4, length: 2 }]);
    assert.equal(free.costBlocks, 0);
    const paid = packFresh({ ...base, holes: [{ start: 4, length: 2 }], dirty: [], items: [{ key: 'x', blocks: 2, splittable: true }], need: 0 });
    assert.equal(paid.placed.size, 0, 'not needed, not filled');
    const needed = packFresh({ ...base, holes: [{ start: 4, length: 2 }], dirty: [], items: [{ key: 'x', blocks: 2, splittable: true }], need: 2 });
    assert.deepEqual(needed.placed.get('x'), [{ start: 4, length: 2 }]);
    assert.equal(needed.costBlocks, 2, 'the two kept blocks of that piece are fetched again');
  });

  test('a file larger than the offered runs fills them in ascending order and leaves the rest for the end', () => {
    const r = packFresh({ ...base, holes: [{ start: 4, length: 4 }, { start: 12, length: 8 }], dirty: [], items: [{ key: 'x', blocks: 15, splittable: true }], need: 0 });
    assert.deepEqual(r.placed.get('x'), [{ start: 4, length: 4 }, { start: 12, length: 8 }]);
    assert.equal(r.rest.get('x'), 3);
    assert.equal(r.filled, 12);
  });
});

describe('free space', () => {
  test('release merges neighbours and trims the end; take splits a run', () => {
    const f = new FreeSpace(10);
    f.release(2, 2);
    f.release(5, 1);
    f.release(4, 1);
    assert.deepEqual(f.list(), [{ start: 2, length: 4 }]);
    f.release(8, 2);
    assert.equal(f.end, 8, 'a free run that reaches the end lowers it');
    f.take(3, 1);
    assert.deepEqual(f.list(), [{ start: 2, length: 1 }, { start: 4, length: 2 }]);
    assert.throws(() => f.take(3, 1), /not free/);
    assert.throws(() => f.release(4, 1), /already free/);
  });

  test('best fit takes the smallest run that fits, within bounds', () => {
    const f = new FreeSpace(20);
    f.release(1, 5);
    f.release(8, 2);
    f.release(12, 3);
    assert.equal(f.bestFit(2), 8);
    assert.equal(f.bestFit(3, 20, 2), 12);
    assert.equal(f.bestFit(6), undefined);
    assert.equal(f.total(), 5);
  });
});
