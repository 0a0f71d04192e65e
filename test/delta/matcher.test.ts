import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchImages, BLOCK } from '../../src/delta/matcher.js';
import { runSpans } from '../../src/delta/runs.js';
import { spanBytes, subtractSpans, mergeSpans } from '../../src/core/span.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { Rng, concat } from '../helpers/random.js';

function assertRunsExact(target: Uint8Array, source: Uint8Array, runs: { target: number; source: number; length: number }[]): void {
  let prevEnd = 0;
  for (const r of runs) {
    assert.ok(r.target >= prevEnd, 'runs are sorted and disjoint');
    assert.deepEqual(target.subarray(r.target, r.target + r.length), source.subarray(r.source, r.source + r.length));
    prevEnd = r.target + r.length;
  }
}

test('matcher finds everything but an insertion near the start', async () => {
  const rng = new Rng(1);
  const source = rng.bytes(1 << 20);
  const inserted = rng.bytes(3000);
  const target = concat(source.subarray(0, 100_000), inserted, source.subarray(100_000));
  const { runs } = await matchImages(new MemorySource(target), new MemorySource(source));
  assertRunsExact(target, source, runs);
  const missing = spanBytes(subtractSpans([{ start: 0, end: target.length }], runSpans(runs)));
  assert.equal(missing, 3000, 'only the inserted bytes are missing');
});

test('matcher finds files that moved to new places in any order', async () => {
  const rng = new Rng(2);
  const files = Array.from({ length: 20 }, (_, i) => rng.bytes(2048 * (1 + (i % 7)) + (i * 37) % 2048));
  const pad = (f: Uint8Array) => concat(f, new Uint8Array((2048 - (f.length % 2048)) % 2048));
  const source = concat(...files.map(pad));
  const order = [...files.keys()].reverse();
  const fresh = rng.bytes(5000);
  const target = concat(pad(fresh), ...order.map((i) => pad(files[i]!)));
  const { runs, zeros } = await matchImages(new MemorySource(target), new MemorySource(source));
  assertRunsExact(target, source, runs);
  const covered = mergeSpans([...runSpans(runs), ...zeros]);
  const missing = subtractSpans([{ start: 0, end: target.length }], covered);
  // Only the fresh file's bytes (and at most its padding's edge) are missing.
  assert.ok(spanBytes(missing) <= 5000 + BLOCK, `missing ${spanBytes(missing)}`);
  assert.ok(spanBytes(missing) >= 5000 - 2 * BLOCK);
});

test('matcher finds runs shared inside a changed file at byte offsets', async () => {
  const rng = new Rng(3);
  const old = rng.bytes(200_000);
  // New version: two small edits and a 7-byte insertion shift the rest by an odd amount.
  const neu = concat(old.subarray(0, 50_000), rng.bytes(700), old.subarray(50_700, 120_000), rng.bytes(7), old.subarray(120_000));
  const { runs } = await matchImages(new MemorySource(neu), new MemorySource(old));
  assertRunsExact(neu, old, runs);
  const missing = spanBytes(subtractSpans([{ start: 0, end: neu.length }], runSpans(runs)));
  assert.ok(missing <= 707 + 2 * BLOCK, `missing ${missing}`);
});

test('matcher reports zero spans and never indexes them as sources', async () => {
  const rng = new Rng(4);
  const source = concat(rng.bytes(10_000), new Uint8Array(10_000), rng.bytes(10_000));
  const target = concat(new Uint8Array(40_000), rng.bytes(3000));
  const { runs, zeros } = await matchImages(new MemorySource(target), new MemorySource(source));
  assert.equal(runs.length, 0);
  assert.deepEqual(zeros, [{ start: 0, end: 40_000 }]);
});

test('matcher runs are byte-exact on random mutations (property)', async () => {
  const rng = new Rng(5);
  for (let round = 0; round < 30; round++) {
    const source = rng.bytes(20_000 + rng.int(60_000));
    const parts: Uint8Array[] = [];
    let at = 0;
    while (at < source.length) {
      const len = 1 + rng.int(8000);
      const kind = rng.int(4);
      if (kind === 0) parts.push(rng.bytes(1 + rng.int(3000)));
      else if (kind === 1) parts.push(new Uint8Array(1 + rng.int(3000)));
      const from = rng.int(source.length);
      parts.push(kind === 3 ? source.subarray(from, Math.min(source.length, from + len)) : source.subarray(at, Math.min(source.length, at + len)));
      at += len;
    }
    const target = concat(...parts);
    const { runs, zeros } = await matchImages(new MemorySource(target), new MemorySource(source));
    assertRunsExact(target, source, runs);
    for (const z of zeros) assert.ok(target.subarray(z.start, z.end).every((b) => b === 0));
  }
});

test('matcher follows runs and zero spans across its read chunks (images over 8 MiB)', async () => {
  const rng = new Rng(9);
  const MIB = 1 << 20;
  const source = rng.bytes(12 * MIB);
  const inserted = rng.bytes(1000);
  // A moved half, 3 MiB of zeros across the 8 MiB read boundary, an insertion, the other half.
  const target = concat(source.subarray(6 * MIB), new Uint8Array(3 * MIB), inserted, source.subarray(0, 6 * MIB));
  const { runs, zeros } = await matchImages(new MemorySource(target), new MemorySource(source));
  assertRunsExact(target, source, runs);
  for (const z of zeros) assert.ok(target.subarray(z.start, z.end).every((b) => b === 0));
  const covered = mergeSpans([...runSpans(runs), ...zeros]);
  const missing = spanBytes(subtractSpans([{ start: 0, end: target.length }], covered));
  assert.equal(missing, 1000, 'only the inserted bytes are missing');
  const second = 9 * MIB + 1000;
  assert.ok(runs.some((r) => r.target <= second && r.target + r.length >= target.length && r.source === r.target - second), 'the second half is one run from source 0');
});
