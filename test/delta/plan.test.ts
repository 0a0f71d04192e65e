import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, overlay, summarize, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';

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
  assert.ok(plan.guesses.every((g) => g.every((s) => s.start >= 40)));
  const s = summarize(plan);
  assert.equal(s.fetchBytes, 40);
  assert.equal(s.reusedBytes, 60);
  assert.deepEqual(s.byReason, { hint: 40, zero: 20 });
});

test('segments are clipped to the target length', () => {
  const out = overlay(50, [[seg(40, 80, 0, 0)]]);
  assert.deepEqual(out, [seg(40, 50, 0, 0)]);
});
