/**
 * A file table builder's names as code units in one growing buffer: a live
 * image's root tree lists 100,000 to 1,000,000 entries, and a string per
 * name (and its slot in an array) cost some 56 bytes an entry while the
 * table was built, against about 24 here (a byte a code unit while every
 * name is Latin-1, two bytes once one is not, and 4 bytes of offset).
 *
 * Names are compared where they lie (path-order.ts), and the table's one
 * string of every name is made from the buffer in the table's order.
 */
import { Buffer } from 'node:buffer';
import { giveBack } from '../core/give-back.js';

/** Code units made room for per expected name (a root tree's names are some 10-30 long). */
const NAME_UNITS_HINT = 48;

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

  /** Every name in `order` (new index -> old index) as one string, and where each starts in it (count + 1 offsets). */
  joined(order: Uint32Array | undefined): { text: string; at: Uint32Array } {
    const n = this.count;
    const at = new Uint32Array(n + 1);
    const out = this.codes instanceof Uint16Array ? new Uint16Array(this.used) : new Uint8Array(this.used);
    let len = 0;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      at[j] = len;
      out.set(this.codes.subarray(this.starts[i]!, this.starts[i + 1]!), len);
      len += this.starts[i + 1]! - this.starts[i]!;
    }
    at[n] = len;
    const text = this.text(out);
    giveBack(out);
    return { text, at };
  }

  /** Drops the buffers (the table holds its own string). */
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
