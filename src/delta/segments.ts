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
import { firstEndingAfter as firstRowEndingAfter } from './bounds-search.js';

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

/** A reason's code in the tables' reason column. */
export const reasonCode = (r: Reason): number => REASON_CODE.get(r)!;

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

/** Segments as rows of typed columns: start, end and source offset (doubles, 3 a row), source (int), reason (a byte). */
export interface SegmentColumns {
  readonly bounds: Float64Array;
  readonly sources: Int32Array;
  readonly reasons: Uint8Array;
  readonly count: number;
}

/** Reads of a segment row, shared by the sorted table and the list being built. */
abstract class Rows implements Iterable<LocalSegment> {
  protected abstract readonly c: SegmentColumns;

  get length(): number {
    return this.c.count;
  }

  /** The rows as columns (read only: overlay reads a layer through them). */
  columns(): SegmentColumns {
    return this.c;
  }

  /** Segment i, as a new object. */
  at(i: number): LocalSegment {
    const b = this.c.bounds;
    return { start: b[3 * i]!, end: b[3 * i + 1]!, source: this.c.sources[i]!, sourceOffset: b[3 * i + 2]!, reason: REASONS[this.c.reasons[i]!]! };
  }

  start(i: number): number {
    return this.c.bounds[3 * i]!;
  }

  end(i: number): number {
    return this.c.bounds[3 * i + 1]!;
  }

  source(i: number): number {
    return this.c.sources[i]!;
  }

  sourceOffset(i: number): number {
    return this.c.bounds[3 * i + 2]!;
  }

