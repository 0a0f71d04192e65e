/**
 * Finds every long byte run of a target image that also exists in a source
 * image, wherever it moved (the publisher side of the delta hints).
 *
 * The rsync idea, done once by the publisher for all clients:
 *  1. Index the source: for every BLOCK-aligned block of the source, a 32-bit
 *     polynomial hash, in an open-addressing table of (hash, block) pairs
 *     (first occurrence wins) behind a 2 MiB bit filter that answers most
 *     misses from cache. All-zero blocks are not indexed: zeros need no
 *     source (see `zeros`).
 *  2. Roll a BLOCK-byte window over the target one byte at a time. When the
 *     window's hash is in the table and its bytes equal the source block's
 *     (compared, so a hash collision never makes a run), a run starts; it
 *     continues while the next target bytes equal the next source bytes,
 *     compared natively 64 KiB at a time, so a moved file costs one memcmp,
 *     not a hash per block.
 *  3. Refine each run's ends byte by byte against the real bytes (a run may
 *     start up to BLOCK-1 bytes before its first aligned source block), then
 *     merge runs that continue each other.
 * Any run of at least 2*BLOCK-1 shared bytes is found, at any offset; a
 * moved, unchanged ISO file is found whole (its sectors are BLOCK-aligned).
 * Memory: the table (16 bytes per source KiB at BLOCK = 512, 2 slots per
 * block), the filter, one chunk of the target and one of the source.
 */
import type { ByteSource } from '../store/byte-source.js';
import { readInto } from '../store/byte-source.js';
import { sameAfter, sameBefore, SOURCE_CHUNK_BYTES, SourceChunks } from './chunk-cache.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { normalizeRuns, runSpans, type CopyRun } from './runs.js';
import { BLOCK, hashPair, pair, roll } from './rolling-hash.js';

export { BLOCK };

/** Bytes read per step, target and source: large sequential reads; the window carries over between chunks. */
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Bytes compared at once while following a run: one memcmp for most moved files. */
const STRIDE_BYTES = 64 * 1024;
/** Chunks read while refining run ends (a few bytes at each of thousands of places): small, many kept. */
const REFINE_CHUNK_BYTES = 16 * 1024;
const REFINE_CHUNKS_KEPT = 64;
/** Golden-ratio multiplier that spreads a hash's bits for the table slot and the filter bit. */
const MIX = 0x9e3779b1 | 0;
/** Filter bits (2^24 = 2 MiB): with ~1.4 blocks per KiB of source, few false hits, and it stays in cache. */
const FILTER_LOG2 = 24;

export interface MatchResult {
  /** Target runs that exist in the source, sorted, non-overlapping. */
  runs: CopyRun[];
  /** Target spans of at least BLOCK bytes that are all zero (need no source). */
  zeros: Span[];
}

/** The source's block hashes (rolling and second), a table from rolling hash to block, and a bit filter in front of it. */
class SourceIndex {
  private readonly h1: Int32Array;
  private readonly h2: Int32Array;
  private readonly table: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  readonly filter = new Uint8Array(1 << (FILTER_LOG2 - 3));

  constructor(readonly blocks: number) {
    this.h1 = new Int32Array(blocks);
    this.h2 = new Int32Array(blocks);
    let log2 = 10;
    while (1 << log2 < blocks * 2) log2++;
    this.table = new Int32Array(1 << log2); // block index + 1; 0 = empty
    this.shift = 32 - log2;
    this.mask = (1 << log2) - 1;
  }

  /** Adds a block (not all zero) with its two hashes; the first block with both hashes wins. */
  set(block: number, h1: number, h2: number): void {
    this.h1[block] = h1;
    this.h2[block] = h2;
    const m = Math.imul(h1, MIX);
    const f = m >>> (32 - FILTER_LOG2);
    this.filter[f >>> 3]! |= 1 << (f & 7);
    let slot = m >>> this.shift;
    for (;;) {
      const v = this.table[slot]!;
      if (v === 0) {
        this.table[slot] = block + 1;
        return;
      }
      if (this.h1[v - 1] === h1 && this.h2[v - 1] === h2) return; // keep the first
      slot = (slot + 1) & this.mask;
    }
  }

