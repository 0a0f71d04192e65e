/**
 * A file table builder's names as code units in one growing buffer: a live
 * image's root tree lists 100,000 to 1,000,000 entries, and a string per
 * name (and its slot in an array) cost some 56 bytes an entry while the
 * table was built, against about 24 here (a byte a code unit while every
 * name is Latin-1, two bytes once one is not, and 4 bytes of offset).
 *
 * Names are compared where they lie (path-order.ts), and the table keeps
 * the buffer as it is (NamesAt: per entry in the table's order, where its
 * name starts and how long it is), with no copy or string of it made.
 */
import { Buffer } from 'node:buffer';
import { giveBack } from '../core/give-back.js';

/** Code units made room for per expected name (a root tree's names are some 10-30 long). */
const NAME_UNITS_HINT = 48;
/** A name length kept in a byte: at least this long, it is looked up in a map (whole paths given as names; rare). */
const LONG = 255;
/** Names up to this long are made from their code units one by one (String.fromCharCode). */
const SHORT = 128;

export class NameList {
  /** Code units of every name, one after the other: bytes while all are below 256. */
  private codes: Uint8Array | Uint16Array;
  private used = 0;
  /** Name i's code units are codes[starts[i], starts[i + 1]). */
  private starts: Uint32Array;
  count = 0;

  /**
   * `expected`: the names to come (a hint; 0: unknown). Room is made for them at once, NAME_UNITS_HINT code units
   * each: pages not written cost no memory (a large typed array is mapped zeroed), where growing by doubling copied
   * the buffers and left the old ones to the old space's collection.
   */
  constructor(expected = 0) {
    this.codes = new Uint8Array(Math.max(4096, expected * NAME_UNITS_HINT));
    this.starts = new Uint32Array(Math.max(1024, expected + 2));
  }

  static from(names: readonly string[]): NameList {
    const out = new NameList();
    for (const n of names) out.push(n);
    return out;
  }

  push(name: string): void {
    const len = name.length;
    if (this.count + 2 > this.starts.length) {
      const more = new Uint32Array(this.starts.length * 2);
      more.set(this.starts);
      giveBack(this.starts);
      this.starts = more;
    }
    if (this.used + len > this.codes.length) this.grow(this.used + len, this.codes instanceof Uint16Array, this.used);
    let codes = this.codes;
    const at = this.used;
    for (let k = 0; k < len; k++) {
      const c = name.charCodeAt(k);
      if (c > 0xff && codes instanceof Uint8Array) codes = this.grow(this.codes.length, true, at + k);
      codes[at + k] = c;
    }
    this.used = at + len;
    this.count++;
    this.starts[this.count] = this.used;
  }

  /** Room for `need` code units, the first `keep` kept; `wide`: two bytes a code unit from now on. */
  private grow(need: number, wide: boolean, keep: number): Uint8Array | Uint16Array {
    const size = Math.max(need, this.codes.length * (need > this.codes.length ? 2 : 1));
    const next = wide ? new Uint16Array(size) : new Uint8Array(size);
    next.set(this.codes.subarray(0, keep));
    giveBack(this.codes);
    this.codes = next;
    return next;
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  length(i: number): number {
    return this.starts[i + 1]! - this.starts[i]!;
  }

  /** Code unit `at` of the buffer (from start(i) to start(i) + length(i) for name i). */
  code(at: number): number {
    return this.codes[at]!;
  }

  name(i: number): string {
    return this.text(this.codes.subarray(this.starts[i]!, this.starts[i + 1]!));
  }

  /** Names a and b compared as strings (UTF-16 code units: -1, 0, 1). */
  compare(a: number, b: number): number {
    const c = this.codes;
    let x = this.starts[a]!;
    let y = this.starts[b]!;
    const xe = this.starts[a + 1]!;
    const ye = this.starts[b + 1]!;
    for (; x < xe && y < ye; x++, y++) if (c[x] !== c[y]) return c[x]! < c[y]! ? -1 : 1;
    return x < xe ? 1 : y < ye ? -1 : 0;
  }

  /**
   * Every name in `order` (new index -> old index) where it lies: the buffer itself (handed over: this list is cleared),
   * and per name in the new order where it starts in it and its length (NamesAt). No copy of the names and no string
   * of them all: the table's peak was the buffer, its copy in order and the string made from it, some 66 bytes an
   * entry at once for 22 kept.
   */
  take(order: Uint32Array | undefined): NamesAt {
    const n = this.count;
    const at = new Uint32Array(n);
    const len = new Uint8Array(n);
    let long: Map<number, number> | undefined;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      const l = this.starts[i + 1]! - this.starts[i]!;
      at[j] = this.starts[i]!;
      if (l < LONG) len[j] = l;
      else {
        len[j] = LONG;
        (long ??= new Map()).set(j, l);
      }
    }
    const codes = this.codes;
    this.codes = new Uint8Array(0);
    this.clear();
    return new NamesAt(codes, at, len, long);
  }

  /** Drops the buffers. */
  clear(): void {
    giveBack(this.codes);
    giveBack(this.starts);
    this.codes = new Uint8Array(0);
    this.starts = new Uint32Array(1);
    this.used = 0;
    this.count = 0;
  }

  private text(codes: Uint8Array | Uint16Array): string {
    const b = Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength);
    return codes instanceof Uint16Array ? b.toString('utf16le') : b.toString('latin1');
  }
}

/** A table's names, in the builder's buffer (NameList.take): name j is codes[at[j], at[j] + length(j)). */
export class NamesAt {
  constructor(
    private readonly codes: Uint8Array | Uint16Array,
    private readonly at: Uint32Array,
    private readonly len: Uint8Array,
    private readonly long: ReadonlyMap<number, number> | undefined,
  ) {}

  length = (j: number): number => (this.len[j]! < LONG ? this.len[j]! : this.long!.get(j)!);
  code = (j: number, k: number): number => this.codes[this.at[j]! + k]!;

  name(j: number): string {
    const c = this.codes.subarray(this.at[j]!, this.at[j]! + this.length(j));
    // Code units as they are (a name is some 10-30 long): no Buffer per name.
    if (c.length <= SHORT) {
      let s = '';
      for (let k = 0; k < c.length; k++) s += String.fromCharCode(c[k]!);
      return s;
    }
    const b = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    return c instanceof Uint16Array ? b.toString('utf16le') : b.toString('latin1');
  }
}

