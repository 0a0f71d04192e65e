/**
 * The match finder of LZ4 HC levels 1 to 9 (liblz4 1.9.4's hash chain,
 * LZ4HC_InsertAndGetWiderMatch), for lz4hc.ts: it must pick the very match
 * the reference library picks, ties included, so it walks candidates in the
 * same order with the same shortcuts (see lz4hc.ts for the whole design).
 */

export const MINMATCH = 4;
export const MAX_DISTANCE = 65535;
const HASH_LOG = 15;
/** A fresh context numbers the first input byte 64 KiB, so that index 0 (an empty hash slot) is out of reach. */
const FIRST_INDEX = 65536;
/** Indexes stay below this (the hash table holds 32-bit ones); past it the tables are zeroed again. */
const INDEX_LIMIT = 2 ** 31;
/** Whether the searched position starts a run of one repeated byte (pattern analysis, level 9): not known yet, no, yes. */
const REPEAT_UNTESTED = 0;
const REPEAT_NOT = 1;
const REPEAT_CONFIRMED = 2;

export interface Match {
  len: number;
  /** Position of the earlier copy. */
  ref: number;
  /** Where the match starts in the input (may lie before the search position). */
  start: number;
}

/** The hash-chain match finder over one input, with its tables. */
export class HcMatchFinder {
  private readonly hashTable = new Int32Array(1 << HASH_LOG);
  private readonly chainTable = new Uint16Array(1 << 16);
  private src: Uint8Array = new Uint8Array(0);
  /** The same bytes read 2 and 4 at a time (little endian, one load each: most of a search is such compares). */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** Index of the input's first byte (FIRST_INDEX in a fresh context), and its position in `src`. */
  private first = FIRST_INDEX;
  private base = 0;
  private nextToUpdate = FIRST_INDEX;
  private attempts = 256;
  private patternAnalysis = true;
  /**
   * One past the last input position read since `reset` (the caller may hand over an input filled only so far:
   * bytes past it were never looked at, so the result is the one the whole input gives).
   */
  reach = 0;

  /**
   * A fresh context over `src` from `start` (LZ4HC_init_internal on zeroed tables), searching `attempts` candidates per match.
   * The tables are not zeroed for each call (256 KiB each time): the input is numbered from 64 KiB past the last index
   * of the call before, so an entry left by an earlier call lies below every search's lowest index and more than
   * MAX_DISTANCE behind every new one, which is how an empty (zero) entry behaves; same matches, same bytes.
   */
  reset(src: Uint8Array, start: number, attempts: number): void {
    this.attempts = attempts;
    this.patternAnalysis = attempts > 128;
    let first = this.nextToUpdate + MAX_DISTANCE + 1;
    if (first + src.length - start >= INDEX_LIMIT) {
      this.hashTable.fill(0);
      this.chainTable.fill(0);
      first = FIRST_INDEX;
    }
    this.first = first;
    this.src = src;
    this.view = new DataView(src.buffer, src.byteOffset, src.length);
    this.base = start;
    this.nextToUpdate = first;
    this.reach = start;
  }

  /** The 4 bytes at p as an unsigned little-endian number (every search reads inside the input, as liblz4's do). */
  private read32(p: number): number {
    return this.view.getUint32(p, true);
  }

  /** Links every position from nextToUpdate up to `ip` (excluded) into its hash chain. */
  private insert(ip: number): void {
    const target = ip - this.base + this.first;
    let idx = this.nextToUpdate;
    if (idx >= target) return;
    const s = this.src;
    const hashTable = this.hashTable;
    const chain = this.chainTable;
    let p = idx - this.first + this.base;
    // The 4 bytes at p, rolled on one byte a position (read32 again each time was most of the insert's cost).
    let v = this.read32(p);
    for (; idx < target; idx++, p++) {
      const h = Math.imul(v, 2654435761 | 0) >>> (32 - HASH_LOG);
      // Every index in the table is below idx (those of earlier calls too): d > 0.
      const d = idx - hashTable[h]!;
      chain[idx & 0xffff] = d > MAX_DISTANCE ? MAX_DISTANCE : d;
      hashTable[h] = idx;
      v = (v >>> 8) | ((s[p + 4] ?? 0) << 24);
    }
    this.nextToUpdate = target;
  }

