/**
 * Half-open byte ranges [start, end) and the one set of operations on them.
 *
 * Every layer speaks of bytes this way: the planner's local and fetched
 * bytes, a piece's missing ranges, the ranges of one HTTP request, what a
 * parser read. Lists given to these functions may carry extra fields (a
 * LocalSegment is a Span); results are plain Spans.
 *
 * "Sorted" below means sorted by start and disjoint; "merged" means sorted
 * with overlapping and touching spans joined. Pure arithmetic, no I/O.
 */
import { IsosyncError } from './errors.js';
import { giveBack } from './give-back.js';

/** A half-open byte range [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export function spanLength(s: Span): number {
  return s.end - s.start;
}

/**
 * Sorts and merges: overlapping and touching spans become one, empty ones
 * go. The only span merger: unionSpans below is the same merge step over
 * two lists already merged.
 */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const out: { start: number; end: number }[] = [];
  // Sorted already (the usual case): no copy to sort. Indexed loops: a for-of allocates an iterator result per
  // element in code V8 has not optimized, and assembly merges spans several times per piece.
  let sorted = spans;
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.start < spans[i - 1]!.start) {
      sorted = [...spans].sort((a, b) => a.start - b.start);
      break;
    }
  }
  for (let i = 0; i < sorted.length; i++) join(out, sorted[i]!);
  return out;
}

/**
 * The union of two merged span lists (each sorted and non-overlapping), as
 * mergeSpans would give it, in one linear pass: the planner grows its
 * covered bytes layer by layer this way, where sorting again each time cost
 * it several times more.
 */
export function unionSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: { start: number; end: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) join(out, j >= b.length || (i < a.length && a[i]!.start <= b[j]!.start) ? a[i++]! : b[j++]!);
  return out;
}

/** The merge step: `s` (starting at or after the last span's start) joins the last span when they overlap or touch; empty spans go. */
function join(out: { start: number; end: number }[], s: Span): void {
  if (s.end <= s.start) return;
  const last = out[out.length - 1];
  if (last && s.start <= last.end) {
    if (s.end > last.end) last.end = s.end;
  } else out.push({ start: s.start, end: s.end });
}

/**
 * mergeSpans for spans given as [start, end) pairs in one array (`bounds`): sorted, overlapping and
 * touching ones joined, empty ones gone, as pairs again. Already sorted (the usual case): one pass.
 */
export function mergeBounds(bounds: ArrayLike<number>): Float64Array {
  const n = bounds.length >> 1;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = bounds[2 * i]! >= bounds[2 * i - 2]!;
  const out = new Float64Array(2 * n);
  let m = 0;
  if (sorted) {
    for (let i = 0; i < n; i++) {
      const start = bounds[2 * i]!;
      const end = bounds[2 * i + 1]!;
      if (end <= start) continue;
      if (m > 0 && start <= out[m - 1]!) {
        if (end > out[m - 1]!) out[m - 1] = end;
      } else {
        out[m++] = start;
        out[m++] = end;
      }
    }
    return out.subarray(0, m);
  }
  // Unsorted: the starts and the ends sorted apart (numeric sorts of typed arrays, no comparator called per pair:
  // an EROFS walk's tens of thousands of spans sorted by a function took ~0.1 s of a cold run), then swept, a start
  // before an end at the same byte (touching spans join).
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const start = bounds[2 * i]!;
    const end = bounds[2 * i + 1]!;
    if (end <= start) continue;
    starts[k] = start;
    ends[k++] = end;
  }
  const s = starts.subarray(0, k).sort();
  const e = ends.subarray(0, k).sort();
  let open = 0;
  let from = 0;
  for (let i = 0, j = 0; j < k; ) {
    if (i < k && s[i]! <= e[j]!) {
      if (open++ === 0) from = s[i]!;
      i++;
    } else {
      if (--open === 0) {
        out[m++] = from;
        out[m++] = e[j]!;
      }
      j++;
    }
  }
  giveBack(starts);
  giveBack(ends);
  return out.subarray(0, m);
}

/** Spans as [start, end) pairs in one array. */
export function spanBounds(spans: readonly Span[]): Float64Array {
  const out = new Float64Array(2 * spans.length);
  spans.forEach((s, i) => {
    out[2 * i] = s.start;
    out[2 * i + 1] = s.end;
  });
  return out;
}

/** `spans` minus `minus`; both merged. */
export function subtractSpans(spans: readonly Span[], minus: readonly Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    let start = s.start;
    while (j < minus.length && minus[j]!.end <= start) j++;
    let k = j;
    while (start < s.end) {
      const m = minus[k];
      if (!m || m.start >= s.end) {
        out.push({ start, end: s.end });
        break;
      }
      if (m.start > start) out.push({ start, end: m.start });
      start = Math.max(start, m.end);
      k++;
    }
  }
  return out;
}

/** Total bytes of sorted spans. */
export function spanBytes(spans: readonly Span[]): number {
  let n = 0;
  for (let i = 0; i < spans.length; i++) n += spans[i]!.end - spans[i]!.start;
  return n;
}

/** Whether the merged `cover` covers every byte of `spans`. */
export function covers(cover: readonly Span[], spans: readonly Span[]): boolean {
  return subtractSpans(mergeSpans(spans), cover).length === 0;
}

/** Index of the first of sorted `spans` that ends after `pos` (binary search). */
export function firstEndingAfter(spans: readonly Span[], pos: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.end <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Spans clipped to [start, end). With `sorted`, `spans` are sorted and binary-searched. */
export function clipSpans(spans: readonly Span[], start: number, end: number, sorted = false): Span[] {
  const out: Span[] = [];
  for (let i = sorted ? firstEndingAfter(spans, start) : 0; i < spans.length; i++) {
    const s = spans[i]!;
    if (sorted && s.start >= end) break;
    const a = Math.max(s.start, start);
    const b = Math.min(s.end, end);
    if (b > a) out.push({ start: a, end: b });
  }
  return out;
}

/** Each span cut where it crosses a multiple of `unit` (piece boundaries): each part lies inside one unit. */
export function cutAt(spans: readonly Span[], unit: number): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    for (let a = s.start; a < s.end; ) {
      const b = Math.min(s.end, (Math.floor(a / unit) + 1) * unit);
      out.push({ start: a, end: b });
      a = b;
    }
  }
  return out;
}

/**
 * The bytes of `r` out of `joined` (merged spans, one of which covers r)
 * and their bytes `parts` (parts[i] holds joined[i]): a view, no copy.
 */
export function bytesOf(r: Span, joined: readonly Span[], parts: readonly Uint8Array[]): Uint8Array {
  const i = firstEndingAfter(joined, r.start);
  const j = joined[i];
  if (!j || j.start > r.start || j.end < r.end) throw new IsosyncError('INTERNAL', `Internal error: bytes ${r.start}-${r.end} are not inside one joined span`);
  return parts[i]!.subarray(r.start - j.start, r.end - j.start);
}

/** Spans closer than `gap` bytes joined, unless the hole between them is already in `have` (merged). */
export function bridgeSpans(spans: readonly Span[], gap: number, have: readonly Span[] = []): Span[] {
  const out: Span[] = [];
  for (const r of spans) {
    const last = out[out.length - 1];
    if (last && r.start - last.end < gap && clipSpans(have, last.end, r.start, true).length === 0) {
      out[out.length - 1] = { start: last.start, end: r.end };
    } else out.push({ start: r.start, end: r.end });
  }
  return out;
}
