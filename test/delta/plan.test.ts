import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_BYTES, bridgedBytes, buildPlan, CHANGED_BLOCK_FETCH_SHARE, CHANGED_BLOCK_SAMPLE_BYTES, overlay, SegmentTable, segmentsIn, summarize, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { Rng } from '../helpers/random.js';

const seg = (start: number, end: number, source: number, sourceOffset: number, reason: LocalSegment['reason'] = 'hint'): LocalSegment => ({ start, end, source, sourceOffset, reason });

test('earlier layers win and later layers fill only the gaps, with source offsets shifted', () => {
  const out = overlay(100, [[seg(10, 30, 0, 1000)], [seg(0, 50, 1, 500, 'moved-file')]]);
  assert.deepEqual(out, [seg(0, 10, 1, 500, 'moved-file'), seg(10, 30, 0, 1000), seg(30, 50, 1, 530, 'moved-file')]);
});

test('segments of one layer never overlap each other', () => {
  const out = overlay(100, [[seg(0, 60, 0, 0), seg(40, 80, 1, 0)]]);
  assert.deepEqual(out, [seg(0, 60, 0, 0), seg(60, 80, 1, 20)]);
});

test('the plan fetches what neither exact bytes nor the first guess cover', () => {
  const plan = buildPlan({ length: 100, pieceLength: 32 }, [[seg(0, 40, 0, 0)]], [[seg(50, 70, ZERO_SOURCE, 0, 'zero')], [seg(40, 100, 1, 40, 'same-offset')]]);
  assert.deepEqual(plan.fetch, [{ start: 40, end: 50 }, { start: 70, end: 100 }]);
  assert.equal(plan.pieceCount, 4);
  // Guess layers never cover exact bytes.
  assert.ok(plan.guesses.every((g) => [...g].every((s) => s.start >= 40)));
  const s = summarize(plan);
  // The 20 local bytes between the two fetched ranges are shorter than BRIDGE_BYTES: a sync fetches them too.
  assert.equal(s.fetchBytes, 60);
  assert.equal(s.reusedBytes, 40);
  assert.deepEqual(s.byReason, { hint: 40, zero: 20 });
});

test('the plan counts local holes shorter than BRIDGE_BYTES between fetched ranges as fetched, longer ones as reused', () => {
  const plan = buildPlan({ length: 10_000, pieceLength: 4096 }, [[seg(100, 1000, 0, 100), seg(1100, 3000, 0, 1100)]]);
  assert.deepEqual(plan.fetch, [{ start: 0, end: 100 }, { start: 1000, end: 1100 }, { start: 3000, end: 10_000 }]);
  assert.equal(bridgedBytes(plan.fetch), 900, 'the 900-byte hole is bridged, the 1,900-byte one is not');
  assert.equal(bridgedBytes([{ start: 0, end: 10 }, { start: 500, end: 600 }, { start: 600 + BRIDGE_BYTES, end: 9000 }]), 490);
  assert.equal(summarize(plan).fetchBytes, 100 + 100 + 7000 + 900);
});

test('segments are clipped to the target length', () => {
  const out = overlay(50, [[seg(40, 80, 0, 0)]]);
  assert.deepEqual(out, [seg(40, 50, 0, 0)]);
});

