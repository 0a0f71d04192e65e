/**
 * A table entry's path and chunk signature as keys, read from the columns
 * with no string made: nested-map finds each target file of a live image
 * (100,000 to 1,000,000) in the source's tables by both, and a path and a
 * signature string per file, made and dropped, were most of the heap a
 * squashfs sync grew while mapping.
 *
 *  - `PathHasher.hash(i)` is hash30 (delta/string-index.ts) of `path(i)`:
 *    FNV-1a continued from the parent directory's state (kept for the
 *    siblings after, which follow one another in path order).
 *  - `samePath` compares two entries' paths from their ends, name by name.
 *  - `sigHash` and `sameSignature` stand for entrySignature (layout.ts): the
 *    size, each chunk's stored length, the tail's length, the evidence.
 */
import type { FileTable } from './file-table.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SLASH = 0x2f;
const TO_30_BITS = 0x3fffffff;

/** Whether entry p's path is "/" (the root, whose children's paths are "/" and their name). */
function isRoot(t: FileTable, p: number): boolean {
  return t.parent(p) < 0 && t.nameLength(p) === 1 && t.nameCode(p, 0) === SLASH;
}

/** FNV-1a state `h` continued over entry i's name. */
function hashName(t: FileTable, i: number, h: number): number {
  for (let k = 0, n = t.nameLength(i); k < n; k++) h = Math.imul(h ^ t.nameCode(i, k), FNV_PRIME);
  return h;
}

/** hash30 of each entry's path, for the entries of one table (the last directory's state remembered). */
export class PathHasher {
  private lastDir = -2;
  /** FNV-1a state after the last directory's path and its separator. */
  private lastState = 0;
  private readonly up: number[] = [];

  constructor(private readonly t: FileTable) {}

  hash(i: number): number {
    const t = this.t;
    const p = t.parent(i);
    if (p < 0) return hashName(t, i, FNV_OFFSET) & TO_30_BITS;
    if (p !== this.lastDir) {
      const up = this.up;
      up.length = 0;
      for (let d = p; d >= 0; d = t.parent(d)) up.push(d);
      // Top down, as path() joins: the top entry's name, then "/" and each name ("/" alone after the root).
      let h = hashName(t, up[up.length - 1]!, FNV_OFFSET);
      for (let k = up.length - 2; k >= 0; k--) {
        if (!isRoot(t, up[k + 1]!)) h = Math.imul(h ^ SLASH, FNV_PRIME);
        h = hashName(t, up[k]!, h);
      }
      if (!isRoot(t, p)) h = Math.imul(h ^ SLASH, FNV_PRIME);
      this.lastDir = p;
      this.lastState = h;
    }
    return hashName(t, i, this.lastState) & TO_30_BITS;
  }
}

/** Whether entry i of a and entry j of b have the same path (compared from the end, code unit by code unit). */
export function samePath(a: FileTable, i: number, b: FileTable, j: number): boolean {
  // A cursor per side: the entry whose name is read and how many of its code units are left.
  let ea = i;
  let ka = a.nameLength(i);
  let eb = j;
  let kb = b.nameLength(j);
  for (;;) {
    let ca = -1;
    if (ka > 0) ca = a.nameCode(ea, --ka);
    else if (a.parent(ea) >= 0) {
      // The name is read: then the parent's path, after a "/" unless that path is the root's "/".
      ea = a.parent(ea);
      ka = a.nameLength(ea);
      ca = isRoot(a, ea) ? a.nameCode(ea, --ka) : SLASH;
    }
    let cb = -1;
    if (kb > 0) cb = b.nameCode(eb, --kb);
    else if (b.parent(eb) >= 0) {
      eb = b.parent(eb);
      kb = b.nameLength(eb);
      cb = isRoot(b, eb) ? b.nameCode(eb, --kb) : SLASH;
    }
    if (ca !== cb) return false;
    if (ca < 0) return true;
  }
}

