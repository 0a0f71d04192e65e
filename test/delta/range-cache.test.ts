/**
 * RangeCache: the planning bytes a sync keeps (VirtualTarget), ranges added
 * in any order, small ones copied into shared slabs, large ones kept whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RangeCache } from '../../src/delta/range-cache.js';
import { Rng } from '../helpers/random.js';

test('ranges added in any order are held sorted, each with its own bytes, across slabs and whole buffers', () => {
  const rng = new Rng(7);
  // 3,000 disjoint ranges, most of them small (inodes), some past a slab's copy limit; offsets past 4 GiB.
  const ranges: { start: number; bytes: Uint8Array }[] = [];
  let at = 2 ** 32;
  for (let i = 0; i < 3000; i++) {
    at += rng.int(500);
    const len = i % 97 === 0 ? 5000 + rng.int(300_000) : 1 + rng.int(200);
    ranges.push({ start: at, bytes: rng.bytes(len) });
    at += len;
  }
  const order = ranges.map((_, i) => i).sort(() => rng.int(3) - 1);
  const cache = new RangeCache();
  for (const i of order) cache.add(ranges[i]!.start, ranges[i]!.bytes);
  assert.equal(cache.count, ranges.length);
  ranges.forEach((r, i) => {
    assert.equal(cache.start(i), r.start);
    assert.equal(cache.end(i), r.start + r.bytes.length);
    assert.deepEqual(cache.bytes(i), r.bytes, `range ${i}`);
  });
  assert.equal(cache.firstAfter(0), 0);
  assert.equal(cache.firstAfter(ranges[10]!.start), 10);
  assert.equal(cache.firstAfter(ranges[10]!.start + ranges[10]!.bytes.length), 11);
  assert.equal(cache.firstAfter(2 ** 40), ranges.length);
});
