import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attempts, Distrust, learnFrom, mappingKey, SAMPLED_AGREED, SAMPLED_MIXED, SAMPLED_NOT } from '../../src/delta/guess-policy.js';
import type { LocalSegment, Reason } from '../../src/delta/plan.js';

/** Shorthand: "reason start-end@source:offset". */
function seg(s: string): LocalSegment {
  const m = /^(\S+) (\d+)-(\d+)@(-?\d+):(\d+)$/.exec(s)!;
  return { reason: m[1] as Reason, start: Number(m[2]), end: Number(m[3]), source: Number(m[4]), sourceOffset: Number(m[5]) };
}
const show = (xs: readonly LocalSegment[]) => xs.map((x) => `${x.reason} ${x.start}-${x.end}`).sort();

describe('guess policy', () => {
  const piece = ['hint 0-100@0:0', 'nested-file 100-400@0:1100', 'moved-file 400-410@0:2400', 'same-offset 410-500@1:410', 'nested-file 500-520@0:3500'].map(seg);

  test('the first attempt keeps every trusted segment and drops nothing', () => {
    const a = attempts(piece, new Distrust());
    assert.equal(a[0]!.keep.length, 5);
    assert.deepEqual(a[0]!.dropped, []);
  });

  test('retries drop evidence in groups, least certain reason first, smallest first, cumulatively; exact hints are never dropped', () => {
    const a = attempts(piece, new Distrust());
    assert.deepEqual(a.slice(1).map((x) => show(x.dropped)), [
      ['nested-file 500-520', 'same-offset 410-500'],
      ['nested-file 100-400', 'nested-file 500-520', 'same-offset 410-500'],
      ['moved-file 400-410', 'nested-file 100-400', 'nested-file 500-520', 'same-offset 410-500'],
    ]);
    for (const x of a) assert.ok(x.keep.some((s) => s.reason === 'hint'));
  });

  test('after sampling, a segment no sample checked is dropped first, one whose samples all agreed last, whatever their reasons', () => {
    // A same-size file of 27 bytes changed in place (too short to sample) beside a same-offset area every sample agreed with.
    const segs = ['same-offset 0-32768@1:0', 'moved-file 40000-40027@0:90000', 'changed-block 50000-60000@0:70000'].map(seg);
    const said = (s: LocalSegment) => (s.reason === 'same-offset' ? SAMPLED_AGREED : s.reason === 'changed-block' ? SAMPLED_MIXED : SAMPLED_NOT);
    const a = attempts(segs, new Distrust(), 3, said);
    assert.deepEqual(a.slice(1).map((x) => show(x.dropped)), [['moved-file 40000-40027'], ['changed-block 50000-60000', 'moved-file 40000-40027'], ['changed-block 50000-60000', 'moved-file 40000-40027', 'same-offset 0-32768']]);
    // Groups end where the tier changes, whatever their count: the unchecked ones go first, alone.
    const many = [...segs, ...['changed-block 61000-62000@0:81000', 'changed-block 63000-64000@0:83000', 'changed-block 65000-66000@0:85000'].map(seg)];
    assert.deepEqual(show(attempts(many, new Distrust(), 1, said)[1]!.dropped), ['moved-file 40000-40027']);
    // Without what samples said, the reason decides.
    assert.deepEqual(show(attempts(segs, new Distrust(), 3)[1]!.dropped), ['same-offset 0-32768']);
  });

  test('a piece with exact segments only has one attempt (then it is fetched whole)', () => {
    assert.equal(attempts([seg('hint 0-10@0:0'), seg('resumed 10-20@2:10')], new Distrust()).length, 1);
  });

  test('a mapping that had to be dropped is not trusted in the next piece of the same file', () => {
    const d = new Distrust();
    const a = attempts(piece, d);
    // The piece verified on the second retry: the segments dropped then (not before) were wrong.
    const { wrong, wrongBytes } = learnFrom(a, 2, d);
    assert.deepEqual(show(wrong), ['nested-file 100-400']);
    assert.equal(wrongBytes, 300);
    // The next piece continues the same file (same source, same shift, from where it ended): fetched from the start.
    // Another file with the same shift (every file after an insertion has it) is still trusted.
    const next = [seg('nested-file 400-700@0:1400'), seg('nested-file 700-760@0:9000'), seg('nested-file 800-900@0:1800')];
    assert.equal(mappingKey(next[0]!), mappingKey(piece[1]!));
    const b = attempts(next, d);
    assert.deepEqual(show(b[0]!.dropped), ['nested-file 400-700']);
    assert.deepEqual(show(b[0]!.keep), ['nested-file 700-760', 'nested-file 800-900']);
    // Met again, the chain goes on into the piece after.
    d.learn(b[0]!.dropped);
    assert.equal(d.trusts(seg('nested-file 700-1000@0:1700')), false);
  });

  test('a piece that verified at once teaches nothing', () => {
    const d = new Distrust();
    assert.deepEqual(learnFrom(attempts(piece, d), 0, d), { wrong: [], wrongBytes: 0 });
    assert.equal(d.size, 0);
  });

  test('exact reasons are never distrusted', () => {
    const d = new Distrust();
    d.learn([seg('hint 0-10@0:0')]);
    assert.equal(d.size, 0);
  });
});