/** A hash of entry i's signature fields (equal signatures, equal hashes; 30 bits). */
export function sigHash(t: FileTable, i: number): number {
  let h = Math.imul(FNV_OFFSET ^ (t.size(i) % 0x40000000), FNV_PRIME);
  h = Math.imul(h ^ Math.floor(t.size(i) / 0x40000000), FNV_PRIME);
  const n = t.chunkCount(i);
  for (let k = 0; k < n; k++) h = Math.imul(h ^ (t.chunkEnd(i, k) - t.chunkStart(i, k)), FNV_PRIME);
  const tail = t.tailLength(i);
  if (tail >= 0) h = Math.imul(h ^ (tail + 1), FNV_PRIME);
  if (n > 0 && t.lasAt(i, 0) !== undefined) {
    for (let k = 0; k < n; k++) h = Math.imul(h ^ t.lasAt(i, k)!, FNV_PRIME);
  } else {
    const e = t.evidence(i);
    // Evidence that is not one number per chunk (rare) is hashed as its string, as the numbers would differ.
    if (e) for (let k = 0; k < e.length; k++) h = Math.imul(h ^ e.charCodeAt(k), FNV_PRIME);
  }
  return (h >>> 0) & TO_30_BITS;
}

/**
 * Whether entries i of a and j of b have the same signature: the same size, stored chunk lengths, tail length
 * (or none) and evidence (the EROFS extents' logical starts) as entrySignature gives them.
 */
export function sameSignature(a: FileTable, i: number, b: FileTable, j: number): boolean {
  const n = a.chunkCount(i);
  if (a.size(i) !== b.size(j) || n !== b.chunkCount(j)) return false;
  for (let k = 0; k < n; k++) if (a.chunkEnd(i, k) - a.chunkStart(i, k) !== b.chunkEnd(j, k) - b.chunkStart(j, k)) return false;
  if (a.tailLength(i) !== b.tailLength(j)) return false;
  const numeric = n > 0 && a.lasAt(i, 0) !== undefined && b.lasAt(j, 0) !== undefined;
  if (numeric) {
    for (let k = 0; k < n; k++) if (a.lasAt(i, k) !== b.lasAt(j, k)) return false;
    return true;
  }
  return (a.evidence(i) || '') === (b.evidence(j) || '');
}

/** Writes entry i's path's units, backwards, into `w` at `at` (every ancestor's name read); returns the end. */
function writeUp(w: PathUnits, t: FileTable, i: number, at: number): number {
  for (let e = i; e >= 0; e = t.parent(e)) {
    const n = t.nameLength(e);
    w.room(at + n + 1);
    for (let k = n - 1; k >= 0; k--) w.units[at++] = t.nameCode(e, k);
    // As path() joins: "/" before a name unless the parent is the root (whose own name is that "/").
    const p = t.parent(e);
    if (p >= 0 && !isRoot(t, p)) w.units[at++] = SLASH;
  }
  return at;
}

/**
 * An entry's path as UTF-16 code units, backwards (path(i) reversed: name by name from the last, as samePath reads
 * it), into one reused buffer: a key of the path (squashfs fragment keys) with no string made. Two entries have the
 * same units exactly when they have the same path.
 *
 * The parent's units are kept from the entry written before: siblings follow one another in table order, so an
 * entry costs its own name and one copy, not a read of every ancestor's name, code unit by code unit.
 */
export class PathUnits {
  units = new Uint16Array(256);
  /** The parent whose path `dirUnits` holds (its table and index; -1: none yet). */
  private dirTable: FileTable | undefined;
  private dir = -1;
  private dirWriter: PathUnits | undefined;
  private dirUnits = new Uint16Array(0);

  /** Writes entry i's path's units at `at` (the buffer grown as needed); returns the end. */
  write(t: FileTable, i: number, at: number): number {
    const n = t.nameLength(i);
    this.room(at + n + 1);
    for (let k = n - 1; k >= 0; k--) this.units[at++] = t.nameCode(i, k);
    const p = t.parent(i);
    if (p < 0) return at;
    if (!isRoot(t, p)) this.units[at++] = SLASH;
    if (p !== this.dir || t !== this.dirTable) {
      const w = (this.dirWriter ??= new PathUnits());
      this.dirUnits = w.units.subarray(0, writeUp(w, t, p, 0));
      this.dir = p;
      this.dirTable = t;
    }
    this.room(at + this.dirUnits.length);
    this.units.set(this.dirUnits, at);
    return at + this.dirUnits.length;
  }

  /** Room for `end` units, the ones before kept. */
  room(end: number): void {
    if (end <= this.units.length) return;
    const more = new Uint16Array(Math.max(end, this.units.length * 2));
    more.set(this.units);
    this.units = more;
  }
}
