/**
 * VirtualTarget's prefetch of many ranges (a nested tree's level of inodes), kept as [start, end)
 * pairs, and the pairs helpers it rests on: the same ranges asked for as spans would be, the same
 * bytes cached, and the planning check's in-place comparison.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeBounds, mergeSpans, spanBounds, type Span } from '../../src/core/span.js';
import { VirtualTarget } from '../../src/delta/virtual-target.js';
import type { RangeFetcher } from '../../src/core/ports.js';
import { Rng } from '../helpers/random.js';

const pairs = (b: Float64Array): Span[] => Array.from({ length: b.length / 2 }, (_, k) => ({ start: b[2 * k]!, end: b[2 * k + 1]! }));

test('mergeBounds gives what mergeSpans gives, sorted input or not', () => {
  const cases: { name: string; spans: Span[] }[] = [
    { name: 'empty', spans: [] },
    { name: 'one', spans: [{ start: 3, end: 9 }] },
    { name: 'touching and overlapping', spans: [{ start: 0, end: 4 }, { start: 4, end: 6 }, { start: 5, end: 9 }, { start: 20, end: 21 }] },
    { name: 'unsorted, empty ones', spans: [{ start: 50, end: 60 }, { start: 7, end: 7 }, { start: 10, end: 20 }, { start: 9, end: 4 }, { start: 15, end: 55 }] },
  ];
  const rng = new Rng(7);
  for (let r = 0; r < 20; r++) {
    const spans: Span[] = [];
    for (let k = 0; k < 200; k++) {
      const start = rng.int(5000);
      spans.push({ start, end: start + rng.int(40) });
    }
    cases.push({ name: `random ${r}`, spans: r % 2 === 0 ? spans : spans.sort((a, b) => a.start - b.start) });
  }
  for (const c of cases) assert.deepEqual(pairs(mergeBounds(spanBounds(c.spans))), mergeSpans(c.spans), c.name);
});

/** A fetcher over `image` that records the ranges of each request. */
function fetcherOf(image: Uint8Array, requests: Span[][]): RangeFetcher {
  return {
    fetchRange: async (start, end) => {
      requests.push([{ start, end }]);
      return image.slice(start, end);
    },
    fetchRanges: async (ranges) => {
      requests.push(ranges.map((r) => ({ start: r.start, end: r.end })));
      return ranges.map((r) => image.slice(r.start, r.end));
    },
  } as RangeFetcher;
}

test('a prefetch of thousands of ranges fetches each missing byte once, in groups, and caches the bytes', async () => {
  const rng = new Rng(11);
  const image = rng.bytes(1 << 20);
  const requests: Span[][] = [];
  const vt = new VirtualTarget(image.length, [{ start: 1000, end: 3000, source: -1, sourceOffset: 0, reason: 'zero' }], [], fetcherOf(image, requests));
  // Some bytes cached first (a read before the walk).
  await vt.readExact(500_000, 100);
  const ranges: Span[] = [];
  for (let k = 0; k < 3000; k++) {
    const start = rng.int(image.length - 200);
    ranges.push({ start, end: start + 1 + rng.int(150) });
  }
  ranges.push({ start: image.length - 10, end: image.length + 5 }); // past the end: not fetched
  await vt.prefetchBounds(spanBounds(ranges), 1);
  const asked = requests.slice(1).flat();
  const want = mergeSpans(ranges.filter((r) => r.end <= image.length));
  // Every wanted byte outside the zeros and the earlier read was asked for, once, in order.
  assert.deepEqual(mergeSpans(asked), asked, 'requests sorted and disjoint');
  for (const w of want) {
    const out = await vt.readExact(w.start, w.end - w.start);
    const expect = image.slice(w.start, w.end);
    for (let b = Math.max(w.start, 1000); b < Math.min(w.end, 3000); b++) expect[b - w.start] = 0;
    assert.deepEqual(out, expect);
  }
  assert.equal(requests.length - 1, Math.ceil(asked.length / 48), 'groups of 48 ranges, nothing fetched again');
  assert.ok(asked.every((a) => a.end <= 1000 || a.start >= 3000), 'local zeros are not fetched');
  // The planning check's comparison: equal where the cache holds the bytes, unequal after a flipped byte.
  const bounds = vt.cachedBounds();
  assert.ok(bounds.length >= 2);
  const s = bounds[2]!;
  const e = bounds[3]!;
  const truth = image.slice(s, e);
  assert.equal(vt.cachedEquals(s, truth), true);
  const mid = truth.length >> 1;
  truth[mid] = truth[mid]! ^ 1;
  assert.equal(vt.cachedEquals(s, truth), false);
});

