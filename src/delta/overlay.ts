/**
 * The plan's overlay of layers, on typed columns: each later layer fills
 * only what earlier ones left. A live image's layers hold a segment or more
 * per nested file (the planning bytes, the nested mapping, free space); as
 * objects, each layer, its sorted copy, the cut parts and the merged spans
 * were all alive at once while a plan was built (54 MB at 64,000 EROFS
 * entries, the peak of the sync). Here a layer is read through its columns
 * (objects are copied into columns first, 29 bytes a segment), the order of
 * a layer that is not sorted is an index array, the bytes covered so far
 * are one array of [start, end) pairs, and the parts go straight into the
 * result's columns. Pure: no I/O.
 */
import { layerColumns, permutedTable, SegmentList, SegmentTable, type Layer, type SegmentColumns } from './segments.js';
import type { Span } from '../core/span.js';

const NONE = new Float64Array(0);

/** Growable [start, end) pairs. */
class Pairs {
  a = new Float64Array(64);
  n = 0;

  push(start: number, end: number): void {
    if (this.n + 2 > this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = start;
    this.a[this.n++] = end;
  }
}

/**
 * The union of two merged pair lists (each sorted, non-overlapping), merged: touching pairs joined, empty ones
 * gone (unionSpans on pairs).
 */
export function unionBounds(a: Float64Array, b: Float64Array, an = a.length, bn = b.length): Float64Array {
  const out = new Pairs();
  let i = 0;
  let j = 0;
  while (i < an || j < bn) {
    let s: number;
    let e: number;
    if (j >= bn || (i < an && a[i]! <= b[j]!)) {
      s = a[i]!;
      e = a[i + 1]!;
      i += 2;
    } else {
      s = b[j]!;
      e = b[j + 1]!;
      j += 2;
    }
    if (e <= s) continue;
    if (out.n > 0 && s <= out.a[out.n - 1]!) {
      if (e > out.a[out.n - 1]!) out.a[out.n - 1] = e;
    } else out.push(s, e);
  }
  return out.a.slice(0, out.n);
}

/** The parts of [0, length) that merged pairs `covered` leave, as spans (subtractSpans of the whole range). */
export function gapSpans(covered: Float64Array, length: number): Span[] {
  const out: Span[] = [];
  let at = 0;
  for (let k = 0; k < covered.length && at < length; k += 2) {
    if (covered[k]! > at) out.push({ start: at, end: Math.min(covered[k]!, length) });
    at = Math.max(at, covered[k + 1]!);
  }
  if (at < length) out.push({ start: at, end: length });
  return out;
}

/** The rows of `c` in the order a layer is swept: by start, stably; undefined when they already are. */
function startOrder(c: SegmentColumns): Uint32Array | undefined {
  const b = c.bounds;
  for (let i = 1; i < c.count; i++) {
    if (b[3 * i]! < b[3 * i - 3]!) {
      const order = new Uint32Array(c.count);
      for (let k = 0; k < c.count; k++) order[k] = k;
      return order.sort((x, y) => b[3 * x]! - b[3 * y]! || x - y);
    }
  }
  return undefined;
}

/**
 * Overlays layers: each later layer fills only what earlier ones (and the merged pairs `already`) left.
 * Returns a table of sorted, non-overlapping segments within [0, length).
 *
 * One sweep per layer (linear after sorting): a layer's segments in start order can only overlap each other
 * at their fronts (so "what this layer already holds" is the range up to the largest end so far), and the
 * pairs covered by earlier layers are walked with one forward pointer. Each layer's parts come out in start
 * order; the layers' runs are merged at the end.
 */
export function overlayTable(length: number, layers: readonly Layer[], already: Float64Array = NONE): SegmentTable {
  let covered = already;
  const out = new SegmentList(1024);
  const runs: number[] = [0];
  for (const layer of layers) {
    const c = layerColumns(layer);
    const b = c.bounds;
    const order = startOrder(c);
    const mine = new Pairs();
    let layerEnd = 0;
    let j = 0;
    for (let r = 0; r < c.count; r++) {
      const i = order ? order[r]! : r;
      const segStart = b[3 * i]!;
      const segEnd = b[3 * i + 1]!;
      if (segEnd <= segStart) continue;
      const start = Math.max(segStart, layerEnd, 0);
      const end = Math.min(segEnd, length);
      if (end > layerEnd) layerEnd = end;
      if (end <= start) continue;
      if (mine.n > 0 && mine.a[mine.n - 1]! >= segStart) mine.a[mine.n - 1] = Math.max(mine.a[mine.n - 1]!, end);
      else mine.push(Math.max(0, segStart), end);
      // The parts of [start, end) that no earlier layer covers.
      while (2 * j < covered.length && covered[2 * j + 1]! <= start) j++;
      let at = start;
      const source = c.sources[i]!;
      const offset = b[3 * i + 2]! - segStart;
      const reason = c.reasons[i]!;
      for (let k = j; at < end; k++) {
        if (2 * k >= covered.length || covered[2 * k]! >= end) {
          out.push(at, end, source, offset + at, reason);
          break;
        }
        if (covered[2 * k]! > at) out.push(at, covered[2 * k]!, source, offset + at, reason);
        at = Math.max(at, covered[2 * k + 1]!);
      }
    }
    covered = unionBounds(covered, mine.a, covered.length, mine.n);
    runs.push(out.length);
  }
  return mergeRuns(out, runs);
}

/** A table of `list`'s rows, whose runs [runs[k], runs[k + 1]) are each sorted by start (and all disjoint), in start order. */
function mergeRuns(list: SegmentList, runs: readonly number[]): SegmentTable {
  const live = runs.slice(0, -1).map((from, k) => ({ at: from, to: runs[k + 1]! })).filter((r) => r.to > r.at);
  if (live.length <= 1) return list.sortedTable(false);
  const c = list.columns();
  const n = c.count;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    let best = -1;
    for (let r = 0; r < live.length; r++) {
      const run = live[r]!;
      if (run.at < run.to && (best < 0 || c.bounds[3 * run.at]! < c.bounds[3 * live[best]!.at]!)) best = r;
    }
    order[k] = live[best]!.at++;
  }
  return permutedTable(c, order, n);
}