  /**
   * The first position from `ip` up to `last` where a first search (widerMatch from the position itself, longest
   * MINMATCH - 1) may find a match: every position before it has none, and is linked into its chain as that search
   * would have (then `widerMatch` there walks the same chain again, with the same result: the tables are as it would
   * have found them). `last + 1` when no position has one. Most positions of a cluster have no match: this loop does
   * their work without a call each, the hash rolled from one position to the next and computed once for both the
   * lookup and the insert. It stops at a candidate whose first 4 bytes are equal (a match) and at a chain step of one
   * (pattern analysis may apply): `widerMatch` decides those.
   */
  scan(ip: number, last: number): number {
    // Positions past ip already linked (not met in a destSize parse): left to widerMatch, as every non-first search.
    if (ip > last || this.nextToUpdate > ip - this.base + this.first) return ip;
    const view = this.view;
    const hashTable = this.hashTable;
    const chain = this.chainTable;
    const first = this.first;
    const toPos = this.base - first;
    const attempts = this.attempts;
    const pa = this.patternAnalysis;
    const src = this.src;
    const floor = first + MAX_DISTANCE;
    // Link the positions before ip first (none when the last search stopped at ip - 1 or ip).
    this.insert(ip);
    let idx = ip - toPos;
    const end = last - toPos;
    let v = view.getInt32(ip, true);
    // Every way out goes to the one exit below (a way out first taken after the loop was optimised, with fields to
    // set, cost a deoptimisation of the loop).
    search: for (;;) {
      const h = Math.imul(v, 2654435761 | 0) >>> (32 - HASH_LOG);
      const head = hashTable[h]!;
      const lowest = idx <= floor ? first : idx - MAX_DISTANCE;
      let cand = head;
      let tries = attempts;
      while (cand >= lowest && tries > 0) {
        tries--;
        if (view.getInt32(cand + toPos, true) === v) break search;
        const d = chain[cand & 0xffff]!;
        if (d === 1 && pa) break search;
        cand -= d;
      }
      // No match here: link the position (the next search's insert would have), then on to the next one.
      const d = idx - head;
      chain[idx & 0xffff] = d > MAX_DISTANCE ? MAX_DISTANCE : d;
      hashTable[h] = idx;
      idx++;
      if (idx > end) break;
      v = (v >>> 8) | (src[idx + toPos + 3]! << 24);
    }
    // Positions below idx are linked; the last one searched (idx, or `last` when none had a match) read 4 bytes.
    this.nextToUpdate = idx;
    const searched = Math.min(idx, end) + toPos;
    if (searched + 4 > this.reach) this.reach = searched + 4;
    return idx + toPos;
  }

  /** Bytes equal from `a` and `b` on, `a` staying below `aLimit`. */
  count(a: number, b: number, aLimit: number): number {
    const s = this.src;
    const v = this.view;
    let n = 0;
    // 4 bytes at a time, then the first that differs (b < a: both stay below aLimit).
    while (a + n + 4 <= aLimit) {
      const x = v.getUint32(a + n, true) ^ v.getUint32(b + n, true);
      if (x !== 0) {
        n += (31 - Math.clz32(x & -x)) >>> 3;
        break;
      }
      n += 4;
    }
    if (a + n + 4 > aLimit) while (a + n < aLimit && s[a + n] === s[b + n]) n++;
    const r = a + n < aLimit ? a + n + 1 : a + n;
    if (r > this.reach) this.reach = r;
    return n;
  }

  /** Bytes equal to `byte` from `p` on, below `limit`. */
  private runForward(p: number, limit: number, byte: number): number {
    const s = this.src;
    let n = 0;
    while (p + n < limit && s[p + n] === byte) n++;
    const r = p + n < limit ? p + n + 1 : p + n;
    if (r > this.reach) this.reach = r;
    return n;
  }

  /** Bytes equal to `byte` just before `p`, not below `low`. */
  private runBackward(p: number, low: number, byte: number): number {
    const s = this.src;
    let n = 0;
    while (p - n > low && s[p - n - 1] === byte) n++;
    return n;
  }