test('planning bytes are released only once every piece they lie in is verified, and are never served as zeros after', async () => {
  const rng = new Rng(23);
  const pieceLength = 4096;
  const image = rng.bytes(16 * pieceLength);
  const requests: Span[][] = [];
  const vt = new VirtualTarget(image.length, [], [], fetcherOf(image, requests));
  // Two ranges: one inside piece 1, one across pieces 3 and 4.
  assert.deepEqual(Buffer.from(await vt.readExact(pieceLength + 10, 100)), Buffer.from(image.subarray(pieceLength + 10, pieceLength + 110)));
  assert.deepEqual(Buffer.from(await vt.readExact(4 * pieceLength - 50, 100)), Buffer.from(image.subarray(4 * pieceLength - 50, 4 * pieceLength + 50)));
  const have = new Array<boolean>(16).fill(false);
  have[1] = true;
  have[3] = true;
  assert.equal(vt.releaseVerified(have, pieceLength), 0, 'piece 4 is not verified: nothing is dropped');
  const out = new Uint8Array(100);
  vt.cacheBytes(out, pieceLength + 10, pieceLength + 110);
  assert.deepEqual(Buffer.from(out), Buffer.from(image.subarray(pieceLength + 10, pieceLength + 110)), 'still served');
  assert.ok(vt.cachedEquals(4 * pieceLength - 50, image.subarray(4 * pieceLength - 50, 4 * pieceLength + 50)));
  have[4] = true;
  assert.equal(vt.releaseVerified(have, pieceLength), 200);
  assert.equal(vt.cachedBounds().length, 0, 'no range is held');
  // A plan segment served from released bytes is an internal error, not a zero-filled piece.
  assert.throws(() => vt.cacheBytes(new Uint8Array(10), pieceLength + 20, pieceLength + 30), /released/);
  assert.throws(() => vt.cachedEquals(4 * pieceLength, image.subarray(4 * pieceLength, 4 * pieceLength + 10)), /released/);
  // Bytes never cached are still zeros (as before), and a read of the target fetches released bytes again.
  const zero = new Uint8Array(10).fill(7);
  vt.cacheBytes(zero, 8 * pieceLength, 8 * pieceLength + 10);
  assert.deepEqual([...zero], new Array(10).fill(7), 'nothing cached there: left as it was');
  const before = requests.length;
  assert.deepEqual(Buffer.from(await vt.readExact(pieceLength + 10, 100)), Buffer.from(image.subarray(pieceLength + 10, pieceLength + 110)));
  assert.equal(requests.length, before + 1, 'fetched again');
  assert.equal(vt.fetchedBytes, 300);
});

test('fetches are requests of at most 48 ranges and 2 MiB (a longer range split), and a read that one fetched range holds borrows its bytes', async () => {
  const rng = new Rng(31);
  const image = rng.bytes(12 << 20);
  const requests: Span[][] = [];
  const vt = new VirtualTarget(image.length, [], [], fetcherOf(image, requests));
  // A directory of 5 MiB and 200 small ones after it.
  const ranges: Span[] = [{ start: 4096, end: 4096 + (5 << 20) }];
  for (let k = 0; k < 200; k++) ranges.push({ start: (6 << 20) + k * 8192, end: (6 << 20) + k * 8192 + 2048 });
  await vt.prefetch(ranges);
  const asked = requests.flat();
  assert.deepEqual(mergeSpans(asked), mergeSpans(ranges), 'every byte asked for once');
  for (const r of requests) {
    assert.ok(r.length <= 48, `${r.length} ranges in one request`);
    assert.ok(r.reduce((n, s) => n + s.end - s.start, 0) <= 2 << 20, 'at most 2 MiB a request');
  }
  assert.equal(vt.fetchedBytes, (5 << 20) + 200 * 2048);
  const a = await vt.read((6 << 20) + 8192, 2048);
  const b = await vt.read((6 << 20) + 8192, 2048);
  assert.deepEqual(a, image.subarray((6 << 20) + 8192, (6 << 20) + 8192 + 2048));
  assert.equal(a.buffer, b.buffer, 'borrowed from the cache, not copied');
  // Spilled bytes (the 5 MiB directory is older than the newest 4 MiB) read back unchanged, and the plan's copy agrees.
  const out = new Uint8Array(4 << 20);
  vt.cacheBytes(out, 4096 + 1000, 4096 + 1000 + out.length);
  assert.deepEqual(out, image.subarray(4096 + 1000, 4096 + 1000 + out.length));
  assert.deepEqual(await vt.read(4096 + 4096, 2048), image.subarray(8192, 10240));
  // 2 + 2 MiB of the directory, its last MiB with 47 small ones, then 48, 48, 48 and 9: nothing fetched again.
  assert.equal(requests.length, 7);
});
