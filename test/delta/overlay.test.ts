import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, JoinedLayer, overlay, overlayTable, SegmentList, SegmentTable, type Layer, type LocalSegment } from '../../src/delta/plan.js';
import { firstEndingAfter } from '../../src/delta/bounds-search.js';
import { reasonCode } from '../../src/delta/segments.js';
import { gapSpans, unionBounds } from '../../src/delta/overlay.js';
import { mergeSpans, subtractSpans, unionSpans, type Span } from '../../src/core/span.js';
import { Rng } from '../helpers/random.js';

/** An integer in [lo, hi]. */
const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

const REASONS: LocalSegment['reason'][] = ['hint', 'nested-file', 'fetched', 'zero', 'changed-block', 'same-offset'];

/** The overlay of objects the plan was built with before its columns: the reference the columns must give again. */
function reference(length: number, layers: readonly (readonly LocalSegment[])[], already: readonly Span[] = []): LocalSegment[] {
  let covered: Span[] = mergeSpans(already);
  const out: LocalSegment[] = [];
  const cut = (s: LocalSegment, a: number, b: number): LocalSegment => ({ start: a, end: b, source: s.source, reason: s.reason, sourceOffset: s.sourceOffset + (a - s.start) });
  for (const layer of layers) {
    const sorted = layer.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
    const mine: Span[] = [];
    let layerEnd = 0;
    let j = 0;
    for (const seg of sorted) {
      const start = Math.max(seg.start, layerEnd, 0);
      const end = Math.min(seg.end, length);
      if (end > layerEnd) layerEnd = end;
      if (end <= start) continue;
      const last = mine[mine.length - 1];
      if (last && last.end >= seg.start) mine[mine.length - 1] = { start: last.start, end: Math.max(last.end, end) };
      else mine.push({ start: Math.max(0, seg.start), end });
      while (j < covered.length && covered[j]!.end <= start) j++;
      let at = start;
      for (let k = j; at < end; k++) {
        const c = covered[k];
        if (!c || c.start >= end) {
          out.push(cut(seg, at, end));
          break;
        }
        if (c.start > at) out.push(cut(seg, at, c.start));
        at = Math.max(at, c.end);
      }
    }
    covered = unionSpans(covered, mine);
  }
  return out.sort((a, b) => a.start - b.start);
}

/** A random layer: overlapping, unsorted, some empty or past the end, offsets beyond 2^32. */
function randomLayer(rng: Rng, length: number): LocalSegment[] {
  const n = between(rng, 0, 40);
  const out: LocalSegment[] = [];
  for (let i = 0; i < n; i++) {
    const start = between(rng, -20, length + 20);
    const end = start + between(rng, -3, 200);
    out.push({ start, end, source: between(rng, -2, 4), sourceOffset: 2 ** 33 + between(rng, 0, 1e6), reason: REASONS[between(rng, 0, REASONS.length - 1)]! });
  }
  if (between(rng, 0, 2) === 0) out.sort((a, b) => a.start - b.start);
  return out;
}

/** The same segments as one of each kind of layer: objects, a sorted table, a list in the given order, or parts joined. */
function asLayer(segs: LocalSegment[], kind: number): Layer {
  if (kind === 1 && segs.every((s, i) => i === 0 || (s.start >= segs[i - 1]!.end && s.end >= s.start))) return SegmentTable.of(segs);
  if (kind === 2) {
    const list = new SegmentList(1);
    for (const s of segs) list.push(s.start, s.end, s.source, s.sourceOffset, reasonCode(s.reason));
    return list;
  }
  if (kind === 3) return new JoinedLayer([segs.slice(0, 5), asLayer(segs.slice(5), 2) as SegmentList]);
  return segs;
}

test('the columnar overlay gives what the overlay of objects gave, for every kind of layer', () => {
  const rng = new Rng(7);
  let made = 0;
  for (let round = 0; round < 400; round++) {
    const length = between(rng, 0, 1500);
    const layers = Array.from({ length: between(rng, 0, 6) }, () => randomLayer(rng, length));
    const already = randomLayer(rng, length).map((s) => ({ start: s.start, end: s.end }));
    const want = reference(length, layers, already);
    made += want.length;
    const kinds = layers.map(() => between(rng, 0, 3));
    assert.deepEqual(overlay(length, layers.map((l, k) => asLayer(l, kinds[k]!)), already), want, `round ${round}`);
    assert.deepEqual(overlayTable(length, layers).toArray(), reference(length, layers), `round ${round}, no bytes already covered`);
  }
  assert.ok(made > 1000, `the rounds made ${made} segments`);
});

