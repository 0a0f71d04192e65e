/**
 * LZ4 HC block compression in "fill the output" mode, written to give the
 * same bytes as liblz4 1.9.4's LZ4_compress_HC_destSize at levels 1 to 9
 * (the hash-chain match finder), which is what mkfs.erofs (erofs-utils 1.5)
 * calls for each physical cluster of an lz4hc image: compress as much of
 * the input as fits in a fixed output (one 4 KiB block), report how much
 * input that took. Re-encoding a cluster from its uncompressed start thus
 * gives the very bytes mkfs.erofs stored, and the input consumed must land
 * on the next cluster's start (docs/DESIGN.md, "Re-encoded EROFS clusters").
 *
 * Why our own encoder: no npm package exposes LZ4_compress_HC_destSize in
 * pure JavaScript (docs/LIBRARIES.md). The algorithm follows the reference
 * library's behaviour step for step, since any other choice of match gives
 * valid LZ4 but different bytes:
 *  - positions are numbered from 65536 (a fresh context), the hash table
 *    (2^15 entries, Knuth's multiplicative hash of 4 bytes) holds the last
 *    position of each hash, the chain table (2^16 16-bit deltas, indexed by
 *    position mod 2^16) links each position to the previous one with the
 *    same hash, deltas capped at 65535;
 *  - each search walks at most 2^(level-1) candidates (256 at level 9),
 *    skips a candidate whose bytes at the current best length differ, and at
 *    level 9 jumps through runs of one repeated byte (pattern analysis);
 *  - the parse keeps up to three overlapping matches and trims the first
 *    ones (the "ML1 / ML2 / ML3" lazy evaluation), limits sequences to the
 *    output left, and ends with a literal run cut to fill the output.
 */

import { HcMatchFinder, MINMATCH, type Match } from './lz4hc-match.js';

/** Format constants of LZ4 blocks. */
const LASTLITERALS = 5;
const MFLIMIT = 12;
const MIN_LENGTH = MFLIMIT + 1;
const RUN_MASK = 15;
const ML_MASK = 15;
/** Longest first match kept whole when a second one overlaps it: (ML_MASK - 1) + MINMATCH. */
const OPTIMAL_ML = ML_MASK - 1 + MINMATCH;

export const LZ4HC_DEFAULT_LEVEL = 9;
/** Levels this encoder reproduces: 10 to 12 use the reference library's optimal parser, not ported. */
export const LZ4HC_MAX_CHAIN_LEVEL = 9;

export interface DestSizeResult {
  /** The compressed block (at most the capacity asked for). */
  readonly out: Uint8Array;
  /** Input bytes it holds, from the start given. */
  readonly consumed: number;
  /** Input bytes read, from the start given (at least `consumed`): the result depends on no byte past them. */
  readonly reach: number;
}

/**
 * An encoder; `destSize` may be called any number of times (each call starts
 * from a fresh context, as LZ4_compress_HC_destSize does).
 */
/** Where two matches overlap, the first one's length: at most OPTIMAL_ML, and leaving the second (at start2, ml2 long) at least MINMATCH bytes. */
function cutFirst(ip: number, ml: number, start2: number, ml2: number): number {
  const len = Math.min(ml, OPTIMAL_ML);
  return ip + len > start2 + ml2 - MINMATCH ? start2 - ip + ml2 - MINMATCH : len;
}

/** Moves a match's start `by` bytes on; returns its length after the move. */
function moveStart(m: Match, len: number, by: number): number {
  m.start += by;
  m.ref += by;
  return len - by;
}

export class Lz4HcEncoder {
  private readonly finder = new HcMatchFinder();

  /**
   * Compresses `src[start, start + srcSize)` into at most `capacity` bytes,
   * consuming as much input as fits. `level` 1 to 9 (below 1: 9). With
   * `into` (at least `capacity` bytes) the block is written there and `out`
   * is a view of it.
   */
  destSize(src: Uint8Array, start: number, srcSize: number, capacity: number, level = LZ4HC_DEFAULT_LEVEL, into?: Uint8Array): DestSizeResult {
    const lv = level < 1 ? LZ4HC_DEFAULT_LEVEL : Math.min(level, LZ4HC_MAX_CHAIN_LEVEL);
    this.finder.reset(src, start, lv <= 2 ? 2 : 1 << (lv - 1));
    const out = into && into.length >= capacity ? into.subarray(0, Math.max(0, capacity)) : new Uint8Array(Math.max(0, capacity));
    if (capacity < 1) return { out, consumed: 0, reach: 0 };
    return new Parse(this.finder, src, start, Math.max(0, Math.min(srcSize, src.length - start)), out).run();
  }
}

