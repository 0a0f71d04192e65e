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

/** The target spans a list of runs covers. */
export function runSpans(runs: readonly CopyRun[]): Span[] {
  return mergeSpans(runs.map((r) => ({ start: r.target, end: r.target + r.length })));
}
