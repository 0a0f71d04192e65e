import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { BISECT, CHANGED_BLOCK_SCHEDULE, DENSE_SPACING, lzma2ChunkHeaders, PROBE_MIN_BYTES, xzHeaders, REFINE_SPACING, SegmentProbe, streamStarts, TURN_MARGIN, WIDER_TURN_MARGINS } from '../../src/delta/probe.js';
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
function probe(local: Uint8Array, truth: Uint8Array, base = 1000, margin = TURN_MARGIN, reason: LocalSegment['reason'] = 'nested-file', cut = true, structure = false) {
  const seg: LocalSegment = { start: base, end: base + local.length, source: 0, sourceOffset: 5000, reason };
  const p = new SegmentProbe(seg, reason !== 'changed-block', cut);
  let sampled = 0;
  let samples = 0;
  let rounds = 0;
  // `structure`: the sampler sees the local bytes (their xz streams).
  for (let spans = p.next(structure ? local : undefined); spans.length > 0; spans = p.next(structure ? local : undefined)) {
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
      assert.ok(r.rounds <= BISECT.rounds);
    }
  });

  test('a changed block guessed after its header: short samples, one a round, halve the gap that holds the turn', () => {
    const L = 64 * 1024;
    const old = noise('cb', L);
    const { rounds, bytes } = CHANGED_BLOCK_SCHEDULE;
    for (const cut of [true, false]) {
      for (const d of [100, 5000, 33_333, 50_000, L - 300]) {
        // The guess starts after the rewritten header: the same bytes up to the first change, then others.
        const neu = old.slice();
        neu.set(noise(`cb${d}`, L - d), d);
        const r = probe(old, neu, 1000, TURN_MARGIN, 'changed-block', cut);
        // The start (and the end only where the piece cut the segment), then one sample a round.
        const most = (cut ? 2 : 1) + rounds - 1;
        assert.ok(r.samples <= most && r.sampled <= most * bytes, `cut=${cut} d=${d}: ${r.samples} samples, ${r.sampled} bytes`);
        assert.ok(r.rounds <= rounds);
        // Kept: the prefix but for the last gap before the turn (under two REFINE_SPACINGs) and the margin.
        assert.ok(r.kept >= d - 2 * REFINE_SPACING - TURN_MARGIN - most * bytes, `cut=${cut} d=${d}: kept ${r.kept}`);
      }
    }
  });

  test('a changed block whose end is not cut by the piece is taken to differ there: its end is not sampled', () => {
    const L = 64 * 1024;
    const old = noise('end', L);
    const first = (cut: boolean) => new SegmentProbe({ start: 0, end: L, source: 0, sourceOffset: 0, reason: 'changed-block' }, false, cut).next();
    assert.deepEqual(first(false), [{ start: 0, end: CHANGED_BLOCK_SCHEDULE.bytes }]);
    assert.deepEqual(first(true), [{ start: 0, end: CHANGED_BLOCK_SCHEDULE.bytes }, { start: L - CHANGED_BLOCK_SCHEDULE.bytes, end: L }]);
    // Cut at the piece's end, a block that agrees throughout this piece is kept whole but for its samples.
    const r = probe(old, old, 0, TURN_MARGIN, 'changed-block', true);
    assert.equal(r.kept + r.sampled, L);
    // A start that differs: nothing kept, the mapping is wrong (its next piece's part is not trusted either).
    const wrong = probe(old, noise('other', L), 0, TURN_MARGIN, 'changed-block', false);
    assert.equal(wrong.kept, 0);
    assert.equal(wrong.allWrong, true);
    assert.equal(wrong.samples, 1);
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

  test("a changed xz block's later LZMA2 chunk header, rewritten before the turn, is not kept; noise seldom looks like one", () => {
    // The old block after its header: a first chunk's data, then a second chunk (control 0x80, sizes, the range
    // coder's 0) that runs to the old block's end; the new block has the same first chunk but a new second chunk
    // size, and turns 1,000 bytes into the second chunk.
    const L = 64_000;
    const h = 61_000;
    const old = noise('xz', L);
    old.set([0x80, 0x1a, 0xa6, (L - 40 - h - 5 - 1) >> 8, (L - 40 - h - 5 - 1) & 0xff, 0x00], h);
    assert.deepEqual(lzma2ChunkHeaders(old), [{ start: h, end: h + 5 }]);
    const neu = old.slice();
    neu[h + 4] = neu[h + 4]! ^ 0x30;
    neu.set(noise('xz-new', L - h - 1000), h + 1000);
    const seg: LocalSegment = { start: 0, end: L, source: 0, sourceOffset: 0, reason: 'changed-block' };
    const p = new SegmentProbe(seg, false, false);
    for (let spans = p.next(old); spans.length > 0; spans = p.next(old)) for (const r of spans) p.record(r.start, old.subarray(r.start, r.end), neu.subarray(r.start, r.end));
    const keep = p.outcome().keep;
    for (const k of keep) assert.deepEqual(old.subarray(k.start, k.end), neu.subarray(k.start, k.end), `kept ${k.start}-${k.end} is right`);
    assert.ok(keep.reduce((n, k) => n + k.end - k.start, 0) >= h + 1000 - 2 * REFINE_SPACING - TURN_MARGIN - 5 - (BISECT.rounds + 1) * BISECT.bytes, 'the rest of the prefix is kept');
    // Noise: some one false find in eight blocks (each costs a 5-byte fetch when it lies before the turn).
    let found = 0;
    for (let k = 0; k < 64; k++) found += lzma2ChunkHeaders(noise(`n${k}`, L)).length;
    assert.ok(found <= 24, `${found} false finds in 64 blocks`);
  });

  test('LZMA2 chunk headers are those a check of every position finds: chained, at the first and the last place, in noise', () => {
    // The rule, position by position: control 0x80 or 0x81, the range coder's 0 five bytes on, a chunk that ends
    // near the block's end or at another such header.
    const reference = (b: Uint8Array): { start: number; end: number }[] => {
      const ends = new Map<number, number>();
      for (let i = 0; i + 5 < b.length; i++) if ((b[i] === 0x80 || b[i] === 0x81) && b[i + 5] === 0) ends.set(i, i + 5 + ((b[i + 3]! << 8) | b[i + 4]!) + 1);
      const found = new Set<number>();
      for (const [i, e] of ends) if (e >= b.length - 64 && e <= b.length + 64 + 4096) found.add(i);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [i, e] of ends) if (!found.has(i) && found.has(e)) grew = found.add(i).size > 0;
      }
      return [...found].sort((x, y) => x - y).map((i) => ({ start: i, end: i + 5 }));
    };
    const header = (b: Uint8Array, at: number, ctrl: number, end: number) => b.set([ctrl, 0x12, 0x34, (end - at - 6) >> 8, (end - at - 6) & 0xff, 0], at);
    let seen = 0;
    for (let k = 0; k < 24; k++) {
      const L = 2_000 + k * 997;
      const b = noise(`chunks${k}`, L);
      // A chain of three chunks to the end, the first at 0 (k even) and the last one's zero the block's last byte (k % 3 = 0).
      const last = k % 3 === 0 ? L - 6 : L - 300;
      const mid = Math.floor(last / 2);
      const first = k % 2 === 0 ? 0 : 17;
      header(b, last, 0x80 + (k & 1), L);
      header(b, mid, 0x81, last);
      header(b, first, 0x80, mid);
      const got = lzma2ChunkHeaders(b);
      assert.deepEqual(got, reference(b), `block ${k}`);
      seen += got.length;
    }
    assert.ok(seen >= 72, `${seen} headers found of the 72 planted`);
  });

  test("a changed xz block guessed from its start: its headers' sizes are not kept, and are fetched with the first sample", () => {
    // Stream header (magic, flags, CRC), a 16-byte block header (size byte 3), a first LZMA2 chunk header with properties.
    const L = 64_000;
    const old = noise('xzh', L);
    old.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01], 0);
    old[12] = 3;
    old[28] = 0xe1;
    assert.equal(xzHeaders(old), 34);
    assert.equal(xzHeaders(noise('plain', L)), 0);
    const neu = old.slice();
    neu.set(noise('sizes', 18), 14); // the sizes and CRCs of the block and chunk headers
    neu.set(noise('xzh-new', L - 30_000), 30_000);
    const p = new SegmentProbe({ start: 0, end: L, source: 0, sourceOffset: 0, reason: 'changed-block' }, false, false);
    assert.deepEqual(p.next(old), [{ start: 12, end: 34 + CHANGED_BLOCK_SCHEDULE.bytes }], 'one range: the headers and the data after them');
    p.record(12, old.subarray(12, 50), neu.subarray(12, 50));
    for (let spans = p.next(old); spans.length > 0; spans = p.next(old)) for (const r of spans) p.record(r.start, old.subarray(r.start, r.end), neu.subarray(r.start, r.end));
    const keep = p.outcome().keep;
    for (const k of keep) assert.deepEqual(old.subarray(k.start, k.end), neu.subarray(k.start, k.end), `kept ${k.start}-${k.end} is right`);
    assert.ok(keep[0]!.start === 0 && keep[0]!.end === 12, 'the stream header is kept');
    assert.ok(Math.abs(p.turn() - 30_000) <= 2 * REFINE_SPACING);
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

  test('a cluster changed in place before the turn: the dense round finds it, the rounds after it halve both of its boundaries', () => {
    // A file of an uncompressed image guessed from the old file at the same offset (a changed block): a 4 KiB run
    // rewritten in place at 31,000, then the rest differs from 58,000 on (bytes inserted); 118 KiB in all.
    const L = 118 * 1024;
    const old = noise('fat', L);
    const neu = old.slice();
    neu.set(noise('cluster', 4096), 31_000);
    neu.set(noise('shifted', L - 58_000), 58_000);
    const base = 7000;
    const seg: LocalSegment = { start: base, end: base + L, source: 0, sourceOffset: base, reason: 'changed-block' };
    const p = new SegmentProbe(seg, false, false);
    const feed = (spans: { start: number; end: number }[]) => {
      for (const r of spans) p.record(r.start, old.subarray(r.start - base, r.end - base), neu.subarray(r.start - base, r.end - base));
    };
    let samples = 0;
    for (let spans = p.next(); spans.length > 0; spans = p.next()) (samples += spans.length), feed(spans);
    // One turn: the halving finds the later one and keeps the rewritten cluster (the piece would fail).
    const before = p.outcome();
    assert.ok(before.keep.some((k) => k.start - base < 31_000 + 4096 && k.end - base > 31_000), 'the rounds do not see the cluster');
    const dense = p.dense();
    assert.ok(dense.every((d) => d.end - d.start === BISECT.bytes));
    feed(dense);
    samples += dense.length;
    for (let spans = p.next(); spans.length > 0; spans = p.next()) (samples += spans.length), feed(spans);
    const out = p.outcome();
    for (const k of out.keep) assert.deepEqual(old.subarray(k.start - base, k.end - base), neu.subarray(k.start - base, k.end - base), `kept ${k.start}-${k.end} is right`);
    const kept = out.keep.reduce((n, k) => n + k.end - k.start, 0);
    // Dropped: the cluster and the rest from the turn, each to within two REFINE_SPACINGs on either side.
    assert.ok(L - kept <= 4096 + (L - 58_000) + 8 * REFINE_SPACING, `dropped ${L - kept}`);
    assert.ok(samples <= 40, `${samples} samples`);
  });

  test('a nested file of xz blocks: sampled at its ends and across its blocks only; a block changed in place, its sizes too, keeps its prefix', () => {
    // Three xz streams of 20,000 bytes: stream header (12), block header (12), LZMA2 chunk header (6), data.
    const stream = (seed: string) => {
      const b = noise(seed, 20_000);
      b.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4, 0, 0, 0, 0, 2], 0);
      b[24] = 0xe0;
      return b;
    };
    const old = new Uint8Array(60_000);
    for (const k of [0, 1, 2]) old.set(stream(`xz${k}`), k * 20_000);
    assert.equal(xzHeaders(old), 30);
    const neu = old.slice();
    neu.set(noise('sizes', 8), 20_000 + 16); // the middle block's sizes
    neu.set(noise('changed', 10_000), 30_000); // and its data from the middle on
    const r = probe(old, neu, 1000, TURN_MARGIN, 'nested-file', true, true);
    // Ends (2) and two boundaries, then one sample a round halving the middle block's turn.
    assert.ok(r.samples <= 4 + BISECT.rounds, `${r.samples} samples`);
    assert.ok(r.keep.every((k) => k.end <= 1000 + 20_000 + 12 || k.start >= 1000 + 20_000 + 30), 'the changed sizes are not kept');
    assert.ok(60_000 - r.kept <= 10_000 + 30 + 2 * REFINE_SPACING + 200, `dropped ${60_000 - r.kept}`);
    // Unchanged: kept but for its samples, four of them (evenly spaced ones would be eight).
    const same = probe(old, old, 1000, TURN_MARGIN, 'nested-file', true, true);
    assert.equal(same.samples, 4);
    assert.equal(same.allRight, true);
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

  test('the turn a sampler found: in the gap between the last agreeing and the first differing sample', () => {
    const L = 64 * 1024;
    const old = noise('turn', L);
    for (const d of [0, 700, 30_000, L - 600]) {
      const neu = old.slice();
      neu.set(noise(`t${d}`, L - d), d);
      const seg: LocalSegment = { start: 0, end: L, source: 0, sourceOffset: 0, reason: 'changed-block' };
      const p = new SegmentProbe(seg, false, false);
      for (let spans = p.next(); spans.length > 0; spans = p.next()) for (const r of spans) p.record(r.start, old.subarray(r.start, r.end), neu.subarray(r.start, r.end));
      assert.ok(Math.abs(p.turn() - d) <= 2 * REFINE_SPACING, `d=${d}: turn ${p.turn()}`);
    }
    const same = new SegmentProbe({ start: 0, end: L, source: 0, sourceOffset: 0, reason: 'nested-file' });
    for (const r of same.next(old)) same.record(r.start, old.subarray(r.start, r.end), old.subarray(r.start, r.end));
    assert.equal(same.turn(), L, 'nothing differed');
  });
});

