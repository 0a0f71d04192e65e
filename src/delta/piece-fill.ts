/**
 * The local half of assembling a piece: copying planned segments into a
 * piece buffer (neighbours that continue each other read at once), and the
 * pool of piece-sized buffers those copies and the network fill.
 */
import { readInto, type ByteSource } from '../store/byte-source.js';
import type { PieceStore } from '../core/ports.js';
import type { PieceIndex } from '../core/ids.js';
import { alignedBytes, isAligned } from '../store/aligned.js';
import { mergeSpans, type Span } from '../core/span.js';
import { CACHE_SOURCE, ZERO_SOURCE, type LocalSegment } from './plan.js';

/** Where segments read from: local sources by index, and the bytes fetched while planning. */
export interface FillInput {
  readonly sources: readonly (ByteSource | undefined)[];
  readonly cache?: { cacheBytes(out: Uint8Array, start: number, end: number): void } | undefined;
}

/**
 * Segments in order, with neighbours that continue each other (same source,
 * adjacent in the target and in the source) joined: one read instead of
 * several (runs of consecutive files, zeros split by layers).
 */
function coalesce(segs: readonly LocalSegment[]): LocalSegment[] {
  const out: LocalSegment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.source === s.source && last.end === s.start && (s.source === ZERO_SOURCE || last.sourceOffset + (last.end - last.start) === s.sourceOffset)) {
      out[out.length - 1] = { ...last, end: s.end };
    } else out.push(s);
  }
  return out;
}

/**
 * Segments of one source whose bytes lie close together there (files kept in the same order by both images), read
 * with one read into a scratch buffer and copied out: a piece of a delta sync holds a few files, most of them
 * neighbours in the old image too. Without it each small file was a read of its own through the source's block
 * cache, which allocated a fresh 256 KiB block per miss: on the stock-torrent bench, some 360 MB of garbage.
 */
async function readGrouped(buf: Uint8Array, base: number, segs: readonly LocalSegment[], input: FillInput): Promise<Set<LocalSegment>> {
  const done = new Set<LocalSegment>();
  // Grouped segments are written first: only when no two overlap (the order they were given in would matter).
  const sorted = [...segs].sort((a, b) => a.start - b.start);
  if (sorted.some((s, i) => i > 0 && s.start < sorted[i - 1]!.end)) return done;
  const bySource = new Map<number, LocalSegment[]>();
  for (const s of segs) if (s.source >= 0) (bySource.get(s.source) ?? bySource.set(s.source, []).get(s.source)!).push(s);
  for (const [source, group] of bySource) {
    const src = input.sources[source];
    if (!src || group.length < 2) continue;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of group) {
      lo = Math.min(lo, s.sourceOffset);
      hi = Math.max(hi, s.sourceOffset + s.end - s.start);
    }
    // Only when the run read is no longer than the piece (one scratch buffer) and lies in the source.
    if (lo < 0 || hi > src.size || hi - lo > buf.length) continue;
    const scratch = scratchPool(buf.length).take(buf.length);
    try {
      await readInto(src, scratch, 0, lo, hi - lo);
      for (const s of group) {
        buf.set(scratch.subarray(s.sourceOffset - lo, s.sourceOffset - lo + s.end - s.start), s.start - base);
        done.add(s);
      }
    } catch {
      // read one by one below: an unreadable byte then fails only its own segment
    } finally {
      scratchPool(buf.length).give(scratch);
    }
  }
  return done;
}

/**
 * A lone segment this long is read straight into the piece buffer on its first fill, not through a window (readStraight):
 * a read (~10 us) costs less than its copy into shared memory from about here; shorter ones share a window's one read.
 */
const LONE_STRAIGHT_BYTES = 32 * 1024;

/** Scratch buffers for readGrouped, by size (piece lengths): as many as pieces are filled at once. */
const scratchPools = new Map<number, BufferPool>();
const scratchPool = (size: number): BufferPool => scratchPools.get(size) ?? scratchPools.set(size, new BufferPool(size)).get(size)!;

