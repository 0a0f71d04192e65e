/**
 * The matcher's index of a source image (delta/matcher.ts, step 1): for every
 * BLOCK-aligned block, its rolling and second hash (rolling-hash.ts), in an
 * open-addressing table of (hash, block) pairs (first occurrence wins) behind
 * a filter of at most 2 MiB (two bits per block, filterBits), itself behind a quick
 * filter of at most 512 KiB (three bits per block, quickBits): most misses
 * are answered from cache. All-zero blocks are not indexed: zeros need no source.
 */
import { giveBack } from '../core/give-back.js';
import type { ByteSource } from '../store/byte-source.js';
import { readInto } from '../store/byte-source.js';
import { BLOCK, hashPair, hashWords, pair, wordsOf } from './rolling-hash.js';
import { blockHasher, type BlockHasher } from './block-hash.js';

/** Bytes read per step: sequential reads into one reused buffer, synchronous for a local file (1 MiB: store/exact-io.ts). */
const CHUNK_BYTES = 1024 * 1024;
/** Golden-ratio multiplier that spreads a hash's bits for the table slot and the filter bit. */
export const MIX = 0x9e3779b1 | 0;
/** Filter bits at most (2^24 = 2 MiB): a large image's filter stays within what a core's caches can mostly keep. */
const FILTER_MAX_LOG2 = 24;
/**
 * Filter bits per block at least (below the most): 8, the smallest power of two above, so 8-16. The 348 MiB DVD
 * image's filter is 1 MiB, not 2 (2^23 bits: 2 of 12 bits a block set, the words the quick filter lets through
 * pass falsely ~2.4 % of the time against ~0.7 %, some 25,000 more table look-ups in a scan of ~21 million bytes),
 * 1 MiB less at the peak of either scan of publish --previous.
 */
const FILTER_BITS_PER_BLOCK = 8;
/** Filter words at least (4 KiB). */
const FILTER_MIN_LOG2 = 15;

/**
 * The two filter bits of rolling hash `h1` in its filter word (m = h1 * MIX,
 * word m >>> filterShift, at most the top 19 bits): bit (m >>> 8) & 31 and bit h1 >>> 27. Two
 * bits in one word: a miss costs one memory access, as with one bit, and
 * passes for a hit far less often: on a 348 MiB pair, 207,000 false hits in
 * 21 million rolled bytes, against 797,000 with one bit per block (each a
 * look-up in the table that misses the CPU cache) and 432,000 with two bits
 * in one byte (the two were the same bit one time in eight).
 */
export function filterBits(m: number, h1: number): number {
  return (1 << ((m >>> 8) & 31)) | (1 << (h1 >>> 27));
}

/** Multiplier of the quick filter's hash (an odd constant unrelated to MIX, so the two filters miss independently). */
export const QUICK_MIX = 0x85ebca6b | 0;
/** The quick filter's words at most (2^17: 512 KiB, which a core's L2 cache mostly keeps). */
const QUICK_MAX_LOG2 = 17;

/**
 * The three quick-filter bits of q = h1 * QUICK_MIX in its word (q >>> quickShift).
 * In front of the 2 MiB filter, which the rolling scan otherwise reads at
 * every byte it rolls: on a loaded machine each of those reads missed the
 * CPU caches (~50 ns per rolled byte on the 348 MiB DVD pair at load 20-30),
 * where the 512 KiB quick filter mostly stays cached and passes ~7% of the
 * windows on to the large one (rolling took ~35% less CPU, same pair and load).
 */
export function quickBits(q: number): number {
  return (1 << (q & 31)) | (1 << ((q >>> 5) & 31)) | (1 << ((q >>> 10) & 31));
}

/**
 * An index's look-up arrays: dropLookup() hands them over, and an index of the
 * same size made next takes them (zeroed) instead of allocating its own.
 */
export interface Lookup {
  readonly table: Int32Array;
  readonly filter: Int32Array;
  readonly quick: Int32Array;
}

/** Every block's rolling hash (h1) and second hash (h2), by block (an all-zero block's both 0). */
export interface BlockHashes {
  readonly h1: Int32Array;
  readonly h2: Int32Array;
}

/** `spare` zeroed when it has `length` words, else a new array. */
function reuse(spare: Int32Array | undefined, length: number): Int32Array {
  return spare && spare.length === length ? spare.fill(0) : new Int32Array(length);
}