test('a plan built from layers of columns is the plan built from the same segments as objects', () => {
  const rng = new Rng(11);
  for (let round = 0; round < 100; round++) {
    const length = between(rng, 1, 3000);
    const exact = Array.from({ length: between(rng, 0, 5) }, () => randomLayer(rng, length));
    const guesses = Array.from({ length: between(rng, 0, 3) }, () => randomLayer(rng, length));
    const local = reference(length, exact);
    const localSpans = mergeSpans(local);
    const guessed = guesses.map((g) => reference(length, [g], localSpans)).filter((g) => g.length > 0);
    const fetch = subtractSpans([{ start: 0, end: length }], mergeSpans([...localSpans, ...(guessed[0] ?? [])]));
    const plan = buildPlan({ length, pieceLength: 64 }, exact.map((l) => asLayer(l, 2)), guesses.map((g) => asLayer(g, 3)));
    assert.deepEqual(plan.local.toArray(), local);
    assert.deepEqual(plan.guesses.map((g) => g.toArray()), guessed);
    assert.deepEqual(plan.fetch, fetch);
  }
});

test('a segment list joins a segment that continues the last one in target and source, and sorts into a table', () => {
  const list = new SegmentList(1);
  list.add(100, 200, 0, 5000, 'nested-file');
  list.add(200, 300, 0, 5100, 'nested-file'); // continues: joined
  list.add(300, 350, 0, 9000, 'nested-file'); // another source offset
  list.add(10, 20, 1, 0, 'nested-file');
  list.add(20, 20, 1, 10, 'nested-file'); // empty, but continues: nothing changes
  list.add(30, 30, 1, 0, 'nested-file'); // empty: dropped
  assert.equal(list.length, 3);
  assert.deepEqual(list.toArray(), [
    { start: 100, end: 300, source: 0, sourceOffset: 5000, reason: 'nested-file' },
    { start: 300, end: 350, source: 0, sourceOffset: 9000, reason: 'nested-file' },
    { start: 10, end: 20, source: 1, sourceOffset: 0, reason: 'nested-file' },
  ]);
  const table = list.sortedTable();
  assert.deepEqual(
    [...table].map((s) => s.start),
    [10, 100, 300],
  );
  assert.deepEqual(table.in(150, 310), [
    { start: 150, end: 300, source: 0, sourceOffset: 5050, reason: 'nested-file' },
    { start: 300, end: 310, source: 0, sourceOffset: 9000, reason: 'nested-file' },
  ]);
  assert.deepEqual([...table.spanBounds()], [10, 20, 100, 350]);
});

test('pairs: union joins touching pairs and drops empty ones; the gaps are what the pairs leave of the range', () => {
  assert.deepEqual([...unionBounds(Float64Array.of(0, 10, 20, 30), Float64Array.of(10, 15, 25, 25, 40, 50))], [0, 15, 20, 30, 40, 50]);
  assert.deepEqual(gapSpans(Float64Array.of(0, 15, 20, 30, 40, 50), 45), [{ start: 15, end: 20 }, { start: 30, end: 40 }]);
  assert.deepEqual(gapSpans(new Float64Array(0), 0), []);
});

test('one binary search serves rows of any stride: the first row ending after a position', () => {
  const pairs = Float64Array.of(0, 10, 10, 20, 30, 40);
  const triples = Float64Array.of(0, 10, 7, 10, 20, 7, 30, 40, 7);
  for (const [pos, want] of [[-1, 0], [0, 0], [9, 0], [10, 1], [25, 2], [39, 2], [40, 3]] as const) {
    assert.equal(firstEndingAfter(pairs, 2, 3, pos), want, `pairs at ${pos}`);
    assert.equal(firstEndingAfter(triples, 3, 3, pos), want, `triples at ${pos}`);
  }
  assert.equal(firstEndingAfter(pairs, 2, 2, 100), 2, 'only `count` rows are searched');
});

test('a joined layer of joined layers reads as all their parts, in order', () => {
  const s = (start: number): LocalSegment => ({ start, end: start + 1, source: 0, sourceOffset: start, reason: 'zero' });
  const inner = new JoinedLayer([[s(5)], SegmentTable.of([s(1)])]);
  const outer = new JoinedLayer([inner, [s(3)]]);
  assert.equal(outer.parts.length, 3);
  assert.equal(outer.length, 3);
  assert.deepEqual(overlay(10, [outer]), [s(1), s(3), s(5)]);
});
