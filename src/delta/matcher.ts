/**
 * Finds every long byte run of a target image that also exists in a source
 * image, wherever it moved (the publisher side of the delta hints).
 *
 * The rsync idea, done once by the publisher for all clients:
 *  1. Index the source: for every BLOCK-aligned block of the source, a 32-bit
 *     polynomial hash, in an open-addressing table of (hash, block) pairs
 *     (first occurrence wins) behind a bit filter of at most 2 MiB that answers most
 *     misses from cache. All-zero blocks are not indexed: zeros need no
 *     source (see `zeros`).
 *  2. Roll a BLOCK-byte window over the target one byte at a time. When the
 *     window's hash is in the table and its bytes equal the source block's
 *     (compared, so a hash collision never makes a run), a run starts; it
 *     continues while the next target bytes equal the next source bytes,
 *     compared natively 64 KiB at a time, so a moved file costs one memcmp,
 *     not a hash per block.
 *  3. Refine each run's ends byte by byte against the real bytes while they
 *     are still buffered (a run may start up to BLOCK-1 bytes before its
 *     first aligned source block), then merge runs that continue each other.
 * Any run of at least 2*BLOCK-1 shared bytes is found, at any offset; a
 * moved, unchanged ISO file is found whole (its sectors are BLOCK-aligned).
 * Memory: the table (16 bytes per source KiB at BLOCK = 512, 2 slots per
 * block), the filter, one chunk of the target and one of the source.
 */
import type { ByteSource } from '../store/byte-source.js';
import { IsosyncError } from '../errors.js';
import { SourceChunks } from './chunk-cache.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { runSpans, settleRuns, type CopyRun } from './runs.js';
import { BLOCK, hashPair, pair, roll } from './rolling-hash.js';
import { filterBits, indexSource, MIX, QUICK_MIX, quickBits, type SourceIndex } from './source-index.js';
import { KnownRuns, STRIDE_BYTES, Window } from './scan-window.js';

export { indexSource };

export { BLOCK };

/**
 * Bytes read per step of the target: sequential reads; the window carries over between chunks. 1 MiB, not 8:
 * a local read of up to 1 MiB is synchronous (store/exact-io.ts), and each scan's window is its own buffer
 * (publish --previous of the 348 MiB DVD pair held four 8 MiB read buffers at its peak).
 */
const CHUNK_BYTES = 1024 * 1024;
/** Source chunks when runs lead anywhere (a gap scan): a few blocks around each place. */
const SCATTERED_CHUNK_BYTES = 16 * 1024;
const SCATTERED_CHUNKS_KEPT = 64;
export interface MatchResult {
  /** Target runs that exist in the source, sorted, non-overlapping. */
  runs: CopyRun[];
  /** Target spans of at least BLOCK bytes that are all zero (need no source). */
  zeros: Span[];
}

/** Zero bytes to compare with: zero spans are skipped with native compares, not a byte loop. */
const ZEROS = Buffer.alloc(STRIDE_BYTES);

/** The first index in [from, to) of `buf` whose byte is not zero, or `to`. */
function skipZeros(buf: Buffer, from: number, to: number): number {
  let i = from;
  for (let step = STRIDE_BYTES; step >= BLOCK; step >>= 4) {
    while (to - i >= step && buf.compare(ZEROS, 0, step, i, i + step) === 0) i += step;
  }
  while (i < to && buf[i] === 0) i++;
  return i;
}

/** Where rollToCandidate stopped: [buffer position, rolling hash, 1 if the window there holds a non-zero byte, else 0]; the hash is its input too. */
const rolled = new Int32Array(3);

/** The rolling hash of the window at `buf[at]`, into `rolled` (outside the async scan, whose own loops stay unoptimized). */
function startWindow(buf: Uint8Array, at: number): void {
  hashPair(buf, at);
  rolled[1] = pair[0]!;
}

/**
 * Rolls the window from `buf[at]` one byte at a time until it is all zero,
 * or its hashes find a source block (returned), or it reaches `last` (the
 * last position whose window is buffered); -1 unless a block was found.
 * Synchronous and small, so the per-byte loop is optimized early.
 *
 * An all-zero window has rolling hash 0, so only a window whose hash is 0 is
 * looked at whole (hashPair's third value): no count of its non-zero bytes
 * is kept byte by byte. On 20 MiB of random bytes against the DVD image's
 * index that took the roll from 0.38-0.46 to 0.30-0.36 CPU s (4 alternated
 * rounds, load 12); it stops where the counting roll stopped.
 */
