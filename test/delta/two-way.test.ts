import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchImages, scanRuns, BLOCK } from '../../src/delta/matcher.js';
import { indexSource } from '../../src/delta/source-index.js';
import { KnownRuns } from '../../src/delta/scan-window.js';
import { deltaPair } from '../helpers/delta-pairs.js';
import { matchBothWays } from '../../src/delta/two-way.js';
import { runSpans, type CopyRun } from '../../src/delta/runs.js';
import { spanBytes, subtractSpans, mergeSpans, type Span } from '../../src/core/span.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { Rng, concat } from '../helpers/random.js';

function assertRunsExact(target: Uint8Array, source: Uint8Array, runs: readonly CopyRun[], zeros: readonly Span[]): void {
  let prevEnd = 0;
  for (const r of runs) {
    assert.ok(r.target >= prevEnd, 'runs are sorted and disjoint');
    assert.ok(r.length >= BLOCK, 'no run under BLOCK bytes');
    assert.deepEqual(target.subarray(r.target, r.target + r.length), source.subarray(r.source, r.source + r.length));
    prevEnd = r.target + r.length;
  }
  for (const z of zeros) assert.ok(target.subarray(z.start, z.end).every((b) => b === 0), 'zero spans are zero');
}

const covered = (m: { runs: readonly CopyRun[]; zeros: readonly Span[] }) => mergeSpans([...runSpans(m.runs), ...m.zeros]);

/**
 * An older image whose content the newer holds once where the older holds it
 * twice (the second copy is left uncovered by the turned-around runs: only the
 * gap scan finds it), plus moves by odd offsets, edits and zeros.
 */
function pair(seed: number): { older: Uint8Array; newer: Uint8Array } {
  const rng = new Rng(seed);
  const a = rng.bytes(60_000);
  const b = rng.bytes(45_000);
  const c = rng.bytes(30_000);
  const older = concat(a, new Uint8Array(9000), b, a.subarray(10_000, 30_000), rng.bytes(4000), c);
  const newer = concat(rng.bytes(777), c.subarray(0, 20_000), rng.bytes(333), c.subarray(20_100), a, new Uint8Array(5000), b.subarray(1000));
  return { older, newer };
}

for (const seed of [1, 2, 3]) {
  test(`two-way match: 'from' is the matcher's, 'to' covers at least what a whole scan of the older image covers (seed ${seed})`, async () => {
    const { older, newer } = pair(seed);
    const both = await matchBothWays(new MemorySource(newer), new MemorySource(older));
    const from = await matchImages(new MemorySource(newer), new MemorySource(older));
    const to = await matchImages(new MemorySource(older), new MemorySource(newer));
    assert.deepEqual(both.from, from);
    assertRunsExact(older, newer, both.to.runs, both.to.zeros);
    const lost = subtractSpans(covered(to), covered(both.to));
    assert.equal(spanBytes(lost), 0, `bytes a whole scan covers and the two-way match does not: ${JSON.stringify(lost.slice(0, 5))}`);
    // The duplicated stretch of `a` (the older image's second copy) is covered by runs.
    const second = 60_000 + 9000 + 45_000;
    assert.equal(spanBytes(subtractSpans([{ start: second, end: second + 20_000 }], runSpans(both.to.runs))), 0);
  });
}

test('a scan through known runs finds exactly what it finds reading and comparing every byte', async () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const { older, newer } = deltaPair(seed, 40, 120_000);
    const from = await matchImages(new MemorySource(newer), new MemorySource(older));
    const turned = from.runs.map((r) => ({ target: r.source, source: r.target, length: r.length }));
    const index = await indexSource(new MemorySource(newer));
    // Regions that start and end inside the known runs, so runs are followed into and out of them.
    const regions = mergeSpans(subtractSpans([{ start: 0, end: older.length }], runSpans(turned)).map((g) => ({ start: Math.max(0, g.start - 3000), end: Math.min(older.length, g.end + 3000) })));
    const opts = { readBytes: 16 * 1024, scattered: true };
    const plain = await scanRuns(new MemorySource(older), new MemorySource(newer), index, regions, opts);
    const through = await scanRuns(new MemorySource(older), new MemorySource(newer), index, regions, { ...opts, known: turned });
    assert.deepEqual(through, plain, `seed ${seed}`);
  }
});

test('known runs: the end of the equality a target and source position are in, by offset', () => {
  const known = new KnownRuns([
    { target: 100, source: 1100, length: 50 },
    { target: 140, source: 5140, length: 100 },
    { target: 300, source: 1300, length: 10 },
  ]);
  assert.equal(known.endAt(100, 1100), 150);
  assert.equal(known.endAt(149, 1149), 150);
  assert.equal(known.endAt(150, 1150), 150, 'past the end: none');
  assert.equal(known.endAt(145, 5145), 240, 'the run at that offset, where two overlap in the target');
  assert.equal(known.endAt(145, 1146), 145, 'another offset: none');
  assert.equal(known.endAt(99, 1099), 99);
  assert.equal(known.endAt(305, 1305), 310);
});