/** The source's block hashes (rolling and second), a table from rolling hash to block, and two bit filters in front of it. */
export class SourceIndex {
  private h1: Int32Array;
  private h2: Int32Array;
  private table: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  /** The filter words (matcher.ts reads them directly); empty after dropLookup(). */
  filter: Int32Array;
  /** The quick filter's words, read first (quickBits); empty after dropLookup(). */
  quick: Int32Array;
  /** Shift from h1 * QUICK_MIX to its quick-filter word. */
  readonly quickShift: number;
  /** Shift from h1 * MIX to its filter word: the top bits pick one of the 32-bit words. */
  readonly filterShift: number;

  /**
   * `spare`: the look-up arrays of an index dropped before (dropLookup), reused where their sizes fit.
   * `hashes`: arrays of at least `blocks` words to keep the hashes in (dropHashes of an index before,
   * holding this one's hashes already: two-way.ts), else new ones, or `capacity` words when larger
   * (so that the next index, of a larger image, can take them).
   */
  constructor(
    readonly blocks: number,
    spare?: Lookup,
    hashes?: BlockHashes,
    capacity = blocks,
  ) {
    let qlog2 = 10;
    while (qlog2 < QUICK_MAX_LOG2 && 1 << qlog2 < blocks / 8) qlog2++;
    this.quick = reuse(spare?.quick, 1 << qlog2);
    let flog2 = FILTER_MIN_LOG2;
    while (flog2 < FILTER_MAX_LOG2 && 2 ** flog2 < blocks * FILTER_BITS_PER_BLOCK) flog2++;
    this.filter = reuse(spare?.filter, 1 << (flog2 - 5));
    this.filterShift = 32 - (flog2 - 5);
    this.quickShift = 32 - qlog2;
    const words = Math.max(blocks, capacity);
    this.h1 = hashes && hashes.h1.length >= blocks ? hashes.h1 : new Int32Array(words);
    this.h2 = hashes && hashes.h2.length >= blocks ? hashes.h2 : new Int32Array(words);
    // At least 1.25 slots per block (a load of 0.8 at most; 0.68 for the 348 MiB DVD image): the filter answers most
    // misses before the table is probed. Twice the blocks, rounded up, took 8 MiB there, 4 MiB more of publish's peak.
    let log2 = 10;
    while (1 << log2 < blocks + (blocks >> 2)) log2++;
    this.table = reuse(spare?.table, 1 << log2); // block index + 1; 0 = empty
    this.shift = 32 - log2;
    this.mask = (1 << log2) - 1;
  }

  /** Adds a block (not all zero) with its two hashes; the first block with both hashes wins. */
  set(block: number, h1: number, h2: number): void {
    this.h1[block] = h1;
    this.h2[block] = h2;
    this.insert(block);
  }

  /**
   * Stores a block's hashes without adding it to the table and the filter
   * (buildLookup() adds them all, in block order): for an index whose
   * blocks arrive out of order (two-way.ts), with no copy of the hashes.
   */
  setHashes(block: number, h1: number, h2: number): void {
    this.h1[block] = h1;
    this.h2[block] = h2;
  }

  /** Adds every block stored by setHashes() whose hashes are not both 0 (an all-zero block), in block order. */
  buildLookup(): void {
    this.insertStored(0, this.blocks);
  }

  /**
   * Adds blocks [first, first + n) stored by setHashes(), in block order,
   * skipping all-zero ones (hashes both 0). Hashing a chunk's blocks first and
   * adding them after, in a loop of nothing but table and filter updates, lets
   * the CPU have several of those (random, mostly cache-missing) accesses in
   * flight at once, where one set() per block hashed waited for each in turn.
   */
  insertStored(first: number, n: number): void {
    const { h1, h2 } = this;
    for (let b = first, end = first + n; b < end; b++) if (h1[b] !== 0 || h2[b] !== 0) this.insert(b);
  }

  /**
   * Frees the table and the filter (3/4 of the index's memory on a large
   * image) once no more look-ups come: rollingOf() and secondOf() still
   * answer, has() and find() no longer do. Returns the arrays dropped, for
   * the next index to reuse (two-way.ts: the newer image's index of a pair of
   * about the same size takes them, 6.5 MiB for the DVD image, instead of
   * allocating as much again while they wait for the collector).
   */
  dropLookup(): Lookup {
    const dropped: Lookup = { table: this.table, filter: this.filter, quick: this.quick };
    this.table = new Int32Array(0);
    this.filter = new Int32Array(0);
    this.quick = new Int32Array(0);
    return dropped;
  }