function rollToCandidate(buf: Uint8Array, at: number, last: number, index: SourceIndex): number {
  const filter = index.filter;
  const quick = index.quick;
  const quickShift = index.quickShift;
  const filterShift = index.filterShift;
  let h = rolled[1]!;
  let nonZero = 1;
  let candidate = -1;
  for (;;) {
    if (h === 0) {
      hashPair(buf, at);
      if (pair[2] === 0) {
        nonZero = 0;
        break;
      }
    }
    const q = Math.imul(h, QUICK_MIX);
    const qb = quickBits(q);
    if ((quick[q >>> quickShift]! & qb) === qb) {
      const m = Math.imul(h, MIX);
      const bits = filterBits(m, h);
      if ((filter[m >>> filterShift]! & bits) === bits && index.has(h)) {
        hashPair(buf, at);
        candidate = index.find(h, pair[1]!);
        if (candidate >= 0) break;
      }
    }
    if (at >= last) break; // refill (the hash stays valid) or the end of the target
    h = roll(h, buf[at]!, buf[at + BLOCK]!);
    at++;
  }
  rolled[0] = at;
  rolled[1] = h;
  rolled[2] = nonZero;
  return candidate;
}

/** How many bytes before buf[q] and src[o] agree, at most `max` (both buffered that far). */
function agreeBefore(buf: Uint8Array, q: number, src: Uint8Array, o: number, max: number): number {
  let j = 0;
  while (j < max && buf[q - 1 - j] === src[o - 1 - j]) j++;
  return j;
}

/** How many bytes from buf[q] and src[o] on agree, at most `max` (both buffered that far). */
function agreeAfter(buf: Uint8Array, q: number, src: Uint8Array, o: number, max: number): number {
  let j = 0;
  while (j < max && buf[q + j] === src[o + j]) j++;
  return j;
}

export interface ScanOptions {
  /** Target bytes read at once (default CHUNK_BYTES): less when the regions are small and far apart. */
  readonly readBytes?: number;
  /** The runs lead anywhere in the source: read it in small chunks, many kept. */
  readonly scattered?: boolean;
  /** Each read of the target, as it is read (in order from the first region's start when there is one region). */
  readonly onTargetRead?: (bytes: Uint8Array, offset: number) => void;
  /**
   * Runs known to be equal (a gap scan's turned-around runs): a run followed
   * into one at the same offset goes through it without reading or comparing
   * (it would compare equal). Not with onTargetRead, which wants every byte.
   */
  readonly known?: readonly CopyRun[];
  /** Memory idle during the scan to read the target into, when large enough (scan-window.ts Window). */
  readonly memory?: Buffer;
}

/** What a scan found: runs (refined, in target order) and zero spans. */
export interface Scanned {
  runs: CopyRun[];
  zeros: Span[];
}

/**
 * Scans `regions` of the target (sorted, disjoint; default the whole target)
 * for source runs (step 2), and refines each run's ends byte by byte while
 * its bytes are still buffered (step 3): at most BLOCK-1 bytes back (not into
 * the previous run) and BLOCK-1 bytes forward. The scan goes on from the
 * run's block-wise end, so a run starting inside the refined end is found;
 * normalizeRuns trims the overlap.
 */
