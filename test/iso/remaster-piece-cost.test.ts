/**
 * What a planned remaster costs a stock client with a copy of the base
 * (src/iso/piece-cost.ts), as table tests. An image is drawn one character
 * per 2048-byte block: '.' the base's bytes at the same offset (no
 * segment), 'w' a written segment, 'c' a block copied from elsewhere in
 * the base, 's' copied from the same offset; the base is `base` blocks long.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTO_FETCH_RATIO, choosePieceLength, MIN_AUTO_PIECE_BYTES, stockFetchBytes } from '../../src/iso/piece-cost.js';
import type { Segment } from '../../src/iso/master-plan.js';

const B = 2048;

function segments(image: string): Segment[] {
  const out: Segment[] = [];
  [...image].forEach((c, i) => {
    if (c === 'w') out.push({ at: i * B, length: B, kind: 'bytes', bytes: new Uint8Array(B) });
    else if (c === 'c') out.push({ at: i * B, length: B, kind: 'base', offset: (i + 100) * B });
    else if (c === 's') out.push({ at: i * B, length: B, kind: 'base', offset: i * B });
  });
  return out;
}

const fetched = (image: string, base: number, pieceBlocks: number) =>
  stockFetchBytes(segments(image), base * B, image.length * B, pieceBlocks * B) / B;

describe('a stock client fetches every piece that holds a written block or lies past the base, whole', () => {
  const table: { name: string; image: string; base: number; piece: number; want: number }[] = [
    { name: 'nothing written: nothing fetched', image: '........', base: 8, piece: 4, want: 0 },
    { name: 'one written block costs its whole piece', image: '.....w..', base: 8, piece: 4, want: 4 },
    { name: 'two written blocks in one piece cost it once', image: '....ww..', base: 8, piece: 4, want: 4 },
    { name: 'a block copied from elsewhere in the base counts as written', image: 'c.......', base: 8, piece: 4, want: 4 },
    { name: 'a block copied from its own offset does not', image: 's.......', base: 8, piece: 4, want: 0 },
    { name: 'a segment across a border costs both pieces', image: '...ww...', base: 8, piece: 4, want: 8 },
    { name: 'blocks past the base are fetched, a short last piece by its length', image: '..........', base: 8, piece: 4, want: 2 },
    { name: 'the piece holding the base end is fetched when the image goes past it', image: '..........', base: 7, piece: 4, want: 6 },
    { name: 'an image shorter than the base: only its own pieces', image: 'w.....', base: 8, piece: 4, want: 4 },
    { name: 'smaller pieces fetch less around the same change', image: '.....w..', base: 8, piece: 1, want: 1 },
  ];
  for (const t of table) test(t.name, () => assert.equal(fetched(t.image, t.base, t.piece), t.want));
});

describe('--piece-length auto keeps the largest piece length whose fetch is near the changed bytes', () => {
  // A plan is stood in for by the fetch and changed bytes it would give at each piece length.
  const choose = (costs: Record<number, number>, changed: number, largest = 256 * 1024) => {
    const planned: number[] = [];
    const c = choosePieceLength(largest, (p) => (planned.push(p), p), (p) => ({ fetchBytes: costs[p] ?? 0, changedBytes: changed }));
    return { piece: c.pieceBytes, planned, fetch: c.fetchBytes };
  };

  test('the default when it is already within the ratio: one plan only', () => {
    assert.deepEqual(choose({ [256 * 1024]: 100 }, 100), { piece: 256 * 1024, planned: [256 * 1024], fetch: 100 });
  });
  test('halves until the fetch is within the ratio', () => {
    const r = choose({ [256 * 1024]: 130, [128 * 1024]: 112, [64 * 1024]: 102 }, 100);
    assert.deepEqual(r, { piece: 64 * 1024, planned: [256 * 1024, 128 * 1024, 64 * 1024], fetch: 102 });
  });
  test('exactly at the ratio is within it', () => {
    assert.equal(choose({ [256 * 1024]: AUTO_FETCH_RATIO * 1000 }, 1000).piece, 256 * 1024);
  });
  test('never below the smallest piece length: it is taken when nothing larger fits', () => {
    const r = choose({}, 0);
    assert.equal(r.piece, 256 * 1024);
    const never = choose(Object.fromEntries([256, 128, 64, 32, 16].map((k) => [k * 1024, 200])), 100);
    assert.equal(never.piece, MIN_AUTO_PIECE_BYTES);
    assert.deepEqual(never.planned, [256, 128, 64, 32, 16].map((k) => k * 1024));
  });
  test('a default below the smallest is planned once', () => {
    assert.deepEqual(choose({ 8192: 500 }, 100, 8192), { piece: 8192, planned: [8192], fetch: 500 });
  });
});