/** One destSize call: the parse over the input and the writer of the output block. */
class Parse {
  private op = 0;
  private ip: number;
  private anchor: number;
  /** Output end, less LASTLITERALS while sequences are written (room kept for the last literals). */
  private oend: number;
  private readonly iend: number;

  constructor(
    private readonly finder: HcMatchFinder,
    private readonly src: Uint8Array,
    private readonly start: number,
    srcSize: number,
    private readonly out: Uint8Array,
  ) {
    this.ip = start;
    this.anchor = start;
    this.iend = start + srcSize;
    this.oend = out.length - LASTLITERALS;
  }

  run(): DestSizeResult {
    const srcSize = this.iend - this.start;
    if (srcSize >= MIN_LENGTH && !this.sequences()) this.lastSequence();
    return this.lastLiterals();
  }

  /** The main loop; false when the output filled up (ip, anchor and the pending match set for lastSequence). */
  private sequences(): boolean {
    const enc = this.finder;
    const mflimit = this.iend - MFLIMIT;
    const matchlimit = this.iend - LASTLITERALS;
    const m1: Match = { len: 0, ref: 0, start: 0 };
    const m2: Match = { len: 0, ref: 0, start: 0 };
    const m3: Match = { len: 0, ref: 0, start: 0 };
    while (this.ip <= mflimit) {
      // Up to the next position where the first search may find a match (most have none).
      this.ip = enc.scan(this.ip, mflimit);
      if (this.ip > mflimit) break;
      let ml = enc.widerMatch(this.ip, this.ip, matchlimit, MINMATCH - 1, m1);
      if (ml < MINMATCH) {
        this.ip++;
        continue;
      }
      let ref = m1.ref;
      let start0 = this.ip;
      let ref0 = ref;
      let ml0 = ml;
      let ml2 = 0;
      let ml3 = 0;
      let state: 'search2' | 'search3' = 'search2';
      for (;;) {
        const ip = this.ip;
        if (state === 'search2') {
          ml2 = ip + ml <= mflimit ? enc.widerMatch(ip + ml - 2, ip, matchlimit, ml, m2) : ml;
          if (ml2 === ml) {
            if (!this.sequence(ml, ref)) return false;
            break;
          }
          if (start0 < ip && m2.start < ip + ml0) {
            this.ip = start0;
            ref = ref0;
            ml = ml0;
          }
          if (m2.start - this.ip < 3) {
            ml = ml2;
            this.ip = m2.start;
            ref = m2.ref;
            continue;
          }
          state = 'search3';
          continue;
        }
        // search3: ml2 > ml and ip + 3 <= start2.
        if (m2.start - ip < OPTIMAL_ML) {
          const correction = cutFirst(ip, ml, m2.start, ml2) - (m2.start - ip);
          if (correction > 0) ml2 = moveStart(m2, ml2, correction);
        }
        ml3 = m2.start + ml2 <= mflimit ? enc.widerMatch(m2.start + ml2 - 3, m2.start, matchlimit, ml2, m3) : ml2;
        if (ml3 === ml2) {
          if (m2.start < ip + ml) ml = m2.start - ip;
          if (!this.sequence(ml, ref)) return false;
          this.ip = m2.start;
          if (!this.sequence(ml2, m2.ref)) return false;
          break;
        }
        if (m3.start < ip + ml + 3) {
          if (m3.start >= ip + ml) {
            if (m2.start < ip + ml) {
              ml2 = moveStart(m2, ml2, ip + ml - m2.start);
              if (ml2 < MINMATCH) {
                m2.start = m3.start;
                m2.ref = m3.ref;
                ml2 = ml3;
              }
            }
            if (!this.sequence(ml, ref)) return false;
            this.ip = m3.start;
            ref = m3.ref;
            ml = ml3;
            start0 = m2.start;
            ref0 = m2.ref;
            ml0 = ml2;
            state = 'search2';
            continue;
          }
          m2.start = m3.start;
          m2.ref = m3.ref;
          ml2 = ml3;
          continue;
        }
        // Three ascending matches: write the first, cut where the second starts.
        if (m2.start < ip + ml) {
          if (m2.start - ip < OPTIMAL_ML) {
            ml = cutFirst(ip, ml, m2.start, ml2);
            const correction = ml - (m2.start - ip);
            if (correction > 0) ml2 = moveStart(m2, ml2, correction);
          } else ml = m2.start - ip;
        }
        if (!this.sequence(ml, ref)) return false;
        this.ip = m2.start;
        ref = m2.ref;
        ml = ml2;
        m2.start = m3.start;
        m2.ref = m3.ref;
        ml2 = ml3;
      }
    }
    return true;
  }

