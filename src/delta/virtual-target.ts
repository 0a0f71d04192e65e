/**
 * A ByteSource over the target image before it exists: bytes come from the
 * exact local segments known so far (delta hints), then from what was
 * already fetched, and only the rest from the network. The ISO reader reads
 * the target's metadata through it, so reading a new release's directory
 * tree fetches only the metadata bytes that are not already local.
 *
 * Fetched bytes are kept (range-cache.ts) and become CACHE_SOURCE segments of
 * the plan, so nothing is fetched twice. Only the newest few MiB of them stay
 * in memory; older ones are spilled to an unlinked scratch file
 * (store/spill-file.ts): an image of a million files has ~270 MiB of
 * directory records, which a plan held in memory to its end. Fetches are
 * requests of at most PART_RANGES ranges and PART_BYTES bytes, PARALLEL at
 * once, so what is in flight is bounded too. A read that one fetched range
 * holds whole borrows its bytes (a view, no copy). Nothing read here is
 * trusted: the pieces are verified when the image is assembled.
 */
import type { ByteSource } from '../store/byte-source.js';
import { checkRange } from '../store/byte-source.js';
import { IsosyncError } from '../errors.js';
import type { RangeFetcher } from '../core/ports.js';
import { CACHE_SOURCE, SegmentTable, segmentsIn, ZERO_SOURCE, type LocalSegment, type Segments } from './plan.js';
import { firstEndingAfter, mergeBounds, mergeSpans, spanBounds, subtractSpans, type Span } from '../core/span.js';
import { RangeCache, type RangeCacheOptions } from './range-cache.js';
import { SpillFile } from '../store/spill-file.js';

export type { RangeFetcher };

/**
 * Ranges and bytes per request (a web seed's multi-range request; a longer range is split), and such
 * requests at once: at most PARALLEL * PART_BYTES of fetched bytes wait to be cached, where a walk's
 * announcement of 256 directories of 1,000 files each was one round of ~40 MiB.
 */
const PART_RANGES = 48;
const PART_BYTES = 2 * 1024 * 1024;
const PARALLEL = 4;

/**
 * The planning bytes a VirtualTarget keeps in memory; the older ones go to a scratch file. 2 MiB of each, not 4:
 * a stock DVD sync peaked ~3 MiB lower (the planning check and assembly read the planning bytes back in image
 * order, so each spilled chunk is still loaded about once).
 */
const CACHE_OPTIONS: RangeCacheOptions = { spill: () => SpillFile.open(), residentBytes: 2 * 1024 * 1024, readbackBytes: 2 * 1024 * 1024 };

/** Fetch granularity for metadata: a whole ISO sector, so neighbouring records come along. */
const FETCH_ALIGN = 2048;

export class VirtualTarget implements ByteSource {
  /** Fetched ranges, sorted and non-overlapping, with their bytes (a nested image's metadata: one range per inode or index, thousands). */
  private cache: RangeCache;
  /** The ranges whose bytes `releaseVerified` dropped, as [start, end) pairs: copying from them is an internal error, not zeros. */
  private released: Float64Array | undefined;
  fetchedBytes = 0;
  private fetching: Promise<void> = Promise.resolve();

  constructor(
    readonly size: number,
    /** The local layers overlaid (a sync gives a SegmentTable: rows, not an object per segment). */
    private readonly local: Segments,
    private readonly sources: readonly (ByteSource | undefined)[],
    private readonly fetcher: RangeFetcher | undefined,
    /**
     * Bytes past a missed read that are fetched with it when not local: ISO
     * metadata is contiguous, so one request serves the next directories too.
     * Only bytes that are not local are fetched, and they are kept for the
     * image, so with complete local layers (delta hints) read-ahead costs no
     * extra bytes.
     */
    private readonly readAhead = 0,
    private readonly cacheOptions: RangeCacheOptions = CACHE_OPTIONS,
  ) {
    this.cache = new RangeCache(cacheOptions);
  }

  /**
   * Like read, but fetches exactly the missing bytes (no sector rounding, no
   * read-ahead): nested filesystems keep small metadata records among file
   * data that is local, so rounding would fetch data that needs no fetching.
   */
  async readExact(offset: number, length: number): Promise<Uint8Array> {
    return this.readWith(offset, length, 1, 0);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.readWith(offset, length, FETCH_ALIGN, this.readAhead);
  }