test('streamStarts: every xz and zstd magic after the first byte, in order, in a view of a larger buffer too; none cut by the end', () => {
  const xz = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  const zstd = [0x28, 0xb5, 0x2f, 0xfd];
  const bytes = noise('starts', 200_000);
  for (const at of [0, 5_000, 70_001, 150_000]) bytes.set(xz, at);
  for (const at of [9_999, 120_000]) bytes.set(zstd, at);
  // Overlapping magics: zstd's ends in 0xfd, where an xz magic starts.
  bytes.set([...zstd.slice(0, 3), ...xz], 180_000);
  // A magic cut by the end is no start.
  bytes.set(xz.slice(0, 4), bytes.length - 4);
  // What comparing every position gives.
  const slow = (b: Uint8Array) => {
    const out: number[] = [];
    for (let i = 1; i < b.length; i++) if ([xz, zstd].some((m) => m.every((x, k) => b[i + k] === x))) out.push(i);
    return out;
  };
  const want = slow(bytes);
  assert.deepEqual(streamStarts(bytes), want);
  assert.ok([5_000, 9_999, 70_001, 120_000, 150_000, 180_000, 180_003].every((x) => want.includes(x)), JSON.stringify(want));
  const inner = bytes.subarray(60_000, 190_000);
  assert.deepEqual(streamStarts(inner), slow(inner));
  assert.deepEqual(streamStarts(new Uint8Array(0)), []);
});