/**
 * Segments read straight into the piece buffer, no copy through a scratch buffer: in each stretch of segments that
 * follow each other without a hole, the largest group of one source at one shift (files kept in the same order by
 * both images, with the padding between them) with one read of the stretch's bytes from the group's first to its
 * last; the other segments of the stretch, written after it (by the caller), replace what that read put in their
 * place. Returns the segments read. Piece buffers live in shared memory (the verifying worker reads them), where a
 * copy costs ~2.5 x one between plain buffers; on the stock-torrent bench nearly every byte reused went through a
 * scratch buffer first.
 *
 * `loneBytes`: a group of one segment is read here from this many bytes on. Without windows never (Infinity: a lone
 * segment is read straight by the caller anyway, and readGrouped may read it with its neighbours); on a piece's first
 * fill with windows from LONE_STRAIGHT_BYTES: a lone segment was read into a window and copied from there, and on
 * the live squashfs pair, where nearly every piece has a guess and so windows, that copy into shared memory (V8
 * copies to a SharedArrayBuffer with relaxed atomic moves, not memcpy) was 144 of the 150 MB filled (callgrind: the
 * copies ~270 M instructions of a stock sync's 7,500 M). A piece filled again reads its window then, once.
 */
async function readStraight(buf: Uint8Array, base: number, segs: readonly LocalSegment[], input: FillInput, loneBytes: number): Promise<Set<LocalSegment>> {
  const done = new Set<LocalSegment>();
  const sorted = [...segs].sort((a, b) => a.start - b.start);
  if (sorted.some((s, i) => i > 0 && s.start < sorted[i - 1]!.end)) return done;
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.start === sorted[j - 1]!.end) j++;
    // sorted[i, j): one stretch. Its largest group of one source at one shift:
    const groups = new Map<string, { segs: LocalSegment[]; bytes: number }>();
    for (let k = i; k < j; k++) {
      const s = sorted[k]!;
      if (s.source < 0) continue;
      const key = `${s.source}:${s.sourceOffset - s.start}`;
      const g = groups.get(key) ?? groups.set(key, { segs: [], bytes: 0 }).get(key)!;
      g.segs.push(s);
      g.bytes += s.end - s.start;
    }
    i = j;
    let best: { segs: LocalSegment[]; bytes: number } | undefined;
    for (const g of groups.values()) if ((g.segs.length > 1 || g.bytes >= loneBytes) && g.bytes > (best?.bytes ?? 0)) best = g;
    if (!best) continue;
    const first = best.segs[0]!;
    const start = first.start;
    const end = best.segs[best.segs.length - 1]!.end;
    const src = input.sources[first.source];
    const from = first.sourceOffset - (first.start - start);
    // Not when the others' bytes would be most of the read, or it would leave the source.
    if (!src || 2 * best.bytes < end - start || from < 0 || from + end - start > src.size) continue;
    try {
      await readInto(src, buf, start - base, from, end - start);
      for (const s of best.segs) done.add(s);
    } catch {
      // read one by one by the caller: an unreadable byte then fails only its own segment
    }
  }
  return done;
}

/**
 * The bytes of local sources read for one piece, kept while it is assembled: a piece whose guesses
 * fail is filled again for every attempt (guesses and fetch, samples, what the samples keep, wider
 * margins, the count of right guesses), from the same runs of the same source; each fill after the
 * first copies them from here. A few piece-sized buffers per piece in flight, from the scratch pool;
 * `release` gives them back.
 */
export class ReadWindows {
  private readonly held: { source: number; lo: number; bytes: Uint8Array }[] = [];
  /** Whether the piece was filled once already: its first fill reads straight into the piece buffer (readStraight). */
  filledOnce = false;
  /** Per source, the run of every segment the piece may use: read whole on the first miss when no longer than a piece. */
  private readonly planned: Map<number, { lo: number; hi: number }>;

  constructor(
    private readonly size: number,
    planned: readonly LocalSegment[] = [],
    private readonly max = 2,
  ) {
    this.planned = hullsBySource(planned);
  }

  /** Source bytes [lo, hi) when one window holds them all. */
  find(source: number, lo: number, hi: number): Uint8Array | undefined {
    for (const w of this.held) if (w.source === source && lo >= w.lo && hi <= w.lo + w.bytes.length) return w.bytes.subarray(lo - w.lo, hi - w.lo);
    return undefined;
  }