  /** The sequence that did not fit (for lastSequence). */
  private pendingLen = 0;
  private pendingRef = 0;
  /** Where the sequence that did not fit began in the output. */
  private optr = 0;

  /**
   * Writes the literals from anchor to ip and a match of `ml` bytes at `ref`;
   * with `limited`, false (and nothing counted) when the output lacks room.
   */
  private sequence(ml: number, ref: number, limited = true): boolean {
    const out = this.out;
    const ip = this.ip;
    const anchor = this.anchor;
    const oend = this.oend;
    // The output position in a local, stored back once (on a false return lastSequence starts again from optr).
    let op = this.op;
    this.optr = op;
    // Kept for lastSequence in case it does not fit (set each time: a store first made at the end of a block, once
    // the parse was optimised, cost a deoptimisation).
    this.pendingLen = ml;
    this.pendingRef = ref;
    const token = op++;
    let length = ip - anchor;
    if (limited && op + Math.floor(length / 255) + length + 2 + 1 + LASTLITERALS > oend) return false;
    if (length >= RUN_MASK) {
      out[token] = RUN_MASK << 4;
      let len = length - RUN_MASK;
      for (; len >= 255; len -= 255) out[op++] = 255;
      out[op++] = len;
    } else out[token] = length << 4;
    // Literal runs are short: a loop beats a subarray per sequence (an object each, most of the encoder's garbage).
    const src = this.src;
    for (let i = anchor; i < ip; i++) out[op++] = src[i]!;
    const offset = ip - ref;
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    length = ml - MINMATCH;
    if (limited && op + Math.floor(length / 255) + 1 + LASTLITERALS > oend) return false;
    if (length >= ML_MASK) {
      out[token] = out[token]! + ML_MASK;
      length -= ML_MASK;
      for (; length >= 510; length -= 510) {
        out[op++] = 255;
        out[op++] = 255;
      }
      if (length >= 255) {
        length -= 255;
        out[op++] = 255;
      }
      out[op++] = length;
    } else out[token] = out[token]! + length;
    this.op = op;
    this.ip = ip + ml;
    this.anchor = ip + ml;
    return true;
  }

  /** The sequence that overflowed, shortened to fit when its literals do (the reference's _dest_overflow). */
  private lastSequence(): void {
    const ll = this.ip - this.anchor;
    const llTotal = 1 + Math.floor((ll + 240) / 255) + ll;
    const maxLitPos = this.oend - 3;
    this.op = this.optr;
    if (this.op + llTotal <= maxLitPos) {
      const bytesLeftForMl = maxLitPos - (this.op + llTotal);
      const maxMl = MINMATCH + (ML_MASK - 1) + bytesLeftForMl * 255;
      const ml = Math.min(this.pendingLen, maxMl);
      if (this.oend + LASTLITERALS - (this.op + llTotal + 2) - 1 + ml >= MFLIMIT) this.sequence(ml, this.pendingRef, false);
    }
  }

  /** The final literal run, cut to what fits. */
  private lastLiterals(): DestSizeResult {
    const out = this.out;
    this.oend += LASTLITERALS;
    let run = this.iend - this.anchor;
    const total = 1 + Math.floor((run + 255 - RUN_MASK) / 255) + run;
    if (this.op + total > this.oend) {
      run = this.oend - this.op - 1;
      run -= Math.floor((run + 256 - RUN_MASK) / 256);
    }
    if (run >= RUN_MASK) {
      out[this.op++] = RUN_MASK << 4;
      let acc = run - RUN_MASK;
      for (; acc >= 255; acc -= 255) out[this.op++] = 255;
      out[this.op++] = acc;
    } else out[this.op++] = run << 4;
    const src = this.src;
    let o = this.op;
    for (let i = this.anchor, end = this.anchor + run; i < end; i++) out[o++] = src[i]!;
    this.op = o;
    return { out: out.subarray(0, this.op), consumed: this.anchor + run - this.start, reach: Math.max(this.finder.reach, this.anchor + run) - this.start };
  }
}
