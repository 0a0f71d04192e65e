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

/** A spill store in memory that counts what was appended and read. */
function memoryStore() {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const s = {
    appended: 0,
    reads: 0,
    closed: false,
    append(bytes: Uint8Array): number {
      const at = size;
      chunks.push(bytes.slice());
      size += bytes.length;
      s.appended += bytes.length;
      return at;
    },
    readInto(dest: Uint8Array, at: number, position: number, length: number): void {
      s.reads++;
      const all = Buffer.concat(chunks);
      dest.set(all.subarray(position, position + length), at);
    },
    close(): void {
      s.closed = true;
    },
  };
  return s;
}

test('with a spill store, only the newest chunks stay in memory; spilled ranges read back the same bytes, a chunk loaded once per pass', () => {
  const rng = new Rng(9);
  const ranges: { start: number; bytes: Uint8Array }[] = [];
  let at = 0;
  for (let i = 0; i < 4000; i++) {
    at += rng.int(50);
    const len = i % 101 === 0 ? 5000 + rng.int(100_000) : 1 + rng.int(300);
    ranges.push({ start: at, bytes: rng.bytes(len) });
    at += len;
  }
  const store = memoryStore();
  let opened = 0;
  const residentBytes = 512 * 1024;
  const cache = new RangeCache({ spill: () => (opened++, store), residentBytes, readbackBytes: 1024 * 1024 });
  let total = 0;
  for (const r of ranges) {
    cache.add(r.start, r.bytes);
    total += r.bytes.length;
    // The newest chunk may be larger than the limit by itself; a slab is counted whole.
    assert.ok(cache.residentBytes <= residentBytes + 256 * 1024, `resident ${cache.residentBytes}`);
  }
  assert.equal(opened, 1, 'one store, opened on the first spill');
  assert.ok(store.appended > total / 2, `most bytes spilled (${store.appended} of ${total})`);
  assert.equal(cache.spilledBytes, store.appended);
  assert.ok(!cache.isResident(0) && cache.isResident(ranges.length - 1), 'oldest spilled, newest in memory');
  // In image order (the order they were added): each spilled chunk is loaded once.
  ranges.forEach((r, i) => assert.deepEqual(cache.bytes(i), r.bytes, `range ${i}`));
  const loads = store.reads;
  assert.ok(loads > 0 && loads < 100, `chunk loads ${loads}`);
  // A view handed out stays valid after its chunk is evicted from the loaded ones.
  const first = cache.bytes(0);
  ranges.forEach((_, i) => cache.bytes(ranges.length - 1 - i));
  assert.deepEqual(first, ranges[0]!.bytes);
  cache.close();
  assert.equal(store.closed, true);
});

test('without a spill store every byte stays in memory', () => {
  const cache = new RangeCache({ residentBytes: 1024 });
  for (let i = 0; i < 100; i++) cache.add(i * 10_000, new Uint8Array(5000).fill(i));
  assert.equal(cache.spilledBytes, 0);
  assert.equal(cache.residentBytes, 100 * 5000);
  assert.deepEqual(cache.bytes(42), new Uint8Array(5000).fill(42));
});
