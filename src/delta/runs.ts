/**
 * Copy runs: "target bytes [target, target+length) equal source bytes
 * [source, source+length)", the matcher's and the hints' vocabulary. Spans
 * and their operations are in core/span.ts. Pure arithmetic on sorted lists.
 */
import { mergeSpans, type Span } from '../core/span.js';

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

/**
 * Sorts runs by target and removes overlaps so that runs of at least
 * `minRun` bytes survive where they can: when a run starts inside the one
 * before it, the earlier run's tail is cut if what is left of it is still
 * `minRun` long (a refined end yields to the next run's start), else the
 * later run's head is cut. Runs shorter than `minRun` are dropped; then
 * normalizeRuns merges runs that continue each other.
 */
export function settleRuns(runs: readonly CopyRun[], minRun: number): CopyRun[] {
  const sorted = [...runs].sort((a, b) => a.target - b.target || b.length - a.length);
  const out: CopyRun[] = [];
  for (const r of sorted) {
    let cur: CopyRun = r;
    const last = out[out.length - 1];
    if (last && cur.target < last.target + last.length) {
      const lastEnd = last.target + last.length;
      if (cur.target + cur.length <= lastEnd) continue;
      if (cur.target - last.target >= minRun) out[out.length - 1] = { ...last, length: cur.target - last.target };
      else {
        const cut = lastEnd - cur.target;
        cur = { target: cur.target + cut, source: cur.source + cut, length: cur.length - cut };
      }
    }
    if (cur.length >= minRun) out.push(cur);
  }
  return normalizeRuns(out);
}

/** The target spans a list of runs covers. */
export function runSpans(runs: readonly CopyRun[]): Span[] {
  return mergeSpans(runs.map((r) => ({ start: r.target, end: r.target + r.length })));
}