  /**
   * The bytes of [offset, offset + length) when one fetched range holds them and nothing local lies
   * there: borrowed, without an await (the ISO walk's TransientReads, iso/tree-options.ts, scans a
   * directory's chunks where they sit). Else undefined, and `view` reads them.
   */
  peek(offset: number, length: number): Uint8Array | undefined {
    const end = offset + length;
    if (!(offset >= 0 && end <= this.size)) return undefined;
    if (this.localIn(offset, end)) return undefined;
    const i = this.cachedWhole(offset, end);
    return i >= 0 ? this.cache.bytes(i).subarray(offset - this.cache.start(i), end - this.cache.start(i)) : undefined;
  }

  view(offset: number, length: number): Promise<Uint8Array> {
    return this.read(offset, length);
  }

  private async readWith(offset: number, length: number, align: number, readAhead: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'the target image');
    const end = offset + length;
    const localSegs = segmentsIn(this.local, offset, end);
    // Already fetched in one piece (the ISO reader reads a directory's sectors one by one): its bytes,
    // borrowed (readers do not write to what a ByteSource returns).
    if (localSegs.length === 0) {
      const i = this.cachedWhole(offset, end);
      if (i >= 0) return this.cache.bytes(i).subarray(offset - this.cache.start(i), end - this.cache.start(i));
    }
    const out = new Uint8Array(length);
    for (const seg of localSegs) await this.fill(out, offset, seg);
    const localSpans: readonly Span[] = localSegs;
    const gaps = subtractSpans([{ start: offset, end }], mergeSpans([...localSpans, ...this.cachedIn(offset, end)]));
    if (gaps.length > 0) await this.fetchGaps(gaps, readAhead, align);
    this.copyCached(out, offset, end);
    return out;
  }

  /** Fetches now what of `ranges` is neither local nor cached (the ISO reader announces the directories it will read). */
  prefetch(ranges: readonly Span[], align = FETCH_ALIGN): Promise<void> {
    return this.prefetchBounds(spanBounds(ranges), align);
  }

  /** prefetch for ranges as [start, end) pairs: fetched in requests of PART_RANGES ranges and PART_BYTES bytes, PARALLEL at once. */
  async prefetchBounds(bounds: Float64Array, align = FETCH_ALIGN): Promise<void> {
    if (!this.fetcher) return;
    const wanted = mergeBounds(this.inside(bounds));
    if (wanted.length === 0) return;
    // One round at a time, so the cache stays disjoint (the requests of a round are disjoint, and no other
    // round runs meanwhile). What to fetch is kept as [start, end) pairs in one array while the round waits
    // its turn and runs, not as lists of span objects (a level of a nested tree: one range per inode).
    const run = this.fetching.then(() => this.fetchPairs(this.missingBounds(wanted, align)));
    this.fetching = run.catch(() => undefined);
    return run;
  }

  /**
   * Fetches the [start, end) pairs of `need` (sorted, disjoint, neither local nor cached) and caches
   * them as they arrive: requests of at most PART_RANGES ranges and PART_BYTES bytes, PARALLEL at once.
   */
  private async fetchPairs(need: Float64Array): Promise<void> {
    const fetcher = this.fetcher!;
    let k = 0;
    let at = need.length > 0 ? need[0]! : 0;
    const nextGroup = (): Span[] | undefined => {
      if (k >= need.length) return undefined;
      const g: Span[] = [];
      let bytes = 0;
      while (k < need.length && g.length < PART_RANGES && bytes < PART_BYTES) {
        const end = need[k + 1]!;
        const upto = Math.min(end, at + PART_BYTES - bytes);
        g.push({ start: at, end: upto });
        bytes += upto - at;
        if (upto < end) at = upto;
        else if ((k += 2) < need.length) at = need[k]!;
      }
      return g;
    };
    const worker = async (): Promise<void> => {
      for (let g = nextGroup(); g; g = nextGroup()) {
        const group = g;
        const parts = group.length > 1 && fetcher.fetchRanges ? await fetcher.fetchRanges(group) : await Promise.all(group.map((r) => fetcher.fetchRange(r.start, r.end)));
        parts.forEach((bytes, i) => {
          this.fetchedBytes += bytes.length;
          this.addCache(group[i]!.start, bytes);
        });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }

  /** The pairs of `bounds` that end inside the image (others are not fetched; empty ones go in mergeBounds). */
  private inside(bounds: Float64Array): Float64Array {
    let all = true;
    for (let k = 1; k < bounds.length && all; k += 2) all = bounds[k]! <= this.size;
    if (all) return bounds;
    const out: number[] = [];
    for (let k = 0; k < bounds.length; k += 2) if (bounds[k + 1]! <= this.size) out.push(bounds[k]!, bounds[k + 1]!);
    return Float64Array.from(out);
  }

  /** The bytes of `wanted` (merged pairs) widened to `align` that are neither local nor cached, merged, as pairs. */
  private missingBounds(wanted: Float64Array, align: number): Float64Array {
    let out = new Float64Array(Math.max(2, wanted.length));
    let n = 0;
    const push = (a: number, b: number): void => {
      if (n > 0 && a <= out[n - 1]!) {
        if (b > out[n - 1]!) out[n - 1] = b;
        return;
      }
      if (n === out.length) {
        const o = new Float64Array(2 * out.length);
        o.set(out);
        out = o;
      }
      out[n++] = a;
      out[n++] = b;
    };
    for (let k = 0; k < wanted.length; k += 2) {
      const a = Math.floor(wanted[k]! / align) * align;
      const b = Math.min(this.size, Math.ceil(wanted[k + 1]! / align) * align);
      const i = this.cache.firstAfter(a);
      const cachedHere = i < this.cache.count && this.cache.start(i) < b;
      const localHere = this.localIn(a, b);
      if (!cachedHere && !localHere) push(a, b);
      else for (const s of subtractSpans([{ start: a, end: b }], mergeSpans([...this.localSpansIn(a, b), ...this.cachedIn(a, b)]))) push(s.start, s.end);
    }
    return out.subarray(0, n);
  }

  /** Fetches the sectors around `gaps` that are neither local nor cached; one fetch round at a time, so the cache stays disjoint. */
  private fetchGaps(gaps: readonly Span[], readAhead = this.readAhead, align = FETCH_ALIGN): Promise<void> {
    const run = this.fetching.then(async () => {
      if (!this.fetcher) {
        throw new IsosyncError('NETWORK', `Cannot read the target image at byte ${gaps[0]!.start}: no web seed or peer to fetch it from`);
      }
      // Whole sectors, minus what is local or cached.
      const need: Span[] = [];
      for (const g of gaps) {
        const a = Math.floor(g.start / align) * align;
        const b = Math.min(this.size, Math.ceil((g.end + readAhead) / align) * align);
        for (const s of subtractSpans([{ start: a, end: b }], mergeSpans([...this.localSpansIn(a, b), ...this.cachedIn(a, b)]))) need.push(s);
      }
      await this.fetchPairs(spanBounds(mergeSpans(need)));
    });
    this.fetching = run.catch(() => undefined);
    return run;
  }

  /** Whether a local segment lies in [a, b). */
  private localIn(a: number, b: number): boolean {
    const l = this.local;
    if (l instanceof SegmentTable) {
      const j = l.firstEndingAfter(a);
      return j < l.length && l.start(j) < b;
    }
    const j = firstEndingAfter(l, a);
    return j < l.length && l[j]!.start < b;
  }

  private localSpansIn(a: number, b: number): Span[] {
    return segmentsIn(this.local, a, b);
  }

  private async fill(out: Uint8Array, offset: number, seg: LocalSegment): Promise<void> {
    if (seg.source === ZERO_SOURCE) return; // `out` starts zeroed
    const src = seg.source >= 0 ? this.sources[seg.source] : undefined;
    if (!src) return;
    const len = seg.end - seg.start;
    if (seg.sourceOffset + len > src.size) return;
    out.set(await src.read(seg.sourceOffset, len), seg.start - offset);
  }

  /** The fetched range that holds all of [a, b), or -1. */
  private cachedWhole(a: number, b: number): number {
    const i = this.cache.firstAfter(a);
    return i < this.cache.count && this.cache.start(i) <= a && this.cache.end(i) >= b ? i : -1;
  }

  /** Cached spans that intersect [a, b). */
  private cachedIn(a: number, b: number): Span[] {
    const out: Span[] = [];
    for (let i = this.cache.firstAfter(a); i < this.cache.count && this.cache.start(i) < b; i++) out.push({ start: this.cache.start(i), end: this.cache.end(i) });
    return out;
  }

  private addCache(start: number, bytes: Uint8Array): void {
    this.cache.add(start, bytes);
  }

  /** The fetched bytes as plan segments (exact), served from `cacheBytes`. */
  cachedSegments(): LocalSegment[] {
    const out: LocalSegment[] = [];
    for (let i = 0; i < this.cache.count; i++) out.push({ start: this.cache.start(i), end: this.cache.end(i), source: CACHE_SOURCE, sourceOffset: this.cache.start(i), reason: 'fetched' });
    return out;
  }

  /**
   * The fetched ranges as [start, end) pairs in one array (a copy: one row per nested inode, where a
   * Span object per range cost ~120 bytes for as long as the planning check ran).
   */
  cachedBounds(): Float64Array {
    const c = this.cache;
    const out = new Float64Array(2 * c.count);
    for (let i = 0; i < c.count; i++) {
      out[2 * i] = c.start(i);
      out[2 * i + 1] = c.end(i);
    }
    return out;
  }

  /** Whether `truth` is the cached bytes of [start, start + truth.length) (bytes no range holds count as zeros, as in cacheBytes); no copy. */
  cachedEquals(start: number, truth: Uint8Array): boolean {
    this.checkNotReleased(start, start + truth.length);
    const c = this.cache;
    const end = start + truth.length;
    let at = start;
    for (let i = c.firstAfter(start); i < c.count && c.start(i) < end; i++) {
      const a = Math.max(c.start(i), start);
      const b = Math.min(c.end(i), end);
      if (b <= a) continue;
      if (!zeros(truth, at - start, a - start)) return false;
      if (Buffer.compare(c.bytes(i).subarray(a - c.start(i), b - c.start(i)), truth.subarray(a - start, b - start)) !== 0) return false;
      at = b;
    }
    return zeros(truth, at - start, truth.length);
  }

  /**
   * Drops the fetched bytes once every piece they lie in is verified (`have`): the plan's CACHE_SOURCE segments
   * are then in pieces no assembly builds again, and the planning check has compared them. A sync kept them to
   * its end (7 MiB of array buffers on the stock-torrent DVD pair, through the whole of assembly). Nothing is
   * dropped while a range lies in a piece not verified. Returns the bytes dropped. The ranges stay known: a copy
   * from them afterwards throws (a piece built from them would fail its hash, not be silently zero-filled).
   */
  releaseVerified(have: readonly boolean[], pieceLength: number): number {
    const c = this.cache;
    let bytes = 0;
    for (let i = 0; i < c.count; i++) {
      for (let p = Math.floor(c.start(i) / pieceLength); p * pieceLength < c.end(i); p++) if (!have[p]) return 0;
      bytes += c.end(i) - c.start(i);
    }
    if (c.count === 0) return 0;
    const before = this.released ?? new Float64Array(0);
    const now = this.cachedBounds();
    const all = new Float64Array(before.length + now.length);
    all.set(before);
    all.set(now, before.length);
    this.released = mergeBounds(all);
    this.cache.close();
    this.cache = new RangeCache(this.cacheOptions);
    return bytes;
  }

  /** Throws when [start, end) meets a range whose bytes were released. */
  private checkNotReleased(start: number, end: number): void {
    const r = this.released;
    if (!r) return;
    // The first pair that ends after `start` (pairs sorted and disjoint).
    let lo = 0;
    let hi = r.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[2 * mid + 1]! <= start) lo = mid + 1;
      else hi = mid;
    }
    if (2 * lo < r.length && r[2 * lo]! < end) {
      throw new IsosyncError('INTERNAL', `Internal error: planning bytes at ${Math.max(start, r[2 * lo]!)} were used after their pieces verified and they were released`);
    }
  }

  /** Copies cached bytes of [start, end) into `out` (out[0] is byte `start`): the plan's CACHE_SOURCE segments. */
  cacheBytes(out: Uint8Array, start: number, end: number): void {
    this.checkNotReleased(start, end);
    this.copyCached(out, start, end);
  }

  /** cacheBytes for reads of the target (a read after releaseVerified fetches released bytes again, as any missed read does). */
  private copyCached(out: Uint8Array, start: number, end: number): void {
    const c = this.cache;
    for (let i = c.firstAfter(start); i < c.count && c.start(i) < end; i++) {
      const a = Math.max(c.start(i), start);
      const b = Math.min(c.end(i), end);
      if (b > a) out.set(c.bytes(i).subarray(a - c.start(i), b - c.start(i)), a - start);
    }
  }
}

function zeros(bytes: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (bytes[k] !== 0) return false;
  return true;
}