  /** Whether some block has rolling hash `h1`. */
  has(h1: number): boolean {
    let slot = Math.imul(h1, MIX) >>> this.shift;
    for (;;) {
      const v = this.table[slot]!;
      if (v === 0) return false;
      if (this.h1[v - 1] === h1) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  /** First block with both hashes, or -1. */
  find(h1: number, h2: number): number {
    let slot = Math.imul(h1, MIX) >>> this.shift;
    for (;;) {
      const v = this.table[slot]!;
      if (v === 0) return -1;
      if (this.h1[v - 1] === h1 && this.h2[v - 1] === h2) return v - 1;
      slot = (slot + 1) & this.mask;
    }
  }
}

async function indexSource(source: ByteSource): Promise<SourceIndex> {
  const blocks = Math.floor(source.size / BLOCK);
  const index = new SourceIndex(blocks);
  const perChunk = CHUNK_BYTES / BLOCK;
  const buf = Buffer.allocUnsafe(CHUNK_BYTES); // one buffer for every chunk: fresh 8 MiB buffers cost page faults
  for (let b = 0; b < blocks; b += perChunk) {
    const n = Math.min(perChunk, blocks - b);
    await readInto(source, buf, 0, b * BLOCK, n * BLOCK);
    for (let i = 0; i < n; i++) {
      const at = i * BLOCK;
      hashPair(buf, at);
      if (pair[2] !== 0) index.set(b + i, pair[0]!, pair[1]!);
    }
  }
  return index;
}

/**
 * Reads the target sequentially in chunks, keeping a tail so a window never
 * splits. One buffer serves every chunk (the tail moves to its front), so
 * `buf` is valid only until the next `ensure`.
 */
class Window {
  /** Room for a chunk behind the longest tail kept (`need` is at most STRIDE_BYTES). */
  private readonly store = Buffer.allocUnsafe(CHUNK_BYTES + STRIDE_BYTES);
  buf: Buffer = this.store.subarray(0, 0);
  base = 0; // target offset of buf[0]
  constructor(private readonly src: ByteSource) {}

  /** Makes sure [pos, pos+need) is buffered when it exists; returns the buffered end. */
  async ensure(pos: number, need: number): Promise<number> {
    const end = this.base + this.buf.length;
    if (pos + need <= end || end >= this.src.size) return end;
    const keepFrom = Math.min(pos, end);
    const kept = end - keepFrom;
    const readLen = Math.min(CHUNK_BYTES, this.src.size - end);
    this.store.copyWithin(0, keepFrom - this.base, end - this.base);
    await readInto(this.src, this.store, kept, end, readLen);
    this.buf = this.store.subarray(0, kept + readLen);
    this.base = keepFrom;
    return this.base + this.buf.length;
  }
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

/** Where rollToCandidate stopped: [buffer position, rolling hash, non-zero bytes in the window]; hash and count are its input too. */
const rolled = new Int32Array(3);

/**
 * The rolling hash and non-zero count of the window at `buf[at]`, into
 * `rolled` (outside the async scan, whose own loops stay unoptimized).
 */
function startWindow(buf: Uint8Array, at: number): void {
  hashPair(buf, at);
  let nonZero = 0;
  for (let i = at; i < at + BLOCK; i++) if (buf[i] !== 0) nonZero++;
  rolled[1] = pair[0]!;
  rolled[2] = nonZero;
}

/**
 * Rolls the window from `buf[at]` one byte at a time until it is all zero,
 * or its hashes find a source block (returned), or it reaches `last` (the
 * last position whose window is buffered); -1 unless a block was found.
 * Synchronous and small, so the per-byte loop is optimized early.
 */
function rollToCandidate(buf: Uint8Array, at: number, last: number, index: SourceIndex): number {
  const filter = index.filter;
  const fshift = 32 - FILTER_LOG2;
  let h = rolled[1]!;
  let nonZero = rolled[2]!;
  let candidate = -1;
  for (;;) {
    if (nonZero === 0) break;
    const f = Math.imul(h, MIX) >>> fshift;
    if ((filter[f >>> 3]! & (1 << (f & 7))) !== 0 && index.has(h)) {
      hashPair(buf, at);
      candidate = index.find(h, pair[1]!);
      if (candidate >= 0) break;
    }
    if (at >= last) break; // refill (the hash stays valid) or the end of the target
    const out = buf[at]!;
    const inb = buf[at + BLOCK]!;
    h = roll(h, out, inb);
    if (out !== 0) nonZero--;
    if (inb !== 0) nonZero++;
    at++;
  }
  rolled[0] = at;
  rolled[1] = h;
  rolled[2] = nonZero;
  return candidate;
}

/** Scans the target for source runs at block granularity (step 2). */
async function scan(target: ByteSource, source: ByteSource, index: SourceIndex): Promise<{ runs: CopyRun[]; zeros: Span[] }> {
  const runs: CopyRun[] = [];
  const zeros: Span[] = [];
  const win = new Window(target);
  const chunks = new SourceChunks(source);
  const size = target.size;
  const sourceEnd = index.blocks * BLOCK; // runs use whole source blocks
  let p = 0;
  let h = 0;
  let nonZero = 0;
  let fresh = true;
  /** Whether target [p, p+BLOCK) equals source block `block` (the window is buffered). */
  const sameBlock = async (block: number): Promise<boolean> => {
    const c = await chunks.at(block * BLOCK); // a block never straddles chunks (BLOCK divides SOURCE_CHUNK_BYTES)
    const q = p - win.base;
    const s = (block * BLOCK) % SOURCE_CHUNK_BYTES;
    return win.buf.compare(c, s, s + BLOCK, q, q + BLOCK) === 0;
  };
  while (p + BLOCK <= size) {
    let end = await win.ensure(p, BLOCK + 1);
    let buf = win.buf;
    let at = p - win.base;
    if (fresh) {
      startWindow(buf, at);
      h = rolled[1]!;
      nonZero = rolled[2]!;
      fresh = false;
    }
    // Roll through the buffered bytes until something happens.
    rolled[1] = h;
    rolled[2] = nonZero;
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
        end = await win.ensure(p, 1);
        buf = win.buf;
        let i = p - win.base;
        const lim = end - win.base;
        i = skipZeros(buf, i, lim);
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
      const out = win.buf[q]!;
      const inb = win.buf[q + BLOCK]!;
      h = roll(h, out, inb);
      if (out !== 0) nonZero--;
      if (inb !== 0) nonZero++;
      p++;
      continue;
    }
    // A run: follow it while target and source bytes agree, whole blocks at a time.
    const start = p;
    let s = (candidate + 1) * BLOCK;
    p += BLOCK;
    for (;;) {
      const tEnd = await win.ensure(p, STRIDE_BYTES);
      if (s >= sourceEnd) break;
      const c = await chunks.at(s);
      const o = s % SOURCE_CHUNK_BYTES;
      const n = Math.floor(Math.min(STRIDE_BYTES, tEnd - p, c.length - o, sourceEnd - s, size - p) / BLOCK) * BLOCK;
      if (n <= 0) break;
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
    runs.push({ target: start, source: candidate * BLOCK, length: p - start });
    fresh = true;
  }
  return { runs, zeros };
}


/**
 * Grows runs byte by byte at both ends against the real bytes (step 3),
 * read through chunk caches of both images (mostly forward, each chunk read
 * once, its memory reused).
 */
async function refine(target: ByteSource, source: ByteSource, runs: CopyRun[]): Promise<CopyRun[]> {
  const out: CopyRun[] = [];
  const tc = new SourceChunks(target, REFINE_CHUNK_BYTES, REFINE_CHUNKS_KEPT);
  const sc = new SourceChunks(source, REFINE_CHUNK_BYTES, REFINE_CHUNKS_KEPT);
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    const prevEnd = i > 0 ? runs[i - 1]!.target + runs[i - 1]!.length : 0;
    const nextStart = i + 1 < runs.length ? runs[i + 1]!.target : target.size;
    let { target: t, source: s, length } = r;
    // Backwards: at most BLOCK-1 bytes, not into the previous run.
    const back = Math.min(BLOCK - 1, t - prevEnd, s);
    if (back > 0) {
      const k = await sameBefore(tc, t, sc, s, back);
      t -= k;
      s -= k;
      length += k;
    }
    // Forwards: at most BLOCK-1 bytes, not into the next run.
    const fwd = Math.min(BLOCK - 1, nextStart - (t + length), source.size - (s + length));
    if (fwd > 0) length += await sameAfter(tc, t + length, sc, s + length, fwd);
    out.push({ target: t, source: s, length });
  }
  return normalizeRuns(out);
}

/**
 * Every run of the target that exists in the source (runs shorter than
 * `minRun` are dropped), and the target's zero spans that no run covers.
 */
export async function matchImages(target: ByteSource, source: ByteSource, opts: { minRun?: number } = {}): Promise<MatchResult> {
  const minRun = opts.minRun ?? BLOCK;
  const index = await indexSource(source);
  const scanned = await scan(target, source, index);
  const runs = (await refine(target, source, scanned.runs)).filter((r) => r.length >= minRun);
  // Zeros stay only where no run already provides the bytes.
  const zeros = subtractSpans(mergeSpans(scanned.zeros), runSpans(runs));
  return { runs, zeros: zeros.filter((z) => z.end - z.start >= BLOCK) };
}
