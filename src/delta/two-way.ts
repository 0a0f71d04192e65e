/**
 * Both hint directions of a pair of images at once: `from` (the newer image
 * built from the older) and `to` (the older built from the newer), for
 * less than twice the cost of one.
 *
 *  1. `from` is the matcher's: index the older image, scan the newer.
 *  2. `to` starts from the `from` runs turned around: "newer [t, t+n) =
 *     older [s, s+n)" is also "older [s, s+n) = newer [t, t+n)".
 *  3. Only the gaps of the older image those runs leave are scanned (changed
 *     content, and content the newer image holds once where the older holds
 *     it twice), against an index of the newer image. That index costs
 *     little: a newer block inside a `from` run whose offset moved by whole
 *     blocks has the hashes of its older block, already computed in step 1;
 *     only the other blocks are read and hashed.
 * Every run the whole-image scan of the older image would find lies in a
 * gap or in a turned-around run, so `to` covers the same bytes.
 */
import type { ByteSource } from '../store/byte-source.js';
import { readInto } from '../store/byte-source.js';
import { mergeSpans, subtractSpans } from '../core/span.js';
import { finish, scanRuns, type MatchResult } from './matcher.js';
import { BLOCK, hashPair, hashWords, pair, wordsOf } from './rolling-hash.js';
import { WINDOW_EXTRA_BYTES } from './scan-window.js';
import { runSpans, type CopyRun } from './runs.js';
import { indexSource, SourceIndex, type Lookup } from './source-index.js';
import { blockHasher, type BlockHasher } from './block-hash.js';
import { giveBack } from '../core/give-back.js';

/**
 * Bytes read at once while hashing the newer image's blocks that no run gives, and the rest of it
 * for the pieces: 1 MiB, as the index and the scan read (8 MiB reads took 7 MiB more of publish's peak).
 */
const READ_BYTES = 1024 * 1024;
/** How far a gap's scan reaches into the turned runs around it: a window that sees BLOCK bytes of a run ending in the gap starts within it. */
const REACH = 2 * BLOCK;
/** Older-image bytes read at once in the gap scan: gaps are small and far apart. */
const GAP_READ_BYTES = 256 * 1024;
/** Block ranges to hash closer than this are read together: fewer, larger reads. */
const JOIN_BYTES = 256 * 1024;

export interface TwoWay {
  readonly from: MatchResult;
  readonly to: MatchResult;
}

export interface TwoWayOptions {
  readonly minRun?: number;
  /**
   * Every byte of the newer image, once, in order (the scan for `from` reads
   * it whole, and what it leaves at the end is read after it): the caller
   * hashes the torrent's pieces in the same pass.
   */
  readonly onNewerBytes?: (bytes: Uint8Array, offset: number) => void;
}

export async function matchBothWays(newer: ByteSource, older: ByteSource, opts: TwoWayOptions = {}): Promise<TwoWay> {
  const minRun = opts.minRun ?? BLOCK;
  // One hasher (its WebAssembly memory: block-hash.ts) for both images' blocks: a second one was allocated while the
  // first's memory, which cannot be given back at once, waited for a full collection.
  // Also the memory both scans read the newer and the older image into, idle then (1 MiB less at either scan's peak).
  const hasher = blockHasher(READ_BYTES + WINDOW_EXTRA_BYTES);
  const memory = hasher ? { memory: hasher.buf } : {};
  // Its hash arrays with room for the newer image's blocks too: they become the newer index's (deriveIndex).
  let olderIndex: SourceIndex | undefined = await indexSource(older, hasher, Math.floor(newer.size / BLOCK));
  let seen = 0;
  const onRead = opts.onNewerBytes;
  const onTargetRead = onRead
    ? (bytes: Uint8Array, offset: number) => {
        onRead(bytes, offset);
        seen = offset + bytes.length;
      }
    : undefined;
  const from = finish(await scanRuns(newer, older, olderIndex, undefined, { ...memory, ...(onTargetRead ? { onTargetRead } : {}) }), minRun);
  if (onRead && seen < newer.size) {
    const rest = Buffer.allocUnsafe(Math.min(READ_BYTES, newer.size - seen));
    for (let off = seen; off < newer.size; off += rest.length) {
      const n = Math.min(rest.length, newer.size - off);
      await readInto(newer, rest, 0, off, n);
      onRead(rest.subarray(0, n), off);
    }
    giveBack(rest);
  }
  // From here only the older blocks' hashes are wanted (deriveIndex): the table and the filter go before the newer index is made.
  const spare = olderIndex.dropLookup();
  const turned: CopyRun[] = from.runs.map((r) => ({ target: r.source, source: r.target, length: r.length }));
  // Each gap widened by REACH on both sides: a run that starts in a turned run and reaches into the gap is found too.
  const gaps = mergeSpans(
    subtractSpans([{ start: 0, end: older.size }], runSpans(turned)).map((g) => ({ start: Math.max(0, g.start - REACH), end: Math.min(older.size, g.end + REACH) })),
  );
  // The older index is dropped before the await: deriveIndex takes its hash arrays before its first await.
  const derived = gaps.length > 0 ? deriveIndex(newer, olderIndex, from.runs, spare, hasher) : undefined;
  // What deriveIndex did not take goes back now, not at the next full collection (the look-up arrays, when nothing took them).
  olderIndex.release();
  if (!derived) for (const a of [spare.table, spare.filter, spare.quick]) giveBack(a);
  olderIndex = undefined;
  const newerIndex = derived ? await derived : undefined;
  const gapScan = newerIndex ? await scanRuns(older, newer, newerIndex, gaps, { readBytes: GAP_READ_BYTES, scattered: true, known: turned, ...memory }) : { runs: [], zeros: [] };
  newerIndex?.release();
  const to = finish({ runs: [...turned, ...gapScan.runs], zeros: gapScan.zeros }, minRun);
  return { from, to };
}