  /** Source bytes [lo, hi) (at most the piece length), read once: the oldest window gives way. */
  async read(src: ByteSource, source: number, lo: number, hi: number): Promise<Uint8Array> {
    const hit = this.find(source, lo, hi);
    if (hit) return hit;
    const run = this.planned.get(source);
    if (run && run.lo <= lo && hi <= run.hi && run.hi - run.lo <= this.size && run.hi <= src.size) {
      lo = run.lo;
      hi = run.hi;
    }
    const pool = scratchPool(this.size);
    const bytes = pool.take(hi - lo);
    try {
      await readInto(src, bytes, 0, lo, hi - lo);
    } catch (e) {
      pool.give(bytes);
      throw e;
    }
    if (this.held.length >= this.max) pool.give(this.held.shift()!.bytes);
    this.held.push({ source, lo, bytes });
    return this.find(source, lo, hi)!;
  }

  release(): void {
    for (const w of this.held.splice(0)) scratchPool(this.size).give(w.bytes);
  }
}

/** Per local source, the source bytes [lo, hi) that `segs` read from it, from the first to the last. */
function hullsBySource(segs: readonly LocalSegment[]): Map<number, { lo: number; hi: number }> {
  const hulls = new Map<number, { lo: number; hi: number }>();
  for (const s of segs) {
    if (s.source < 0) continue;
    const h = hulls.get(s.source);
    const lo = s.sourceOffset;
    const hi = s.sourceOffset + s.end - s.start;
    if (h) {
      h.lo = Math.min(h.lo, lo);
      h.hi = Math.max(h.hi, hi);
    } else hulls.set(s.source, { lo, hi });
  }
  return hulls;
}

/**
 * With windows: each source's run of the segments (overlapping or not: they are copied in their
 * order after) read once into a window, when it is no longer than the piece; the segments are then
 * copied from the windows. None is taken as read here (an empty set): the caller copies them all.
 */
async function readWindows(size: number, segs: readonly LocalSegment[], input: FillInput, windows: ReadWindows): Promise<Set<LocalSegment>> {
  for (const [source, { lo, hi }] of hullsBySource(segs)) {
    const src = input.sources[source];
    if (!src || lo < 0 || hi > src.size || hi - lo > size) continue;
    try {
      await windows.read(src, source, lo, hi);
    } catch {
      // read one by one: an unreadable byte then fails only its own segment
    }
  }
  return new Set();
}

/**
 * Copies segments into `buf` (buf[0] is target byte `base`), reading straight into it, or through
 * `windows` (a piece that may be filled again); returns the spans filled.
 */
export async function fillSegments(
  buf: Uint8Array,
  base: number,
  segs: readonly LocalSegment[],
  input: FillInput,
  windows?: ReadWindows,
): Promise<Span[]> {
  const filled: Span[] = [];
  const joined = coalesce(segs);
  // A piece's first fill reads its largest groups straight into its buffer (most pieces verify at once); the rest,
  // and every fill after it, copy from windows read once (a piece whose guesses fail is filled again per attempt).
  let grouped: Set<LocalSegment>;
  if (windows?.filledOnce) grouped = await readWindows(buf.length, joined, input, windows);
  else {
    grouped = await readStraight(buf, base, joined, input, windows ? LONE_STRAIGHT_BYTES : Infinity);
    const rest = joined.filter((x) => !grouped.has(x));
    if (windows) {
      windows.filledOnce = true;
      await readWindows(buf.length, rest, input, windows);
    } else for (const s of await readGrouped(buf, base, rest, input)) grouped.add(s);
  }
  for (const s of joined) {
    if (grouped.has(s)) {
      filled.push({ start: s.start, end: s.end });
      continue;
    }
    const len = s.end - s.start;
    if (s.source === ZERO_SOURCE) {
      buf.fill(0, s.start - base, s.end - base);
    } else if (s.source === CACHE_SOURCE) {
      if (!input.cache) continue;
      input.cache.cacheBytes(buf.subarray(s.start - base, s.end - base), s.start, s.end);
    } else {
      const src = input.sources[s.source];
      if (!src || s.sourceOffset < 0 || s.sourceOffset + len > src.size) continue;
      try {
        const kept = windows?.find(s.source, s.sourceOffset, s.sourceOffset + len);
        if (kept) buf.set(kept, s.start - base);
        else await readInto(src, buf, s.start - base, s.sourceOffset, len);
      } catch {
        continue; // an unreadable source byte is simply not local
      }
    }
    filled.push({ start: s.start, end: s.end });
  }
  return mergeSpans(filled);
}