test('overlay gives every byte to the first layer, then the first segment by start, that covers it (property, against a per-byte model)', () => {
  const rng = new Rng(11);
  for (let round = 0; round < 500; round++) {
    const length = 1 + rng.int(300);
    const layers = Array.from({ length: 1 + rng.int(4) }, () =>
      Array.from({ length: rng.int(10) }, () => {
        const start = rng.int(340) - 20;
        return seg(start, start + rng.int(80) - 5, rng.int(3), rng.int(1000));
      }),
    );
    const already = Array.from({ length: rng.int(3) }, () => {
      const start = rng.int(300);
      return { start, end: start + rng.int(60) };
    });
    // Model: owner of each byte as "source:sourceByte", or "" when no layer covers it (or `already` does).
    const want: string[] = new Array<string>(length).fill('');
    const taken = new Array<boolean>(length).fill(false);
    for (const a of already) for (let b = Math.max(0, a.start); b < Math.min(length, a.end); b++) taken[b] = true;
    for (const layer of layers) {
      const mine = new Array<boolean>(length).fill(false);
      for (const s of [...layer].sort((x, y) => x.start - y.start)) {
        for (let b = Math.max(0, s.start); b < Math.min(length, s.end); b++) {
          if (mine[b]) continue;
          mine[b] = true;
          if (!taken[b]) want[b] = `${s.source}:${s.sourceOffset + (b - s.start)}`;
        }
      }
      for (let b = 0; b < length; b++) if (mine[b]) taken[b] = true;
    }
    const got: string[] = new Array<string>(length).fill('');
    let prevEnd = 0;
    for (const s of overlay(length, layers, already)) {
      assert.ok(s.start >= prevEnd && s.end > s.start && s.end <= length, 'sorted, disjoint, non-empty, inside the target');
      prevEnd = s.end;
      for (let b = s.start; b < s.end; b++) got[b] = `${s.source}:${s.sourceOffset + (b - s.start)}`;
    }
    assert.deepEqual(got, want);
  }
});

test('a changed block across a piece boundary costs the samples of each piece it lies in', () => {
  const one = summarize(buildPlan({ length: 20_000, pieceLength: 8192 }, [], [[seg(100, 8000, 0, 100, 'changed-block')]]));
  const two = summarize(buildPlan({ length: 20_000, pieceLength: 8192 }, [], [[seg(4000, 11_900, 0, 4000, 'changed-block')]]));
  assert.equal(two.fetchBytes - one.fetchBytes, CHANGED_BLOCK_SAMPLE_BYTES);
});

test('measured changed blocks replace the prior share: the fetch is the spans plus what was measured', () => {
  const plan = buildPlan({ length: 20_000, pieceLength: 8192 }, [], [[seg(100, 8000, 0, 100, 'changed-block')]]);
  const prior = summarize(plan);
  const measured = summarize(plan, 1234);
  assert.equal(measured.fetchBytes, prior.fetchBytes - Math.round(CHANGED_BLOCK_FETCH_SHARE * 7900) - CHANGED_BLOCK_SAMPLE_BYTES + 1234);
  assert.deepEqual(measured.byReason, prior.byReason);
});

test('a plan keeps its segments in a table that gives back the same segments, searched and clipped like a list', () => {
  const reasons: LocalSegment['reason'][] = ['hint', 'same-file', 'moved-file', 'nested-file', 'changed-block', 'reencoded', 'loose-file', 'same-offset', 'zero', 'fetched', 'resumed', 'received'];
  // Offsets past 4 GiB and every reason, each at its own index.
  const segs = reasons.map((r, i) => seg(i * 2 ** 33, i * 2 ** 33 + 1000 + i, i - 2, 2 ** 40 + i, r));
  const table = SegmentTable.of(segs);
  assert.equal(table.length, segs.length);
  assert.deepEqual([...table], segs);
  assert.deepEqual(table.toArray(), segs);
  assert.deepEqual(table.filter((s) => s.reason === 'zero'), [segs[8]]);
  for (const [a, b] of [[0, 1], [500, 2 ** 33 + 10], [3 * 2 ** 33 + 1001, 5 * 2 ** 33], [2 ** 36, 2 ** 37]] as const) {
    assert.deepEqual(segmentsIn(table, a, b), segmentsIn(segs, a, b), `${a}-${b}`);
  }
  assert.deepEqual(segmentsIn(table, 2 ** 33 + 10, 2 ** 33 + 20), [seg(2 ** 33 + 10, 2 ** 33 + 20, -1, 2 ** 40 + 11, 'same-file')]);
  const plan = buildPlan({ length: 100, pieceLength: 32 }, [[seg(0, 40, 0, 0)]], [[seg(40, 100, 1, 40, 'same-offset')]]);
  assert.ok(plan.local instanceof SegmentTable);
  assert.deepEqual([...plan.local], [seg(0, 40, 0, 0)]);
  assert.deepEqual(plan.guesses.map((g) => [...g]), [[seg(40, 100, 1, 40, 'same-offset')]]);
});