  /**
   * The longest match for `ip` better than `longest`, possibly starting
   * earlier (down to `low`) and ending before `high`; `found` is updated only
   * when one is found. Returns the new longest length.
   */
  widerMatch(ip: number, low: number, high: number, longest: number, found: Match): number {
    const chain = this.chainTable;
    const view = this.view;
    const base = this.base;
    const first = this.first;
    const ipIndex = ip - base + first;
    const lowest = ipIndex < first + MAX_DISTANCE + 1 ? first : ipIndex - MAX_DISTANCE;
    const lookBack = ip - low;
    const pattern = view.getInt32(ip, true);
    const pa = this.patternAnalysis;
    let attempts = this.attempts;
    let repeat = REPEAT_UNTESTED;
    let srcPatternLength = 0;
    // The 4 bytes at ip (and inserting up to ip reads as far).
    if (ip + 4 > this.reach) this.reach = ip + 4;
    this.insert(ip);
    // The 2 bytes at the current best length, on the input's side: read again only when the best length changes.
    let tail = view.getUint16(low + longest - 1, true);
    const toPos = base - first;
    // Where a candidate's 2 bytes at the current best length are, from its index.
    let tailAt = toPos - lookBack + longest - 1;
    let matchIndex = this.hashTable[Math.imul(pattern, 2654435761 | 0) >>> (32 - HASH_LOG)]!;
    while (matchIndex >= lowest && attempts > 0) {
      attempts--;
      if (tail === view.getUint16(matchIndex + tailAt, true) && view.getInt32(matchIndex + toPos, true) === pattern) {
        const m = matchIndex + toPos;
        const back = lookBack ? this.countBack(ip, m, low, base) : 0;
        const len = MINMATCH + this.count(ip + MINMATCH, m + MINMATCH, high) - back;
        if (len > longest) {
          longest = len;
          tail = view.getUint16(low + longest - 1, true);
          tailAt = toPos - lookBack + longest - 1;
          found.len = len;
          found.ref = m + back;
          found.start = ip + back;
        }
      }
      const distNext = chain[matchIndex & 0xffff]!;
      if (distNext !== 1 || !pa) {
        matchIndex -= distNext;
        continue;
      }
      // A chain step of one: maybe a run of one repeated byte (pattern analysis, level 9).
      const candidate = matchIndex - 1;
      if (repeat === REPEAT_UNTESTED) {
        const b0 = pattern & 0xff;
        if ((pattern & 0xffff) === pattern >>> 16 && b0 === pattern >>> 24) {
          repeat = REPEAT_CONFIRMED;
          srcPatternLength = this.runForward(ip + 4, high, b0) + 4;
        } else repeat = REPEAT_NOT;
      }
      if (repeat === REPEAT_CONFIRMED && candidate >= lowest) {
        const cp = candidate - first + base;
        if (view.getInt32(cp, true) === pattern) {
          const byte = pattern & 0xff;
          const forward = this.runForward(cp + 4, high, byte) + 4;
          let backLength = this.runBackward(cp, base, byte);
          backLength = candidate - Math.max(candidate - backLength, lowest);
          const segment = backLength + forward;
          if (segment >= srcPatternLength && forward <= srcPatternLength) {
            matchIndex = candidate + forward - srcPatternLength;
          } else {
            matchIndex = candidate - backLength;
            if (lookBack === 0) {
              const maxML = Math.min(segment, srcPatternLength);
              if (longest < maxML) {
                if (ipIndex - matchIndex > MAX_DISTANCE) break;
                longest = maxML;
                tail = view.getUint16(low + longest - 1, true);
                tailAt = toPos - lookBack + longest - 1;
                found.len = maxML;
                found.ref = matchIndex - first + base;
                found.start = ip;
              }
              const distToNextPattern = chain[matchIndex & 0xffff]!;
              if (distToNextPattern > matchIndex) break;
              matchIndex -= distToNextPattern;
            }
          }
          continue;
        }
      }
      matchIndex -= distNext;
    }
    return longest;
  }

  /** Minus the number of equal bytes just before `ip` and `m`, not going below `iMin` or `mMin`. */
  private countBack(ip: number, m: number, iMin: number, mMin: number): number {
    const s = this.src;
    const min = Math.max(iMin - ip, mMin - m);
    let back = 0;
    while (back > min && s[ip + back - 1] === s[m + back - 1]) back--;
    return back;
  }
}