  reason(i: number): Reason {
    return REASONS[this.c.reasons[i]!]!;
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

/**
 * Sorted, non-overlapping local segments in typed columns (start, end and
 * source offset as doubles, the source as an int, the reason as a byte).
 * Iterating, `at` and `in` make plain LocalSegment objects on demand.
 */
export class SegmentTable extends Rows {
  static readonly EMPTY = new SegmentTable({ bounds: new Float64Array(0), sources: new Int32Array(0), reasons: new Uint8Array(0), count: 0 });

  private constructor(protected readonly c: SegmentColumns) {
    super();
  }

  /** `segs` sorted by start and non-overlapping. */
  static of(segs: readonly LocalSegment[]): SegmentTable {
    const list = new SegmentList(segs.length);
    for (const s of segs) list.push(s.start, s.end, s.source, s.sourceOffset, reasonCode(s.reason));
    return list.sortedTable(false);
  }

  /** A table of columns whose rows are sorted by start and do not overlap (taken as they are, not copied). */
  static ofColumns(c: SegmentColumns): SegmentTable {
    return new SegmentTable(c);
  }

  /** Index of the first segment that ends after `pos` (binary search). */
  firstEndingAfter(pos: number): number {
    return firstRowEndingAfter(this.c.bounds, 3, this.c.count, pos);
  }

  /** The segments that intersect [start, end), clipped to it. */
  in(start: number, end: number): LocalSegment[] {
    const out: LocalSegment[] = [];
    const b = this.c.bounds;
    // One object per segment, clipped as it is made (no whole view to cut).
    for (let i = this.firstEndingAfter(start); i < this.length && b[3 * i]! < end; i++) {
      const a = Math.max(b[3 * i]!, start);
      out.push({ start: a, end: Math.min(b[3 * i + 1]!, end), source: this.c.sources[i]!, reason: REASONS[this.c.reasons[i]!]!, sourceOffset: b[3 * i + 2]! + (a - b[3 * i]!) });
    }
    return out;
  }

  /** The bytes the segments cover as [start, end) pairs, touching segments joined (mergeSpans of the table, no Span made). */
  spanBounds(): Float64Array {
    const b = this.c.bounds;
    const out = new Float64Array(2 * this.length);
    let m = 0;
    for (let i = 0; i < this.length; i++) {
      if (m > 0 && b[3 * i]! <= out[m - 1]!) {
        if (b[3 * i + 1]! > out[m - 1]!) out[m - 1] = b[3 * i + 1]!;
      } else {
        out[m++] = b[3 * i]!;
        out[m++] = b[3 * i + 1]!;
      }
    }
    return m === out.length ? out : out.slice(0, m);
  }
}

/**
 * Segments in typed columns in the order they were added (a layer being
 * made: a nested mapping lists its files' segments in path order, not by
 * offset). 29 bytes a segment where a LocalSegment object costs ~70-130.
 */
export class SegmentList extends Rows {
  protected c: { bounds: Float64Array; sources: Int32Array; reasons: Uint8Array; count: number };

  constructor(room = 64) {
    super();
    const n = Math.max(1, room);
    this.c = { bounds: new Float64Array(3 * n), sources: new Int32Array(n), reasons: new Uint8Array(n), count: 0 };
  }

  /** Appends a segment (`reason`: its code, reasonCode). */
  push(start: number, end: number, source: number, sourceOffset: number, reason: number): void {
    if (this.c.count === this.c.sources.length) this.grow();
    const c = this.c;
    const i = c.count;
    c.bounds[3 * i] = start;
    c.bounds[3 * i + 1] = end;
    c.bounds[3 * i + 2] = sourceOffset;
    c.sources[i] = source;
    c.reasons[i] = reason;
    c.count = i + 1;
  }

  /** Appends a segment, or extends the last one when it continues it in target and source (its reason kept); an empty one goes. */
  add(start: number, end: number, source: number, sourceOffset: number, reason: Reason): void {
    const c = this.c;
    const l = c.count - 1;
    if (l >= 0 && c.sources[l] === source && c.bounds[3 * l + 1] === start && c.bounds[3 * l + 2]! + (start - c.bounds[3 * l]!) === sourceOffset) c.bounds[3 * l + 1] = end;
    else if (end > start) this.push(start, end, source, sourceOffset, reasonCode(reason));
  }

  /** Appends every segment of `segs`. */
  append(segs: Segments | SegmentList): void {
    if (segs instanceof SegmentTable || segs instanceof SegmentList) {
      const c = segs.columns();
      for (let i = 0; i < c.count; i++) this.push(c.bounds[3 * i]!, c.bounds[3 * i + 1]!, c.sources[i]!, c.bounds[3 * i + 2]!, c.reasons[i]!);
    } else for (const s of segs) this.push(s.start, s.end, s.source, s.sourceOffset, reasonCode(s.reason));
  }

  /**
   * The segments as a table, sorted by start (stably, when `sort`); they must not overlap. The columns are
   * copied to their length: the list can go.
   */
  sortedTable(sort = true): SegmentTable {
    const c = this.c;
    const n = c.count;
    let order: Uint32Array | undefined;
    if (sort) {
      for (let i = 1; i < n; i++) {
        if (c.bounds[3 * i]! < c.bounds[3 * i - 3]!) {
          order = new Uint32Array(n);
          for (let k = 0; k < n; k++) order[k] = k;
          order.sort((a, b) => c.bounds[3 * a]! - c.bounds[3 * b]! || a - b);
          break;
        }
      }
    }
    if (!order) return SegmentTable.ofColumns({ bounds: c.bounds.slice(0, 3 * n), sources: c.sources.slice(0, n), reasons: c.reasons.slice(0, n), count: n });
    return permutedTable(c, order, n);
  }

  private grow(): void {
    const c = this.c;
    const n = c.sources.length * 2;
    const bounds = new Float64Array(3 * n);
    bounds.set(c.bounds);
    const sources = new Int32Array(n);
    sources.set(c.sources);
    const reasons = new Uint8Array(n);
    reasons.set(c.reasons);
    this.c = { bounds, sources, reasons, count: c.count };
  }
}

/** A list of segments: plain objects, or a plan's table. */
export type Segments = readonly LocalSegment[] | SegmentTable;

/** A layer of a plan (overlay): segments in any order, objects or columns, or several such parts read as one. */
export type Layer = Segments | SegmentList | JoinedLayer;

/** Parts read as one layer (the first guess layer: the ISO mapping's guesses, free space, changed blocks...), not copied. */
export class JoinedLayer {
  /** The parts, a joined layer among them spliced in (so that no part is itself joined). */
  readonly parts: readonly (Segments | SegmentList)[];

  constructor(parts: readonly Layer[]) {
    const flat: (Segments | SegmentList)[] = [];
    for (const p of parts) {
      if (p instanceof JoinedLayer) for (const q of p.parts) flat.push(q);
      else flat.push(p);
    }
    this.parts = flat;
  }

  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
}

/** `segs` as an array of objects (a table's made on demand). */
export function segmentArray(segs: Layer): readonly LocalSegment[] {
  const one = (p: Segments | SegmentList) => (p instanceof SegmentTable || p instanceof SegmentList ? p.toArray() : p);
  return segs instanceof JoinedLayer ? segs.parts.flatMap(one) : one(segs);
}

/** A layer's rows as columns: those of a table or list as they are, others copied into a list's. */
export function layerColumns(layer: Layer): SegmentColumns {
  if (layer instanceof SegmentTable || layer instanceof SegmentList) return layer.columns();
  const list = new SegmentList(layer.length);
  if (layer instanceof JoinedLayer) for (const p of layer.parts) list.append(p);
  else list.append(layer);
  return list.columns();
}

/** Segments of a sorted list that intersect [start, end), clipped to it. */
export function segmentsIn(segs: Segments, start: number, end: number): LocalSegment[] {
  if (segs instanceof SegmentTable) return segs.in(start, end);
  const out: LocalSegment[] = [];
  for (let i = firstEndingAfter(segs, start); i < segs.length && segs[i]!.start < end; i++) out.push(cut(segs[i]!, start, end));
  return out;
}

/** A table of the rows `order[0..n)` of `c`, in that order (the caller's order is the table's: sorted by start). */
export function permutedTable(c: SegmentColumns, order: ArrayLike<number>, n: number): SegmentTable {
  const bounds = new Float64Array(3 * n);
  const sources = new Int32Array(n);
  const reasons = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    bounds[3 * k] = c.bounds[3 * i]!;
    bounds[3 * k + 1] = c.bounds[3 * i + 1]!;
    bounds[3 * k + 2] = c.bounds[3 * i + 2]!;
    sources[k] = c.sources[i]!;
    reasons[k] = c.reasons[i]!;
  }
  return SegmentTable.ofColumns({ bounds, sources, reasons, count: n });
}
