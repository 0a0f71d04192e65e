import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { CHANGED_BLOCK_SCHEDULE, DENSE_SPACING, PROBE_MIN_BYTES, SegmentProbe, TURN_MARGIN, WIDER_TURN_MARGINS } from '../../src/delta/probe.js';
import type { LocalSegment } from '../../src/delta/plan.js';

/** Deterministic bytes that look compressed. */
function noise(seed: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < n; k++) {
    const h = createHash('sha256').update(`${seed}:${k}`).digest();
    out.set(h.subarray(0, Math.min(32, n - i)), i);
    i += 32;
  }
  return out;
}

/** Runs every round of sampling of a segment [base, base + local.length) whose true bytes are `truth`. */
function probe(local: Uint8Array, truth: Uint8Array, base = 1000, margin = TURN_MARGIN, reason: LocalSegment['reason'] = 'nested-file') {
  const seg: LocalSegment = { start: base, end: base + local.length, source: 0, sourceOffset: 5000, reason };
  const p = new SegmentProbe(seg, reason !== 'changed-block');
  let sampled = 0;
  let samples = 0;
  let rounds = 0;
  for (let spans = p.next(); spans.length > 0; spans = p.next()) {
    rounds++;
    for (const s of spans) {
      assert.ok(s.start >= seg.start && s.end <= seg.end && s.end > s.start, 'samples stay inside the segment');
      sampled += s.end - s.start;
      samples++;
      p.record(s.start, local.subarray(s.start - base, s.end - base), truth.subarray(s.start - base, s.end - base));
    }
  }
  const out = p.outcome(margin);
  // Safety: every kept byte is right, and kept segments point at the same local bytes.
  for (const k of out.keep) {
    assert.equal(k.sourceOffset - seg.sourceOffset, k.start - seg.start);
    assert.deepEqual(local.subarray(k.start - base, k.end - base), truth.subarray(k.start - base, k.end - base), `kept ${k.start}-${k.end} is right`);
  }
  const kept = out.keep.reduce((n, k) => n + k.end - k.start, 0);
  return { ...out, kept, sampled, samples, rounds };
}

