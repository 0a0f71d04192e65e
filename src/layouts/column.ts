/**
 * The growable typed columns of a file table builder (file-table.ts): one
 * typed array per field, written by entry index, ordered once at `finish`.
 */

import { giveBack } from '../core/give-back.js';

export type Numbers = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

/**
 * A growable typed column, written by index; unwritten slots hold `fill`. Its first array has `hint` slots (the
 * entries an image says it holds): a walk's columns then grow no copy at a time (doubling left up to half of each
 * as garbage for the old space's collection, a peak that grew with the tree), and `finish` orders them in place.
 */
export class Column<A extends Numbers> {
  a: A;
  n = 0;
  constructor(
    private readonly make: (n: number) => A,
    private readonly fill = 0,
    private readonly hint = 0,
  ) {
    this.a = make(0);
  }

  set(i: number, v: number): void {
    this.reserve(i + 1)[i] = v;
  }

  at = (i: number): number => (i < this.n ? this.a[i]! : this.fill);

  /** Room for slots up to `end` (exclusive), written straight into the array returned (one check per run of values). */
  reserve(end: number): A {
    if (end > this.a.length) {
      const b = this.make(Math.max(64, end, this.a.length * 2, this.a.length === 0 ? this.hint : 0));
      b.set(this.a);
      if (this.fill !== 0) b.fill(this.fill, this.a.length);
      giveBack(this.a);
      this.a = b;
    }
    if (end > this.n) this.n = end;
    return this.a;
  }

  /** Drops the values (finish: a column goes once its copy is made). */
  release(): void {
    giveBack(this.a);
    this.a = this.make(0);
    this.n = 0;
  }

  /**
   * The column in `order` (new index -> old index), `count` long; the column itself is then dropped. An array of
   * exactly `count` slots is ordered in place (`seen`: `count` bytes of scratch), else copied.
   */
  reordered(order: Uint32Array | undefined, count: number, seen?: Uint8Array): A {
    const a = this.a;
    if (a.length === count && seen) {
      if (order) permute(a, order, seen);
      this.a = this.make(0);
      this.n = 0;
      return a;
    }
    const out = this.make(count);
    if (this.fill !== 0) out.fill(this.fill);
    for (let j = 0; j < count; j++) {
      const i = order ? order[j]! : j;
      if (i < this.n) out[j] = a[i]!;
    }
    this.release();
    return out;
  }
}

/** a[j] = a[order[j]] for every j, in place, following the permutation's cycles (`seen` is cleared first). */
function permute(a: Numbers, order: Uint32Array, seen: Uint8Array): void {
  seen.fill(0);
  for (let s = 0; s < order.length; s++) {
    if (seen[s] || order[s] === s) continue;
    const first = a[s]!;
    let j = s;
    for (;;) {
      seen[j] = 1;
      const k = order[j]!;
      if (k === s) {
        a[j] = first;
        break;
      }
      a[j] = a[k]!;
      j = k;
    }
  }
}

/**
 * `a` as a Uint32Array when every value is a whole number below 2^32 (a table's sizes; EROFS nids), else `a` itself:
 * half the bytes for the rest of the sync (8 -> 4 bytes an entry a column, both layouts of a live image held).
 */
export function narrowed(a: Float64Array): Float64Array | Uint32Array {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v < 0x1_0000_0000 && v === Math.floor(v))) return a;
  }
  const out = new Uint32Array(a);
  giveBack(a);
  return out;
}

/** Whether a[from, to) are all whole numbers below 2^32. */
export function fitsUint32(a: ArrayLike<number>, from = 0, to = a.length): boolean {
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v < 0x1_0000_0000 && v === Math.floor(v))) return false;
  }
  return true;
}

/**
 * `a` as an Int16Array when every value fits (a table's tail blocks: -1 for none, a squashfs has some hundreds of
 * fragment blocks), else `a` itself: 4 -> 2 bytes an entry.
 */
export function narrowedInt16(a: Int32Array): Int32Array | Int16Array {
  for (let i = 0; i < a.length; i++) if (a[i]! < -0x8000 || a[i]! > 0x7fff) return a;
  const out = new Int16Array(a);
  giveBack(a);
  return out;
}
