/**
 * The files of an image that planning maps (regular files with content), as
 * columns in path order: no IsoEntry, extent or path string per file. A
 * plan walked both images' trees and kept every entry (~350-485 bytes each:
 * the object, its path and name strings, its extents array and extent);
 * here a file costs its name string and 20 bytes of typed columns, and a
 * path is joined only when asked for (a file found nowhere locally).
 *
 * Directories are kept by path, once per distinct path (a second record of
 * the same directory path joins the first: lookups by path see one folder).
 */
import type { Extent, IsoEntry } from './entry.js';

const NO_EXTENTS: readonly Extent[] = [];

export class FileTable {
  /** Directory paths by index ('/' for the root). */
  readonly dirPaths: string[] = [];
  private readonly dirIndex = new Map<string, number>();
  /** Names by file index. */
  readonly names: string[] = [];
  private dirs = new Uint32Array(64);
  private lbas = new Float64Array(64);
  private sizes = new Float64Array(64);
  /** Extents of the files that have more than one, by file index. */
  private multi: Map<number, readonly Extent[]> | undefined;
  count = 0;
  // Lookups (built on first use, for a source image).
  private byDirStart: Uint32Array | undefined;
  private byDir: Uint32Array | undefined;
  private byName: Uint32Array | undefined;

  /** The index of directory `path`, added when new. */
  dir(path: string): number {
    let d = this.dirIndex.get(path);
    if (d === undefined) {
      d = this.dirPaths.push(path) - 1;
      this.dirIndex.set(path, d);
    }
    return d;
  }

  /** Adds a file (in path order); `extents`: only when it has more (or fewer) than one. */
  push(dir: number, name: string, lba: number, size: number, extents?: readonly Extent[]): void {
    const i = this.count++;
    if (i === this.dirs.length) this.grow();
    this.dirs[i] = dir;
    this.names[i] = name;
    this.lbas[i] = lba;
    this.sizes[i] = size;
    if (extents !== undefined) (this.multi ??= new Map()).set(i, extents);
  }

  private grow(): void {
    const n = this.dirs.length * 2;
    const d = new Uint32Array(n);
    d.set(this.dirs);
    this.dirs = d;
    const l = new Float64Array(n);
    l.set(this.lbas);
    this.lbas = l;
    const s = new Float64Array(n);
    s.set(this.sizes);
    this.sizes = s;
  }

  lba(i: number): number {
    return this.lbas[i]!;
  }

  size(i: number): number {
    return this.sizes[i]!;
  }

  name(i: number): string {
    return this.names[i]!;
  }

  dirPath(i: number): string {
    return this.dirPaths[this.dirs[i]!]!;
  }

  path(i: number): string {
    const d = this.dirPaths[this.dirs[i]!]!;
    return d === '/' ? `/${this.names[i]!}` : `${d}/${this.names[i]!}`;
  }

  /** The file's extents when it has more (or fewer) than one; undefined for one extent (lba, size). */
  extentsOf(i: number): readonly Extent[] | undefined {
    return this.multi?.get(i);
  }

  /** The file's extents, made for a file of one. */
  extents(i: number): readonly Extent[] {
    return this.multi?.get(i) ?? (this.sizes[i]! > 0 ? [{ lba: this.lbas[i]!, size: this.sizes[i]! }] : NO_EXTENTS);
  }

  /** The first file (in path order) at `path` with `size` bytes, or -1. */
  findPath(path: string, size: number): number {
    const slash = path.lastIndexOf('/');
    const d = this.dirIndex.get(slash <= 0 ? '/' : path.slice(0, slash));
    if (d === undefined) return -1;
    if (!this.byDir) this.indexDirs();
    const name = path.slice(slash + 1);
    const byDir = this.byDir!;
    let lo = this.byDirStart![d]!;
    let hi = this.byDirStart![d + 1]!;
    // A folder's files in path order are in name order (they share its path and "/").
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.names[byDir[mid]!]! < name) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < this.byDirStart![d + 1]! && this.names[byDir[k]!] === name; k++) if (this.sizes[byDir[k]!] === size) return byDir[k]!;
    return -1;
  }

  /** The first file (in path order) named `name` with `size` bytes, anywhere, or -1. */
  findName(name: string, size: number): number {
    if (!this.byName) this.indexNames();
    const order = this.byName!;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.names[order[mid]!]! < name) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < this.count && this.names[order[k]!] === name; k++) if (this.sizes[order[k]!] === size) return order[k]!;
    return -1;
  }

  /** Files grouped by folder (a counting sort: each folder's files stay in path order). */
  private indexDirs(): void {
    const n = this.count;
    const start = new Uint32Array(this.dirPaths.length + 1);
    for (let i = 0; i < n; i++) start[this.dirs[i]! + 1]!++;
    for (let d = 0; d < this.dirPaths.length; d++) start[d + 1]! += start[d]!;
    const at = start.slice(0, this.dirPaths.length);
    const byDir = new Uint32Array(n);
    for (let i = 0; i < n; i++) byDir[at[this.dirs[i]!]!++] = i;
    this.byDirStart = start;
    this.byDir = byDir;
  }

  /** Files by name, then path order (a stable sort of indices). */
  private indexNames(): void {
    const order = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) order[i] = i;
    const names = this.names;
    order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : a - b));
    this.byName = order;
  }

  /** Drops the columns' spare room (a table kept while a plan is built). */
  trim(): void {
    this.dirs = this.dirs.slice(0, this.count);
    this.lbas = this.lbas.slice(0, this.count);
    this.sizes = this.sizes.slice(0, this.count);
  }
}

/** The files of `entries` (sorted by path, as IsoImage's) that planning maps: regular files with content. */
export function fileTableOf(entries: readonly IsoEntry[]): FileTable {
  const t = new FileTable();
  for (const e of entries) {
    if (e.type !== 'file' || e.size === 0) continue;
    const slash = e.path.lastIndexOf('/');
    t.push(t.dir(slash <= 0 ? '/' : e.path.slice(0, slash)), e.path.slice(slash + 1), e.lba, e.size, e.extents.length === 1 ? undefined : e.extents);
  }
  t.trim();
  return t;
}
