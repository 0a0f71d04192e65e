/**
 * Copy runs and spans: the vocabulary of the delta layer.
 *
 * A CopyRun says "target bytes [target, target+length) equal source bytes
 * [source, source+length)". A Span is a half-open byte range [start, end).
 * Everything here is pure arithmetic on sorted lists.
 */
import type { Span } from '../store/byte-source.js';

export type { Span };

export interface CopyRun {
  /** First target byte. */
  readonly target: number;
  /** First source byte. */
  readonly source: number;
  readonly length: number;
}

/**
 * Sorts runs by target, trims overlaps (the earlier run keeps its bytes) and
 * merges runs that continue each other in both target and source.
 */
export function normalizeRuns(runs: readonly CopyRun[]): CopyRun[] {
  const sorted = [...runs].filter((r) => r.length > 0).sort((a, b) => a.target - b.target || b.length - a.length);
  const out: CopyRun[] = [];
  let end = 0;
  for (const r of sorted) {
    let { target, source, length } = r;
    if (target < end) {
      const cut = end - target;
      if (cut >= length) continue;
      target += cut;
      source += cut;
      length -= cut;
    }
    const last = out[out.length - 1];
    if (last && last.target + last.length === target && last.source + last.length === source) {
      out[out.length - 1] = { target: last.target, source: last.source, length: last.length + length };
    } else {
      out.push({ target, source, length });
    }
    end = target + length;
  }
  return out;
}

/** Sorts and merges overlapping or touching spans. */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = [...spans].filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, s.end) };
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

/** `spans` minus `minus`; both sorted and merged. */
export function subtractSpans(spans: readonly Span[], minus: readonly Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  for (const s of spans) {
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

/** Total bytes covered by sorted, merged spans. */
export function spanBytes(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.end - s.start;
  return n;
}

/** Spans clipped to [start, end). With `sorted`, `spans` are sorted and disjoint and are binary-searched. */
export function clipSpans(spans: readonly Span[], start: number, end: number, sorted = false): Span[] {
  const out: Span[] = [];
  let first = 0;
  if (sorted) {
    let hi = spans.length;
    while (first < hi) {
      const mid = (first + hi) >> 1;
      if (spans[mid]!.end <= start) first = mid + 1;
      else hi = mid;
    }
  }
  for (let i = first; i < spans.length; i++) {
    const s = spans[i]!;
    if (sorted && s.start >= end) break;
    const a = Math.max(s.start, start);
    const b = Math.min(s.end, end);
    if (b > a) out.push({ start: a, end: b });
  }
  return out;
}

/** The target spans a list of runs covers. */
export function runSpans(runs: readonly CopyRun[]): Span[] {
  return mergeSpans(runs.map((r) => ({ start: r.target, end: r.target + r.length })));
}
