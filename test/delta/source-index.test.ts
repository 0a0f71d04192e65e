/**
 * The matcher's source index (delta/source-index.ts): an index filled out of
 * order (setHashes, then buildLookup) answers as one filled in block order
 * (set), first block winning among equal hashes; after dropLookup it keeps
 * the hashes but finds nothing, and an index made with the arrays it dropped
 * answers as one made with fresh ones; release() gives its arrays back at
 * once (detached), but not arrays it handed over with dropLookup(); its
 * hash arrays, with the room it was asked for, go to a next index with
 * dropHashes(); its filter is sized by its blocks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceIndex } from '../../src/delta/source-index.js';

/** Deterministic hashes with repeats (every 7th block repeats an earlier one) and some all-zero blocks. */
function hashesOf(blocks: number): [number, number][] {
  const out: [number, number][] = [];
  for (let b = 0; b < blocks; b++) {
    if (b % 11 === 3) out.push([0, 0]);
    else if (b % 7 === 6) out.push(out[b - 5]!);
    else out.push([Math.imul(b + 1, 0x2545f491) | 0, Math.imul(b + 7, 0x6b43a9b5) | 0]);
  }
  return out;
}

describe('source index', () => {
  it('filled out of order, answers as filled in order', () => {
    const hashes = hashesOf(5000);
    const inOrder = new SourceIndex(hashes.length);
    hashes.forEach(([h1, h2], b) => {
      if (h1 !== 0 || h2 !== 0) inOrder.set(b, h1, h2);
    });
    const outOfOrder = new SourceIndex(hashes.length);
    for (let b = hashes.length - 1; b >= 0; b--) outOfOrder.setHashes(b, ...hashes[b]!);
    outOfOrder.buildLookup();
    for (const [b, [h1, h2]] of hashes.entries()) {
      assert.equal(outOfOrder.find(h1, h2), inOrder.find(h1, h2), `block ${b}`);
      assert.equal(outOfOrder.has(h1), inOrder.has(h1), `block ${b}`);
      assert.equal(outOfOrder.rollingOf(b), h1);
      assert.equal(outOfOrder.secondOf(b), h2);
    }
    // A repeated block is found at its first place; an all-zero block not at all.
    assert.equal(outOfOrder.find(...hashes[6]!), 1);
    assert.equal(outOfOrder.find(0, 0), -1);
    assert.deepEqual([...outOfOrder.filter], [...inOrder.filter]);
  });

  it('after dropLookup keeps the hashes and finds nothing', () => {
    const hashes = hashesOf(300);
    const index = new SourceIndex(hashes.length);
    hashes.forEach(([h1, h2], b) => index.set(b, h1, h2));
    assert.equal(index.find(...hashes[10]!), 10);
    index.dropLookup();
    assert.equal(index.filter.length, 0);
    assert.equal(index.find(...hashes[10]!), -1);
    assert.equal(index.has(hashes[10]![0]), false);
    assert.equal(index.rollingOf(10), hashes[10]![0]);
    assert.equal(index.secondOf(10), hashes[10]![1]);
  });

  it('reuses the look-up arrays an index of the same size dropped, cleared', () => {
    const a = hashesOf(4000);
    const b = hashesOf(4100).slice(100); // other hashes, same block count
    const first = new SourceIndex(a.length);
    a.forEach(([h1, h2], i) => first.set(i, h1, h2));
    const dropped = first.dropLookup();
    const reused = new SourceIndex(b.length, dropped);
    const fresh = new SourceIndex(b.length);
    for (const idx of [reused, fresh]) {
      b.forEach(([h1, h2], i) => idx.setHashes(i, h1, h2));
      idx.buildLookup();
    }
    assert.equal(reused.filter, dropped.filter, 'the same filter array');
    assert.equal(reused.quick, dropped.quick, 'the same quick filter array');
    assert.deepEqual([...reused.filter], [...fresh.filter]);
    assert.deepEqual([...reused.quick], [...fresh.quick]);
    for (const [i, [h1, h2]] of [...b, ...a].entries()) assert.equal(reused.find(h1, h2), fresh.find(h1, h2), `hash pair ${i}`);
    // Arrays of another size are not taken.
    const other = new SourceIndex(40_000, reused.dropLookup());
    assert.notEqual(other.quick, dropped.quick);
  });

  it('hands its hash arrays over with the room asked for, and an index given them keeps its hashes there', () => {
    const older = hashesOf(3000);
    const newer = hashesOf(3500).slice(200); // 3300 blocks, other hashes
    const first = new SourceIndex(older.length, undefined, undefined, newer.length);
    older.forEach(([h1, h2], b) => first.set(b, h1, h2));
    const spare = first.dropLookup();
    const arrays = first.dropHashes();
    assert.equal(arrays.h1.length, newer.length, 'room for the newer blocks');
    assert.equal(arrays.h1[5], older[5]![0]);
    assert.equal(first.rollingOf(5), undefined, 'the index keeps no hashes after handing them over');
    arrays.h1.fill(0);
    arrays.h2.fill(0);
    const given = new SourceIndex(newer.length, spare, arrays);
    const fresh = new SourceIndex(newer.length);
    for (const idx of [given, fresh]) {
      newer.forEach(([h1, h2], i) => idx.setHashes(i, h1, h2));
      idx.buildLookup();
    }
    for (const [i, [h1, h2]] of [...newer, ...older].entries()) assert.equal(given.find(h1, h2), fresh.find(h1, h2), `hash pair ${i}`);
    assert.equal(given.dropHashes().h1, arrays.h1, 'the same hash arrays');
    // Arrays too small for the blocks are not taken.
    const small = new SourceIndex(100);
    const big = new SourceIndex(200, undefined, small.dropHashes());
    big.set(150, 1, 2);
    assert.equal(big.find(1, 2), 150);
  });

  it('sizes its filter by its blocks: at least 8 bits a block, 2^15 bits at least', () => {
    for (const [blocks, words] of [
      [10, 1024],
      [4096, 1024],
      [4097, 2048],
      [300_000, 131_072],
    ] as const) {
      assert.equal(new SourceIndex(blocks).filter.length, words, `${blocks} blocks`);
    }
  });

  it('release gives its own arrays back, not the ones dropLookup handed over', () => {
    const hashes = hashesOf(40_000); // arrays of 64 KiB and more: give-back.ts leaves smaller ones to the collector
    const index = new SourceIndex(hashes.length);
    hashes.forEach(([h1, h2], b) => index.set(b, h1, h2));
    const filter = index.filter;
    assert.ok(filter.length > 0);
    index.release();
    assert.equal(filter.length, 0, 'the filter array was detached');
    assert.equal(index.filter.length, 0);
    assert.equal(index.find(...hashes[10]!), -1);

    const other = new SourceIndex(hashes.length);
    hashes.forEach(([h1, h2], b) => other.set(b, h1, h2));
    const dropped = other.dropLookup();
    other.release();
    assert.ok(dropped.table.length > 0 && dropped.filter.length > 0, 'the arrays handed over are left alone');
  });
});