  /**
   * Hands the hash arrays over (rollingOf() and secondOf() no longer answer; has() and find() must not be
   * asked after it): two-way.ts turns them, in place, into the newer image's, which would otherwise be
   * allocated (5.4 MiB for the DVD image) while these wait for the collector. They may be longer than `blocks`.
   */
  dropHashes(): BlockHashes {
    const dropped: BlockHashes = { h1: this.h1, h2: this.h2 };
    this.h1 = this.h2 = new Int32Array(0);
    return dropped;
  }

  /**
   * Gives the index's arrays' memory back now (core/give-back.ts), not at the next full collection: the
   * index answers nothing after it. Arrays handed over by dropLookup() are not this index's any more.
   */
  release(): void {
    for (const a of [this.h1, this.h2, this.table, this.filter, this.quick]) giveBack(a);
    this.table = this.filter = this.quick = new Int32Array(0);
  }

  private insert(block: number): void {
    const h1 = this.h1[block]!;
    const h2 = this.h2[block]!;
    const m = Math.imul(h1, MIX);
    this.filter[m >>> this.filterShift]! |= filterBits(m, h1);
    const q = Math.imul(h1, QUICK_MIX);
    this.quick[q >>> this.quickShift]! |= quickBits(q);
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

  /** Block `block`'s rolling hash (0 for an all-zero block, which is not indexed). */
  rollingOf(block: number): number {
    return this.h1[block]!;
  }

  /** Block `block`'s second hash (0 for an all-zero block). */
  secondOf(block: number): number {
    return this.h2[block]!;
  }

  /** Whether some block has rolling hash `h1`. */
  has(h1: number): boolean {
    if (this.table.length === 0) return false;
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
    if (this.table.length === 0) return -1;
    let slot = Math.imul(h1, MIX) >>> this.shift;
    for (;;) {
      const v = this.table[slot]!;
      if (v === 0) return -1;
      if (this.h1[v - 1] === h1 && this.h2[v - 1] === h2) return v - 1;
      slot = (slot + 1) & this.mask;
    }
  }
}

/**
 * `given`: a hasher to use (its memory read into) when it holds CHUNK_BYTES or more, else one is made.
 * `capacity`: blocks the hash arrays have room for, when more than the source's (see SourceIndex).
 */
export async function indexSource(source: ByteSource, given?: BlockHasher, capacity = 0): Promise<SourceIndex> {
  const blocks = Math.floor(source.size / BLOCK);
  const index = new SourceIndex(blocks, undefined, undefined, capacity);
  const perChunk = CHUNK_BYTES / BLOCK;
  // WebAssembly SIMD where there is some: read straight into its memory
  const hasher = given && given.buf.length >= CHUNK_BYTES ? given : blockHasher(CHUNK_BYTES);
  const buf = hasher?.buf ?? Buffer.allocUnsafe(CHUNK_BYTES); // one buffer for every chunk: fresh 8 MiB buffers cost page faults
  const words = wordsOf(buf);
  for (let b = 0; b < blocks; b += perChunk) {
    const n = Math.min(perChunk, blocks - b);
    await readInto(source, buf, 0, b * BLOCK, n * BLOCK);
    if (hasher) storeHashes(index, hasher.hash(0, n), b, n);
    else indexChunk(index, buf, words, b, n);
  }
  return index;
}

/** Adds blocks [first, first + n) from their hashes in `out` (block first + i's at out[2i], out[2i+1]; both 0 for an all-zero block). */
function storeHashes(index: SourceIndex, out: Int32Array, first: number, n: number): void {
  for (let i = 0; i < n; i++) index.setHashes(first + i, out[2 * i]!, out[2 * i + 1]!);
  index.insertStored(first, n);
}

/** Adds the n blocks in `buf` (block `first` on), read as words when `words` views it (rolling-hash.ts hashWords). */
function indexChunk(index: SourceIndex, buf: Uint8Array, words: Int32Array | undefined, first: number, n: number): void {
  for (let i = 0; i < n; i++) {
    if (words) hashWords(words, (i * BLOCK) >>> 2);
    else hashPair(buf, i * BLOCK);
    if (pair[2] !== 0) index.setHashes(first + i, pair[0]!, pair[1]!); // an all-zero block keeps hashes 0: insertStored skips it

  }
  index.insertStored(first, n);
}
