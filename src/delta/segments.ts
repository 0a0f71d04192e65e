/**
 * Local segments (target span -> source offset) and the compact table a plan
 * keeps them in.
 *
 * A plan holds several segments per nested file for the whole sync (a live
 * image: hundreds of thousands). As objects each cost ~130 bytes (the object,
 * its offsets boxed as doubles, the array slot); a `SegmentTable` keeps them
 * in typed columns, 29 bytes each, and hands out a small `LocalSegment` view
 * when asked, never stored. Pure: no I/O.
 */
import { firstEndingAfter } from '../core/span.js';

/** Why a byte is local; the plan report counts bytes per reason. */
export type Reason =
  | 'hint' // publisher's delta hints
  | 'same-file' // a file at the same path, same size, same place
  | 'moved-file' // a file with the same path (or name) and size, at another place
  | 'nested-file' // stored blocks of a file inside a nested filesystem image (squashfs, EROFS, FAT), matched by path and block sizes
  | 'changed-block' // a changed stored block of a nested file, guessed from the old block at the same index (its unchanged prefix)
  | 'reencoded' // a changed lz4hc EROFS cluster compressed again from the old file's bytes, shifted past an edit (delta/reencoded-clusters.ts)
  | 'loose-file' // a file from --source DIR
  | 'same-offset' // the same offset in a source image (grown-in-place images, boot areas)
  | 'zero' // known or assumed zeros
  | 'fetched' // already fetched while planning (target metadata)
  | 'resumed' // verified in the .part by an earlier, interrupted run
  | 'received'; // received into the .part by an earlier run, its piece not verified yet (checked like any local byte)

/** Every reason, in the order of its code in a SegmentTable. */
const REASONS: readonly Reason[] = ['hint', 'same-file', 'moved-file', 'nested-file', 'changed-block', 'reencoded', 'loose-file', 'same-offset', 'zero', 'fetched', 'resumed', 'received'];
const REASON_CODE = new Map<Reason, number>(REASONS.map((r, i) => [r, i]));

/** Source index used for zeros (no source to read). */
export const ZERO_SOURCE = -1;
/** Source index used for bytes already held in the plan's metadata cache. */
export const CACHE_SOURCE = -2;

export interface LocalSegment {
  readonly start: number;
  readonly end: number;
  /** Index into the sync's source list, or ZERO_SOURCE / CACHE_SOURCE. */
  readonly source: number;
  /** Source byte that target byte `start` comes from. */
  readonly sourceOffset: number;
  readonly reason: Reason;
}

/** Segment part of `seg` inside [start, end). */
export function cut(seg: LocalSegment, start: number, end: number): LocalSegment {
  const a = Math.max(seg.start, start);
  const b = Math.min(seg.end, end);
  return { start: a, end: b, source: seg.source, reason: seg.reason, sourceOffset: seg.sourceOffset + (a - seg.start) };
}

/**
 * Sorted, non-overlapping local segments in typed columns (start, end and
 * source offset as doubles, the source as an int, the reason as a byte).
 * Iterating, `at` and `in` make plain LocalSegment objects on demand.
 */
export class SegmentTable implements Iterable<LocalSegment> {
  static readonly EMPTY = SegmentTable.of([]);

  private constructor(
    /** start, end, sourceOffset per segment. */
    private readonly bounds: Float64Array,
    private readonly sources: Int32Array,
    private readonly reasons: Uint8Array,
  ) {}

  /** `segs` sorted by start and non-overlapping. */
  static of(segs: readonly LocalSegment[]): SegmentTable {
    const n = segs.length;
    const bounds = new Float64Array(3 * n);
    const sources = new Int32Array(n);
    const reasons = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = segs[i]!;
      bounds[3 * i] = s.start;
      bounds[3 * i + 1] = s.end;
      bounds[3 * i + 2] = s.sourceOffset;
      sources[i] = s.source;
      reasons[i] = REASON_CODE.get(s.reason)!;
    }
    return new SegmentTable(bounds, sources, reasons);
  }

  get length(): number {
    return this.sources.length;
  }

  /** Segment i, as a new object. */
  at(i: number): LocalSegment {
    const b = this.bounds;
    return { start: b[3 * i]!, end: b[3 * i + 1]!, source: this.sources[i]!, sourceOffset: b[3 * i + 2]!, reason: REASONS[this.reasons[i]!]! };
  }

  start(i: number): number {
    return this.bounds[3 * i]!;
  }

  end(i: number): number {
    return this.bounds[3 * i + 1]!;
  }

  reason(i: number): Reason {
    return REASONS[this.reasons[i]!]!;
  }

  /** Index of the first segment that ends after `pos` (binary search). */
  firstEndingAfter(pos: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[3 * mid + 1]! <= pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The segments that intersect [start, end), clipped to it. */
  in(start: number, end: number): LocalSegment[] {
    const out: LocalSegment[] = [];
    const b = this.bounds;
    // One object per segment, clipped as it is made (no whole view to cut).
    for (let i = this.firstEndingAfter(start); i < this.length && b[3 * i]! < end; i++) {
      const a = Math.max(b[3 * i]!, start);
      out.push({ start: a, end: Math.min(b[3 * i + 1]!, end), source: this.sources[i]!, reason: REASONS[this.reasons[i]!]!, sourceOffset: b[3 * i + 2]! + (a - b[3 * i]!) });
    }
    return out;
  }

  /** Every segment, as objects (for code that works on a short-lived list). */
  toArray(): LocalSegment[] {
    const out = new Array<LocalSegment>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.at(i);
    return out;
  }

  /** The segments `keep` accepts, as objects. */
  filter(keep: (s: LocalSegment) => boolean): LocalSegment[] {
    const out: LocalSegment[] = [];
    for (let i = 0; i < this.length; i++) {
      const s = this.at(i);
      if (keep(s)) out.push(s);
    }
    return out;
  }

  *[Symbol.iterator](): Iterator<LocalSegment> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

/** A list of segments: plain objects, or a plan's table. */
export type Segments = readonly LocalSegment[] | SegmentTable;

/** `segs` as an array of objects (a table's made on demand). */
export function segmentArray(segs: Segments): readonly LocalSegment[] {
  return segs instanceof SegmentTable ? segs.toArray() : segs;
}

/** Segments of a sorted list that intersect [start, end), clipped to it. */
export function segmentsIn(segs: Segments, start: number, end: number): LocalSegment[] {
  if (segs instanceof SegmentTable) return segs.in(start, end);
  const out: LocalSegment[] = [];
  for (let i = firstEndingAfter(segs, start); i < segs.length && segs[i]!.start < end; i++) out.push(cut(segs[i]!, start, end));
  return out;
}
