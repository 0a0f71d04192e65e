/**
 * Finds every long byte run of a target image that also exists in a source
 * image, wherever it moved (the publisher side of the delta hints).
 *
 * The rsync idea, done once by the publisher for all clients:
 *  1. Index the source: for every BLOCK-aligned block of the source, two
 *     independent 32-bit polynomial hashes (a 64-bit key), in an
 *     open-addressing table (first occurrence wins). All-zero blocks are not
 *     indexed: zeros need no source (see `zeros`).
 *  2. Roll a BLOCK-byte window over the target one byte at a time. When the
 *     window's key is in the table, a run starts; it continues block by block
 *     as long as the next target block has the key of the next source block,
 *     so a moved file costs one probe per block, not per byte.
 *  3. Refine each run's ends byte by byte against the real bytes (a run may
 *     start up to BLOCK-1 bytes before its first aligned source block), then
 *     merge runs that continue each other.
 * Any run of at least 2*BLOCK-1 shared bytes is found, at any offset; a
 * moved, unchanged ISO file is found whole (its sectors are BLOCK-aligned).
 * Memory: 12 bytes per source block plus the table (~40 bytes per source KiB
 * at BLOCK = 512), and one chunk of the target.
 */
import type { ByteSource } from '../store/byte-source.js';
import { mergeSpans, normalizeRuns, runSpans, subtractSpans, type CopyRun, type Span } from './runs.js';

/** Window and source block size: small enough to catch runs inside changed packages. */
export const BLOCK = 512;
/** Target bytes read per step; the window carries over between chunks. */
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Multipliers of the two rolling hashes (odd, well-mixed 32-bit constants). */
const P1 = 0x01000193;
const P2 = 0x5bd1e995;

export interface MatchResult {
  /** Target runs that exist in the source, sorted, non-overlapping. */
  runs: CopyRun[];
  /** Target spans of at least BLOCK bytes that are all zero (need no source). */
  zeros: Span[];
}

/** P^(BLOCK-1) mod 2^32, to remove the outgoing byte when rolling. */
function powBlock(p: number): number {
  let r = 1;
  for (let i = 0; i < BLOCK - 1; i++) r = Math.imul(r, p);
  return r;
}
const P1_OUT = powBlock(P1);
const P2_OUT = powBlock(P2);

function hashAt(buf: Uint8Array, at: number, p: number): number {
  let h = 0;
  for (let i = at, end = at + BLOCK; i < end; i++) h = (Math.imul(h, p) + buf[i]!) | 0;
  return h;
}