export async function scanRuns(target: ByteSource, source: ByteSource, index: SourceIndex, regions: readonly Span[] = [{ start: 0, end: target.size }], opts: ScanOptions = {}): Promise<Scanned> {
  const runs: CopyRun[] = [];
  const zeros: Span[] = [];
  const win = new Window(target, opts.readBytes ?? CHUNK_BYTES, opts.onTargetRead, opts.memory);
  if (opts.known && opts.onTargetRead) throw new IsosyncError('INTERNAL', 'Internal error: a scan through known runs does not read every byte');
  const known = opts.known ? new KnownRuns(opts.known) : undefined;
  const chunks = opts.scattered ? new SourceChunks(source, SCATTERED_CHUNK_BYTES, SCATTERED_CHUNKS_KEPT) : new SourceChunks(source);
  const cb = chunks.chunkBytes;
  const sourceEnd = index.blocks * BLOCK; // block-wise runs use whole source blocks
  let prevEnd = 0;
  let resume = 0; // where the scan goes on after the last run: its block-wise end
  let p = 0;
  /** Whether target [p, p+BLOCK) equals source block `block` (the window is buffered). */
  const sameBlock = async (block: number): Promise<boolean> => {
    const c = await chunks.at(block * BLOCK); // a block never straddles chunks (BLOCK divides chunk sizes)
    const q = p - win.base;
    const s = (block * BLOCK) % cb;
    return win.buf.compare(c, s, s + BLOCK, q, q + BLOCK) === 0;
  };
  for (const region of regions) {
    const size = region.end;
    p = Math.max(region.start, resume); // a run may have reached into this region
    win.seek(p);
    let h = 0;
    let nonZero = 1;
    let fresh = true;
    while (p + BLOCK <= size) {
      let end = Math.min(await win.ensure(p, BLOCK + 1), size);
      let buf = win.buf;
      const at = p - win.base;
      if (fresh) {
        startWindow(buf, at);
        h = rolled[1]!;
        fresh = false;
      }
      // Roll through the buffered bytes until something happens.
      rolled[1] = h;
      const candidate = rollToCandidate(buf, at, end - BLOCK - win.base, index);
      p += rolled[0]! - at;
      h = rolled[1]!;
      nonZero = rolled[2]!;
      if (candidate < 0 && nonZero !== 0 && end >= size) p = size; // no further full window
      if (p + BLOCK > size) break;
      if (nonZero === 0) {
        // A zero window: extend the zero span as far as it goes.
        const start = p;
        p += BLOCK;
        for (;;) {
          end = Math.min(await win.ensure(p, 1), size);
          buf = win.buf;
          const lim = end - win.base;
          const i = skipZeros(buf, p - win.base, lim);
          p = win.base + i;
          if (i < lim || end >= size) break;
        }
        zeros.push({ start, end: p });
        fresh = true;
        continue;
      }
      if (candidate < 0) continue; // refill
      if (!(await sameBlock(candidate))) {
        // A hash collision: roll one byte past it.
        if (p + BLOCK >= size) break;
        await win.ensure(p, BLOCK + 1);
        const q = p - win.base;
        h = roll(h, win.buf[q]!, win.buf[q + BLOCK]!);
        p++;
        continue;
      }
      // A run. Its start, refined backwards within what is buffered of both images.
      let start = p;
      let s = candidate * BLOCK;
      let back = Math.min(BLOCK - 1, p - prevEnd, s, p - win.base);
      while (back > 0) {
        const c = await chunks.at(s - 1);
        const o = ((s - 1) % cb) + 1;
        const lim = Math.min(back, o);
        const k = agreeBefore(win.buf, start - win.base, c, o, lim);
        start -= k;
        s -= k;
        back = k < lim ? 0 : back - k;
      }
      const runSource = s;
      // Follow it while target and source bytes agree, whole blocks at a time.
      s = (candidate + 1) * BLOCK;
      p += BLOCK;
      for (;;) {
        const knownEnd = known ? known.endAt(p, s) : p;
        const through = knownEnd - p >= BLOCK;
        const tEnd = through ? win.pass(p, STRIDE_BYTES) : await win.ensure(p, STRIDE_BYTES);
        if (s >= sourceEnd) break;
        const o = s % cb;
        const n = Math.floor(Math.min(STRIDE_BYTES, tEnd - p, Math.min(cb, source.size - (s - o)) - o, sourceEnd - s, target.size - p) / BLOCK) * BLOCK;
        if (n <= 0) break;
        if (p + n <= knownEnd) {
          p += n;
          s += n;
          continue;
        }
        await win.catchUp(); // reads what pass() skipped
        const c = await chunks.at(s);
        const q = p - win.base;
        if (win.buf.compare(c, o, o + n, q, q + n) === 0) {
          p += n;
          s += n;
          continue;
        }
        let k = 0;
        while (k < n && win.buf.compare(c, o + k, o + k + BLOCK, q + k, q + k + BLOCK) === 0) k += BLOCK;
        p += k;
        s += k;
        break;
      }
      // Its end, refined forwards; the scan goes on from the block-wise end (a run may start there).
      const blockEnd = p;
      let fwd = Math.min(BLOCK - 1, target.size - p, source.size - s);
      while (fwd > 0) {
        const tEnd = await win.ensure(p, BLOCK);
        const c = await chunks.at(s);
        const o = s % cb;
        const lim = Math.min(fwd, c.length - o, tEnd - p);
        const k = agreeAfter(win.buf, p - win.base, c, o, lim);
        p += k;
        s += k;
        fwd = k < lim ? 0 : fwd - k;
      }
      runs.push({ target: start, source: runSource, length: p - start });
      prevEnd = p;
      p = resume = blockEnd;
      win.seek(p);
      fresh = true;
    }
  }
  // The window and the chunks are garbage from here: their memory goes back now, not at the next full collection.
  win.release();
  chunks.release();
  return { runs, zeros };
}

/**
 * Every run of the target that exists in the source (runs shorter than
 * `minRun` are dropped), and the target's zero spans that no run covers.
 */
export async function matchImages(target: ByteSource, source: ByteSource, opts: { minRun?: number } = {}): Promise<MatchResult> {
  const minRun = opts.minRun ?? BLOCK;
  return finish(await scanRuns(target, source, await indexSource(source)), minRun);
}

/** Merges what scans found into a result: runs shorter than `minRun` dropped, zeros only where no run provides the bytes. */
export function finish(scanned: Scanned, minRun = BLOCK): MatchResult {
  const runs = settleRuns(scanned.runs, minRun);
  const zeros = subtractSpans(mergeSpans(scanned.zeros), runSpans(runs));
  return { runs, zeros: zeros.filter((z) => z.end - z.start >= BLOCK) };
}
