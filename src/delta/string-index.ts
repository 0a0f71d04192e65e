/**
 * Entries of a table found by a string of theirs (a nested file's path, its
 * chunk signature) without keeping the string: a map from a 30-bit hash of
 * it (a small integer key) to the entry's index, the string made again from
 * the entry to tell entries of equal hashes apart. A live image's source
 * tree lists 100,000 to 1,000,000 files; a Map keyed by their paths and
 * signatures held two strings per file (some 150 bytes) while the plan was
 * made, the peak of a squashfs sync.
 */

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