/**
 * The newer image's index: hashes taken from the older image's index where a run moved whole blocks, computed for the
 * rest. `olderIndex` is used only before the first await (the caller then lets it go); `spare`: its dropped look-up arrays.
 * The newer index keeps its hashes in the older index's arrays (dropHashes: two-way's indexSource gave them room for
 * the newer blocks), turned around in place with the dropped table as scratch (its table is zeroed and filled only
 * once every hash is known): nothing of the index's size is allocated while the older one waits for the collector.
 */
function deriveIndex(newer: ByteSource, olderIndex: SourceIndex, runs: readonly CopyRun[], spare: Lookup, hasher: BlockHasher | undefined): Promise<SourceIndex> {
  const blocks = Math.floor(newer.size / BLOCK);
  const olderBlocks = olderIndex.blocks;
  const older = olderIndex.dropHashes();
  const scratch = spare.table.length >= olderBlocks ? spare.table : new Int32Array(olderBlocks);
  const known = new Uint8Array(blocks);
  const h1 = copyKnown(older.h1, olderBlocks, blocks, runs, scratch, known);
  const h2 = copyKnown(older.h2, olderBlocks, blocks, runs, scratch);
  // The hashes go straight into the index (no copy of them), and into its table in block order once all are known.
  const index = new SourceIndex(blocks, spare, { h1, h2 });
  return hashUnknown(newer, unknownRanges(blocks, known), known, index, hasher).then(() => {
    index.buildLookup();
    return index;
  });
}

/**
 * Turns `h`, one hash of each of the older image's `olderBlocks` blocks, into
 * the newer image's: a newer block that a run maps onto a whole older block
 * gets that block's hash (marked in `known` when given), every other one 0.
 * In place when `h` has room for `blocks` (the older values wait in
 * `scratch`), else into a new array. Synchronous (as are unknownRanges and
 * hashBlocks): a loop over every block of the image inside the async
 * deriveIndex ran unoptimized (~0.1 CPU s on the DVD pair).
 */
function copyKnown(h: Int32Array, olderBlocks: number, blocks: number, runs: readonly CopyRun[], scratch: Int32Array, known?: Uint8Array): Int32Array {
  let from = h;
  let to: Int32Array;
  if (h.length >= blocks) {
    from = scratch;
    from.set(h.subarray(0, olderBlocks));
    to = h.fill(0);
  } else {
    to = new Int32Array(blocks);
  }
  for (const r of runs) {
    const delta = r.source - r.target;
    if (delta % BLOCK !== 0) continue;
    const last = Math.min(Math.floor((r.target + r.length) / BLOCK), blocks);
    for (let b = Math.ceil(r.target / BLOCK); b < last; b++) {
      const ob = b + delta / BLOCK;
      if (ob < 0 || ob >= olderBlocks) continue;
      to[b] = from[ob]!;
      if (known) known[b] = 1;
    }
  }
  return to;
}

/** Hashes the blocks not `known` in `ranges`, reading each range whole. All-zero blocks keep hashes 0 (not indexed). */
async function hashUnknown(src: ByteSource, ranges: readonly { start: number; end: number }[], known: Uint8Array, index: SourceIndex, hasher: BlockHasher | undefined): Promise<void> {
  // `hasher`: WebAssembly SIMD where there is some (block-hash.ts), made for READ_BYTES
  const buf = hasher?.buf ?? Buffer.allocUnsafe(READ_BYTES);
  const words = wordsOf(buf);
  for (const r of ranges) {
    for (let off = r.start; off < r.end; off += READ_BYTES) {
      const n = Math.min(READ_BYTES, r.end - off);
      await readInto(src, buf, 0, off, n);
      if (hasher) storeUnknown(hasher.hash(0, n / BLOCK), n / BLOCK, off / BLOCK, known, index);
      else hashBlocks(buf, words, n, off / BLOCK, known, index);
    }
  }
}

/** Stores the hashes in `out` (block first + i's at out[2i], out[2i+1]) of the n blocks from `first` on not `known`. */
function storeUnknown(out: Int32Array, n: number, first: number, known: Uint8Array, index: SourceIndex): void {
  for (let i = 0; i < n; i++) if (!known[first + i]) index.setHashes(first + i, out[2 * i]!, out[2 * i + 1]!);
}

/** The byte ranges holding the blocks not `known`, nearby ones joined: fewer, larger reads. */
function unknownRanges(blocks: number, known: Uint8Array): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (let b = 0; b < blocks; ) {
    if (known[b]) {
      b++;
      continue;
    }
    let e = b;
    while (e < blocks && !known[e]) e++;
    const last = ranges[ranges.length - 1];
    if (last && b * BLOCK - last.end < JOIN_BYTES) last.end = e * BLOCK;
    else ranges.push({ start: b * BLOCK, end: e * BLOCK });
    b = e;
  }
  return ranges;
}

/** Hashes the blocks in `buf` not `known`, read as words when `words` views it (rolling-hash.ts hashWords). */
function hashBlocks(buf: Uint8Array, words: Int32Array | undefined, n: number, first: number, known: Uint8Array, index: SourceIndex): void {
  for (let i = 0; i < n; i += BLOCK) {
    const b = first + i / BLOCK;
    if (known[b]) continue;
    if (words) hashWords(words, i >>> 2);
    else hashPair(buf, i);
    if (pair[2] !== 0) index.setHashes(b, pair[0]!, pair[1]!);
  }
}