/**
 * A piece of local bytes only (`segs` cover it) read by the store itself, off this thread, then checked and
 * written (PieceStore.fillAndWriteIfMatches, the verifying worker): true once written. False when the store
 * cannot (no verifying worker), a segment is neither zeros nor a local file's (ByteSource.preadFd), or the
 * bytes do not verify: the caller then fills and checks the piece here as before. The reads were some 10-20 %
 * of the main thread's assembly on the live squashfs pair (`--cpu-prof`), the main thread being a quiet
 * machine's wall time.
 */
export async function fillOnStore(store: PieceStore, p: PieceIndex, base: number, buf: Uint8Array, segs: readonly LocalSegment[], input: FillInput): Promise<boolean> {
  if (!store.fillAndWriteIfMatches || !store.writeIfMatches) return false;
  const reads: number[] = [];
  for (const s of coalesce(segs)) {
    const len = s.end - s.start;
    const src = s.source >= 0 ? input.sources[s.source] : undefined;
    const fd = s.source === ZERO_SOURCE ? -1 : src?.preadFd;
    if (fd === undefined || (fd >= 0 && (s.sourceOffset < 0 || s.sourceOffset + len > src!.size))) return false;
    reads.push(fd, s.sourceOffset, s.start - base, len);
  }
  return store.fillAndWriteIfMatches(p, base, buf, reads);
}

/** Page-aligned piece buffers (store/aligned.ts), by piece length: one pool shared by every assembly, as the aligned memory is never given back. */
const alignedPools = new Map<number, BufferPool>();
export const alignedPool = (size: number): BufferPool => alignedPools.get(size) ?? alignedPools.set(size, new BufferPool(size, true)).get(size)!;

/**
 * Piece-sized buffers for reuse. A buffer is given back only when nothing
 * references it any more (the piece is written by a store that released it,
 * or it held network bytes that were copied out), so the pool never holds
 * more than the pieces in flight: `concurrency` x 2 at most.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];
  /** Page-aligned buffers this pool allocated (store/aligned.ts), by their offset in the aligned memory. */
  private readonly alignedOnes = new Map<number, Uint8Array>();

  private plainTwin: BufferPool | undefined;

  /** `aligned`: buffers start on a page (store/aligned.ts), so that a store may write them bypassing the page cache. */
  constructor(
    private readonly capacity: number,
    private readonly aligned = false,
  ) {}

  /**
   * A pool of plain buffers of the same size (this pool when its own are plain), for bytes never written from where
   * they are (a piece's network bytes, a guess compared): V8 copies into and out of the aligned memory (a
   * SharedArrayBuffer) with relaxed atomic moves, not memcpy, and every fetched byte was copied in twice.
   */
  get plain(): BufferPool {
    return this.aligned ? (this.plainTwin ??= new BufferPool(this.capacity)) : this;
  }

  /** A buffer of `len` bytes (len <= capacity) with arbitrary contents. */
  take(len: number): Uint8Array {
    if (len > this.capacity) return new Uint8Array(len);
    const b = this.free.pop() ?? this.fresh();
    return len === this.capacity ? b : b.subarray(0, len);
  }

  private fresh(): Uint8Array {
    const a = this.aligned ? alignedBytes(this.capacity) : undefined;
    if (!a) return new Uint8Array(this.capacity);
    this.alignedOnes.set(a.byteOffset, a);
    return a;
  }

  give(view: Uint8Array): void {
    const mine = isAligned(view) ? this.alignedOnes.get(view.byteOffset) : undefined;
    if (mine) {
      this.free.push(mine);
      return;
    }
    if (view.buffer.byteLength !== this.capacity || view.byteOffset !== 0) return;
    this.free.push(view.length === this.capacity ? view : new Uint8Array(view.buffer, 0, this.capacity));
  }
}