describe('probing a doubtful segment', () => {
  test('a changed compressed block keeps the old prefix after its rewritten header and fetches the rest', () => {
    const L = 60_000;
    const old = noise('old', L);
    for (const d of [3000, 20_000, 41_234, 59_000]) {
      // xz: the same stream header, some rewritten size bytes, then the same bytes up to the first change.
      const neu = old.slice();
      neu.set(noise('hdr', 17), 14);
      neu.set(noise(`tail${d}`, L - d), d);
      const r = probe(old, neu);
      assert.equal(r.allWrong, false);
      // What is fetched: the part after the change, the samples, and at most one refine spacing around the change.
      assert.ok(r.kept >= d - 2 * 16 * 64 - 600 - TURN_MARGIN, `d=${d}: kept ${r.kept}`);
      assert.ok(L - r.kept <= L - d + 2 * 16 * 64 + 600 + TURN_MARGIN, `d=${d}: dropped ${L - r.kept}`);
      assert.ok(r.rounds <= 2);
    }
  });

  test('a changed block guessed after its header: short samples, a few a round, find the turn to a 27th of the block', () => {
    const L = 64 * 1024;
    const old = noise('cb', L);
    const { perRound, rounds, bytes } = CHANGED_BLOCK_SCHEDULE;
    for (const d of [100, 5000, 33_333, 50_000, L - 300]) {
      // The guess starts after the rewritten header: the same bytes up to the first change, then others.
      const neu = old.slice();
      neu.set(noise(`cb${d}`, L - d), d);
      const r = probe(old, neu, 1000, TURN_MARGIN, 'changed-block');
      assert.ok(r.samples <= perRound * rounds && r.sampled <= perRound * rounds * bytes, `d=${d}: ${r.samples} samples, ${r.sampled} bytes`);
      assert.ok(r.rounds <= rounds);
      // Kept: the prefix but for the last gap before the turn (a third of a third of a third of the block) and the margin.
      assert.ok(r.kept >= d - L / 27 - TURN_MARGIN - perRound * rounds * bytes, `d=${d}: kept ${r.kept}`);
    }
  });

  test('bytes a range coder rewrote shortly before the change are not kept on the wider tries (WIDER_TURN_MARGINS)', () => {
    const L = 60_000;
    const old = noise('carry', L);
    const neu = old.slice();
    neu[40_000 - 700] = neu[40_000 - 700]! ^ 0xff;
    neu.set(noise('after', L - 40_000), 40_000);
    probe(old, neu, 1000, WIDER_TURN_MARGINS[0]); // probe() asserts every kept byte is right
    // The first try keeps more: a carry that far back fails the piece, which is then tried with the wider margins.
    assert.ok(TURN_MARGIN < 700 && WIDER_TURN_MARGINS.every((m, i) => m > (WIDER_TURN_MARGINS[i - 1] ?? TURN_MARGIN)));
  });

  test('a change every sample missed is found by the dense round, which keeps the rest of the segment', () => {
    // 200 KiB of mapped blocks; one 40 KiB block changed from its middle on without changing its length.
    const L = 200 * 1024;
    const old = noise('dense', L);
    const neu = old.slice();
    neu.set(noise('changed', 20_000), 90_000);
    const base = 1000;
    const seg: LocalSegment = { start: base, end: base + L, source: 0, sourceOffset: 0, reason: 'nested-file' };
    const p = new SegmentProbe(seg);
    const feed = (spans: { start: number; end: number }[]) => {
      for (const r of spans) p.record(r.start, old.subarray(r.start - base, r.end - base), neu.subarray(r.start - base, r.end - base));
    };
    for (let spans = p.next(); spans.length > 0; spans = p.next()) feed(spans);
    // The rounds' samples all fell outside the change: everything is kept (the piece would fail).
    assert.equal(p.outcome().allRight, true);
    const dense = p.dense();
    assert.ok(dense.length > 0 && dense.length <= L / DENSE_SPACING);
    feed(dense);
    assert.deepEqual(p.dense(), [], 'once');
    const out = p.outcome();
    assert.equal(out.allRight, false);
    for (const k of out.keep) assert.deepEqual(old.subarray(k.start - base, k.end - base), neu.subarray(k.start - base, k.end - base));
    const kept = out.keep.reduce((n, k) => n + k.end - k.start, 0);
    assert.ok(L - kept <= 20_000 + 2 * DENSE_SPACING + TURN_MARGIN + dense.length * 64, `dropped ${L - kept}`);
  });

  test('a segment too short to sample is dropped when asked (a changed block: its first bytes are a rewritten header)', () => {
    const seg: LocalSegment = { start: 0, end: 500, source: 0, sourceOffset: 0, reason: 'changed-block' };
    assert.deepEqual(new SegmentProbe(seg, false).outcome(), { keep: [], allWrong: false, allRight: false, droppedBytes: 500 });
    assert.deepEqual(new SegmentProbe(seg).outcome().keep, [seg]);
  });

  test('a file changed in place (a run longer than the sample spacing) keeps both sides of the changed run', () => {
    const L = 40_000;
    const old = noise('file', L);
    const neu = old.slice();
    neu.set(noise('edit', 5000), 19_000);
    const r = probe(old, neu);
    assert.ok(r.kept >= L - 5000 - 2 * 16 * 64 - 2 * 512 - TURN_MARGIN, `kept ${r.kept}`);
    assert.equal(r.allWrong, false);
  });

  test('a shifted guess differs everywhere: nothing is kept, it costs its samples only, and the mapping is wrong', () => {
    const L = 100_000;
    const truth = noise('t', L);
    const r = probe(noise('other', L), truth);
    assert.equal(r.kept, 0);
    assert.equal(r.allWrong, true);
    assert.equal(r.rounds, 1, 'no mixed gap, no second round');
    assert.ok(r.sampled <= 16 * 64);
  });

  test('an unchanged segment is kept whole but for its samples', () => {
    const b = noise('same', 30_000);
    const r = probe(b, b);
    assert.equal(r.kept + r.sampled, 30_000);
    assert.equal(r.rounds, 1);
  });

  test('chance agreement of a few bytes is not taken for a match', () => {
    const L = 20_000;
    const truth = noise('x', L);
    const local = noise('y', L);
    // Plant equal bytes at the edges of every first-round sample.
    for (let i = 0; i < L; i += 97) local[i] = truth[i]!;
    const r = probe(local, truth);
    assert.equal(r.kept, 0);
    assert.equal(r.allWrong, true);
  });

  test('a segment shorter than PROBE_MIN_BYTES is not sampled and is kept as it is', () => {
    const b = noise('s', PROBE_MIN_BYTES - 1);
    const r = probe(b, b);
    assert.equal(r.sampled, 0);
    assert.equal(r.rounds, 0);
    assert.equal(r.kept, b.length);
  });
});
