/**
 * Free blocks of an image being laid out: sorted, disjoint, merged runs
 * below `end`, the first block past everything in use. Runs are in
 * logical blocks. Pure; every operation keeps the invariants (sorted,
 * disjoint, no two runs touching, none reaching `end`).
 */
import { IsosyncError } from '../errors.js';

/** A run of logical blocks [start, start + length). */
export interface Run {
  readonly start: number;
  readonly length: number;
}

export class FreeSpace {
  private runs: Run[] = [];

  /** `end`: the volume size so far; the caller marks what is free below it. */
  constructor(public end: number) {}

  /** An independent copy (to try a change and keep it only if it helps). */
  clone(): FreeSpace {
    const c = new FreeSpace(this.end);
    c.runs = this.runs.slice();
    return c;
  }

  /** Free runs, in block order (a copy). */
  list(): Run[] {
    return this.runs.slice();
  }

  /** Blocks free below `end`: the dead space if the image ended now. */
  total(): number {
    let n = 0;
    for (const r of this.runs) n += r.length;
    return n;
  }

  private index(start: number): number {
    let lo = 0, hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.runs[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Marks [start, start+length) free (it must be in use and below `end`), merging neighbours and trimming the end. */
  release(start: number, length: number): void {
    if (length <= 0) return;
    let s = start, e = start + length;
    let i = this.index(s);
    const prev = this.runs[i - 1];
    if (prev && prev.start + prev.length > s) throw new IsosyncError('INTERNAL', `Cannot free blocks ${s}+${length}: they are already free`);
    if (prev && prev.start + prev.length === s) {
      s = prev.start;
      i--;
      this.runs.splice(i, 1);
    }
    const next = this.runs[i];
    if (next && next.start < e) throw new IsosyncError('INTERNAL', `Cannot free blocks ${start}+${length}: they are already free`);
    if (next && next.start === e) {
      e = next.start + next.length;
      this.runs.splice(i, 1);
    }
    this.runs.splice(i, 0, { start: s, length: e - s });
    this.trim();
  }

  /** Whether [start, start+length) is entirely free. */
  isFree(start: number, length: number): boolean {
    const i = this.index(start + 1) - 1;
    const r = this.runs[i];
    return r !== undefined && r.start <= start && start + length <= r.start + r.length;
  }

  /** Takes [start, start+length), which must be free. */
  take(start: number, length: number): void {
    if (length <= 0) return;
    const i = this.index(start + 1) - 1;
    const r = this.runs[i];
    if (!r || r.start > start || start + length > r.start + r.length) throw new IsosyncError('INTERNAL', `Cannot take blocks ${start}+${length}: they are not free`);
    const parts: Run[] = [];
    if (start > r.start) parts.push({ start: r.start, length: start - r.start });
    const tail = r.start + r.length - (start + length);
    if (tail > 0) parts.push({ start: start + length, length: tail });
    // At most two parts: replace the run in place (no call spread).
    if (parts.length === 0) this.runs.splice(i, 1);
    else if (parts.length === 1) this.runs[i] = parts[0]!;
    else {
      this.runs[i] = parts[0]!;
      this.runs.splice(i + 1, 0, parts[1]!);
    }
  }

  /** Free runs clipped to [lo, hi). */
  private within(lo: number, hi: number): Run[] {
    const out: Run[] = [];
    for (const r of this.runs) {
      const s = Math.max(r.start, lo), e = Math.min(r.start + r.length, hi);
      if (r.start >= hi) break;
      if (e > s) out.push({ start: s, length: e - s });
    }
    return out;
  }

  /** The smallest free run of at least `length` blocks inside [lo, hi) (the lowest of equals), taken; undefined when none. */
  bestFit(length: number, hi = this.end, lo = 0): number | undefined {
    let best: Run | undefined;
    for (const r of this.within(lo, hi)) if (r.length >= length && (!best || r.length < best.length)) best = r;
    if (!best) return undefined;
    this.take(best.start, length);
    return best.start;
  }

  /** The free runs inside [lo, hi), lowest first, not taken. */
  runsWithin(lo: number, hi: number): Run[] {
    return this.within(lo, hi);
  }

  /** Takes `length` blocks at the end. */
  append(length: number): number {
    const at = this.end;
    this.end += length;
    return at;
  }

  /** Lowers `end` past free blocks that reach it. */
  private trim(): void {
    const last = this.runs[this.runs.length - 1];
    if (last && last.start + last.length >= this.end) {
      this.end = last.start;
      this.runs.pop();
    }
  }
}