function isZero(buf: Uint8Array, at: number, len: number): boolean {
  for (let i = at, end = at + len; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The source's block keys and a lookup table from key to first block index. */
class SourceIndex {
  readonly h1: Int32Array;
  readonly h2: Int32Array;
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(readonly blocks: number) {
    this.h1 = new Int32Array(blocks);
    this.h2 = new Int32Array(blocks);
    let size = 1024;
    while (size < blocks * 2) size *= 2;
    this.table = new Int32Array(size); // block index + 1; 0 = empty
    this.mask = size - 1;
  }

  set(block: number, h1: number, h2: number, zero: boolean): void {
    this.h1[block] = h1;
    this.h2[block] = h2;
    if (zero) return;
    let slot = (h1 ^ (h2 >>> 7)) & this.mask;
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

  find(h1: number, h2: number): number {
    let slot = (h1 ^ (h2 >>> 7)) & this.mask;
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
  for (let b = 0; b < blocks; b += perChunk) {
    const n = Math.min(perChunk, blocks - b);
    const buf = await source.read(b * BLOCK, n * BLOCK);
    for (let i = 0; i < n; i++) {
      const at = i * BLOCK;
      index.set(b + i, hashAt(buf, at, P1), hashAt(buf, at, P2), isZero(buf, at, BLOCK));
    }
  }
  return index;
}

/** Reads the target sequentially in chunks, keeping a tail so a window never splits. */
class Window {
  buf: Uint8Array = new Uint8Array(0);
  base = 0; // target offset of buf[0]
  constructor(private readonly src: ByteSource) {}

  /** Makes sure [pos, pos+need) is buffered when it exists; returns the buffered end. */
  async ensure(pos: number, need: number): Promise<number> {
    const end = this.base + this.buf.length;
    if (pos + need <= end || end >= this.src.size) return end;
    const keepFrom = Math.min(pos, end);
    const readLen = Math.min(CHUNK_BYTES, this.src.size - end);
    const fresh = await this.src.read(end, readLen);
    const kept = this.buf.subarray(keepFrom - this.base);
    const next = new Uint8Array(kept.length + fresh.length);
    next.set(kept, 0);
    next.set(fresh, kept.length);
    this.buf = next;
    this.base = keepFrom;
    return this.base + this.buf.length;
  }
}

/** Scans the target for source runs at block granularity (step 2). */
async function scan(target: ByteSource, index: SourceIndex): Promise<{ runs: CopyRun[]; zeros: Span[] }> {
  const runs: CopyRun[] = [];
  const zeros: Span[] = [];
  const win = new Window(target);
  const size = target.size;
  let p = 0;
  let h1 = 0;
  let h2 = 0;
  let nonZero = 0;
  let fresh = true;
  while (p + BLOCK <= size) {
    let end = await win.ensure(p, BLOCK + 1);
    let buf = win.buf;
    let at = p - win.base;
    if (fresh) {
      h1 = hashAt(buf, at, P1);
      h2 = hashAt(buf, at, P2);
      nonZero = 0;
      for (let i = at; i < at + BLOCK; i++) if (buf[i] !== 0) nonZero++;
      fresh = false;
    }
    // Roll through the buffered bytes until something happens.
    for (;;) {
      if (nonZero === 0) {
        // A zero window: extend the zero span as far as it goes.
        const start = p;
        p += BLOCK;
        for (;;) {
          end = await win.ensure(p, 1);
          buf = win.buf;
          let i = p - win.base;
          const lim = end - win.base;
          while (i < lim && buf[i] === 0) i++;
          p = win.base + i;
          if (i < lim || end >= size) break;
        }
        zeros.push({ start, end: p });
        fresh = true;
        break;
      }
      const block = index.find(h1, h2);
      if (block >= 0) {
        const start = p;
        let s = (block + 1) * BLOCK;
        p += BLOCK;
        // Continue block by block while target and source keep agreeing.
        while (p + BLOCK <= size && s + BLOCK <= index.blocks * BLOCK) {
          await win.ensure(p, BLOCK);
          const k = s / BLOCK;
          const q = p - win.base;
          if (hashAt(win.buf, q, P1) !== index.h1[k] || hashAt(win.buf, q, P2) !== index.h2[k]) break;
          p += BLOCK;
          s += BLOCK;
        }
        runs.push({ target: start, source: block * BLOCK, length: p - start });
        fresh = true;
        break;
      }
      // Roll one byte.
      if (p + BLOCK >= size) {
        p = size; // no further full window
        break;
      }
      if (p + BLOCK >= end) break; // refill, then continue rolling (hashes stay valid)
      const out = buf[at]!;
      const inb = buf[at + BLOCK]!;
      h1 = (Math.imul(h1 - Math.imul(out, P1_OUT), P1) + inb) | 0;
      h2 = (Math.imul(h2 - Math.imul(out, P2_OUT), P2) + inb) | 0;
      if (out !== 0) nonZero--;
      if (inb !== 0) nonZero++;
      p++;
      at++;
    }
  }
  return { runs, zeros };
}

/** Grows runs byte by byte at both ends against the real bytes (step 3). */
async function refine(target: ByteSource, source: ByteSource, runs: CopyRun[]): Promise<CopyRun[]> {
  const out: CopyRun[] = [];
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    const prevEnd = i > 0 ? runs[i - 1]!.target + runs[i - 1]!.length : 0;
    const nextStart = i + 1 < runs.length ? runs[i + 1]!.target : target.size;
    let { target: t, source: s, length } = r;
    // Backwards: at most BLOCK-1 bytes, not into the previous run.
    const back = Math.min(BLOCK - 1, t - prevEnd, s);
    if (back > 0) {
      const tb = await target.read(t - back, back);
      const sb = await source.read(s - back, back);
      let k = 0;
      while (k < back && tb[back - 1 - k] === sb[back - 1 - k]) k++;
      t -= k;
      s -= k;
      length += k;
    }
    // Forwards: at most BLOCK-1 bytes, not into the next run.
    const fwd = Math.min(BLOCK - 1, nextStart - (t + length), source.size - (s + length));
    if (fwd > 0) {
      const tb = await target.read(t + length, fwd);
      const sb = await source.read(s + length, fwd);
      let k = 0;
      while (k < fwd && tb[k] === sb[k]) k++;
      length += k;
    }
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
  const scanned = await scan(target, index);
  const runs = (await refine(target, source, scanned.runs)).filter((r) => r.length >= minRun);
  // Zeros stay only where no run already provides the bytes.
  const zeros = subtractSpans(mergeSpans(scanned.zeros), runSpans(runs));
  return { runs, zeros: zeros.filter((z) => z.end - z.start >= BLOCK) };
}
