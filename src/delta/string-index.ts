/**
 * Entries of a table found by a string of theirs (a nested file's path, its
 * chunk signature) without keeping the string: a map from a 30-bit hash of
 * it (a small integer key) to the entry's index, the string made again from
 * the entry to tell entries of equal hashes apart. A live image's source
 * tree lists 100,000 to 1,000,000 files; a Map keyed by their paths and
 * signatures held two strings per file (some 150 bytes) while the plan was
 * made, the peak of a squashfs sync.
 */
import { giveBack } from '../core/give-back.js';

/** FNV-1a over the string's UTF-16 code units, to 30 bits (a V8 small integer). */
export function hash30(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0x3fffffff;
}

export class StringIndex {
  private readonly m = new Map<number, number | number[]>();

  /** `keyOf(i)`: entry i's string, made again when two strings share a hash or a lookup is checked. */
  constructor(private readonly keyOf: (i: number) => string) {}

  /** Entry i under `key`: it replaces an entry of the same string, or with `keepFirst` leaves it. */
  set(key: string, i: number, keepFirst = false): void {
    const h = hash30(key);
    const v = this.m.get(h);
    if (v === undefined) {
      this.m.set(h, i);
      return;
    }
    const list = typeof v === 'number' ? [v] : v;
    const k = list.findIndex((j) => this.keyOf(j) === key);
    if (k < 0) list.push(i);
    else if (!keepFirst) list[k] = i;
    this.m.set(h, list.length === 1 ? list[0]! : list);
  }

  /** The entry under `key`, if any. */
  get(key: string): number | undefined {
    const v = this.m.get(hash30(key));
    if (v === undefined) return undefined;
    if (typeof v === 'number') return this.keyOf(v) === key ? v : undefined;
    return v.find((j) => this.keyOf(j) === key);
  }
}

/**
 * Entries of a table by a 30-bit hash of theirs, in two typed arrays sized once (open addressing, at most half
 * full): some 16 bytes per entry and no object, where a Map held each in the heap (nested-map: two per source
 * nested image, one entry per file of a live image's tree). Equal hashes are told apart by `same(i, j)`, given
 * to each call: the keys themselves are never kept.
 */
export class HashIndex {
  private hashes: Int32Array;
  /** Entry index + 1 per slot (0: empty). */
  private slots: Int32Array;
  private n = 0;

  /** Room for `count` entries (more make it grow). */
  constructor(count: number) {
    let size = 16;
    while (size < count * 2) size *= 2;
    this.hashes = new Int32Array(size);
    this.slots = new Int32Array(size);
  }

  /** Entry i under hash h: it replaces an entry of the same key (`same(j)`), or with `keepFirst` leaves it. */
  set(h: number, i: number, same: (j: number) => boolean, keepFirst = false): void {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) {
        this.hashes[s] = h;
        this.slots[s] = i + 1;
        if (++this.n * 2 > this.slots.length) this.grow();
        return;
      }
      if (this.hashes[s] === h && same(v - 1)) {
        if (!keepFirst) this.slots[s] = i + 1;
        return;
      }
    }
  }

  /** The entry under hash h whose key is the one asked for (`same(j)`), if any. */
  get(h: number, same: (j: number) => boolean): number | undefined {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return undefined;
      if (this.hashes[s] === h && same(v - 1)) return v - 1;
    }
  }

  /** Gives the slots' memory back now (core/give-back.ts): the index is not used after. */
  release(): void {
    giveBack(this.hashes);
    giveBack(this.slots);
    this.hashes = new Int32Array(16);
    this.slots = new Int32Array(16);
    this.n = 0;
  }

  private grow(): void {
    const { hashes, slots } = this;
    this.hashes = new Int32Array(slots.length * 2);
    this.slots = new Int32Array(slots.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < slots.length; k++) {
      if (slots[k] === 0) continue;
      let s = hashes[k]! & mask;
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.hashes[s] = hashes[k]!;
      this.slots[s] = slots[k]!;
    }
    giveBack(hashes);
    giveBack(slots);
  }
}

/** Entries of a table (their index) that SortedHashIndex keys hold: an index takes 23 bits beside a 30-bit hash. */
export const SORTED_INDEX_MAX = 2 ** 23;

/**
 * Entries of a table by a 30-bit hash of theirs, as one sorted Float64Array of hash * 2^23 + index: 8 bytes per
 * entry, where HashIndex's slots at most half full took 16-32 (nested-map keeps two per source nested image while
 * it maps: at 95,000 files, 4 MB against 1.5). Found by binary search; equal hashes are told apart by `same(j)`.
 * Of entries with the same key, the last added is found, or with `keepFirst` the first (as HashIndex.set): entries
 * are added in increasing index order and keys of one hash sort by index.
 */
export class SortedHashIndex {
  private keys: Float64Array;
  private n = 0;
  private sorted = true;

  /** Room for `count` entries (added with indexes below SORTED_INDEX_MAX); `keepFirst`: see the class. */
  constructor(
    count: number,
    private readonly keepFirst = false,
  ) {
    this.keys = new Float64Array(count);
  }

  /** Entry i (below SORTED_INDEX_MAX, at least the last one added) under hash h. */
  add(h: number, i: number): void {
    if (this.n === this.keys.length) {
      const more = new Float64Array(Math.max(16, this.n * 2));
      more.set(this.keys);
      giveBack(this.keys);
      this.keys = more;
    }
    this.keys[this.n++] = h * SORTED_INDEX_MAX + i;
    this.sorted = false;
  }

  /** The entry under hash h whose key is the one asked for (`same(j)`), if any. */
  get(h: number, same: (j: number) => boolean): number | undefined {
    if (!this.sorted) {
      // The numeric sort of the array itself: in place, no comparison function.
      this.keys.subarray(0, this.n).sort();
      this.sorted = true;
    }
    const k = this.keys;
    const lo = h * SORTED_INDEX_MAX;
    const hi = lo + SORTED_INDEX_MAX;
    // First key of this hash.
    let a = 0;
    let b = this.n;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (k[m]! < lo) a = m + 1;
      else b = m;
    }
    if (this.keepFirst) {
      for (let s = a; s < this.n && k[s]! < hi; s++) if (same(k[s]! - lo)) return k[s]! - lo;
      return undefined;
    }
    let end = a;
    while (end < this.n && k[end]! < hi) end++;
    for (let s = end - 1; s >= a; s--) if (same(k[s]! - lo)) return k[s]! - lo;
    return undefined;
  }

  /** Gives the keys' memory back now (core/give-back.ts): the index is not used after. */
  release(): void {
    giveBack(this.keys);
    this.keys = new Float64Array(0);
    this.n = 0;
  }
}
