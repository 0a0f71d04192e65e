/**
 * A layout's entries as columns: a live image's root filesystem lists
 * 100,000 to 1,000,000 entries, and one object per entry (its path string,
 * its chunk array, its tail object) costs several hundred bytes of heap
 * each. Here every field is one typed array for the whole table, chunk
 * bounds are one typed array with a per-entry offset, names stay in the
 * builder's buffer of code units (an offset and a length byte per entry:
 * name-list.ts NamesAt), and a path is its parent's path and its name, joined when
 * asked for (`path(i)`; siblings share the parent's, which is remembered).
 *
 * Hot loops use the accessors by index (`count`, `type(i)`, `chunkStart(i, k)`...): no
 * allocation but the strings asked for; `get(i)` and iteration make a LayoutFile.
 */
import { giveBack } from '../core/give-back.js';
import { Column, fitsUint32, narrowed, narrowedInt16 } from './column.js';
import { NameList, type NamesAt } from './name-list.js';
import { pathOrder } from './path-order.js';

export type LayoutEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** Part of a block shared with other files (a squashfs fragment): which shared block, where in its uncompressed bytes. */
export interface Tail {
  readonly block: number;
  readonly offset: number;
  readonly length: number;
}

/** An entry's fields but its path, as a reader adds it (FileTableBuilder) and LayoutFile carries it. */
export interface FileInit {
  readonly type: LayoutEntryType;
  /** Logical (uncompressed) size in bytes. */
  readonly size: number;
  /**
   * Stored chunks in file order, as [start0, end0, start1, end1, ...]; for
   * squashfs one chunk per data block (a sparse block is an empty chunk),
   * for EROFS one per physical cluster (or the plain data run), for ISO and
   * FAT one per contiguous run.
   */
  readonly chunks?: ArrayLike<number>;
  readonly tail?: Tail;
  /** Extra evidence that equal-sized chunk lists hold the same bytes (EROFS: the cluster index's decompressed boundaries, base 36, '.'-joined). */
  readonly evidence?: string;
  /** That evidence as numbers (EROFS: each chunk's logical start), kept with no string made and parsed back; `evidence` when read. */
  readonly las?: ArrayLike<number>;
  readonly target?: string;
  /** The reader's own handle to find the file again (squashfs inode reference, EROFS nid). */
  readonly ref?: number;
  /** Whether the chunks hold the file's bytes as they are (no compression): content can be read straight. */
  readonly raw?: boolean;
  /** Permission bits (mode & 0o7777) of a regular file, where the format keeps them (squashfs, EROFS). */
  readonly mode?: number;
}

/** One entry as an object (FileTable.get): made on demand, or for a few pseudo-files (boot images, partitions). */
export interface LayoutFile extends FileInit {
  /** '/'-separated, leading '/'. */
  readonly path: string;
  readonly chunks: ArrayLike<number>;
}

const TYPES: readonly LayoutEntryType[] = ['file', 'dir', 'symlink', 'other'];
const TYPE_MASK = 3;
const RAW = 4;
const HAS_REF = 8;
const HAS_MODE = 16;
const HAS_EVIDENCE = 32;
/** Largest first size of a column (an image's inode count is only a hint: a damaged one may claim billions). */
const MAX_HINT = 1 << 21;
/** Chunk bounds first made room for, per entry hinted: two chunks (most entries of a root tree have none or one). */
const CHUNK_SLOTS_HINT = 4;

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Builds a FileTable entry by entry; a parent is added before its children. */
export class FileTableBuilder {
  private readonly kind: Column<Uint8Array>;
  private readonly sizes: Column<Float64Array>;
  private readonly parents: Column<Int32Array>;
  private readonly chunkAt: Column<Uint32Array>;
  private readonly bounds: Column<Float64Array>;
  /** Per chunk (beside `bounds`): the EROFS logical offset the evidence string names. */
  private readonly las: Column<Float64Array>;
  private readonly refs: Column<Float64Array>;
  private readonly modes: Column<Uint16Array>;
  private readonly tailBlock: Column<Int32Array>;
  private readonly tailOffset: Column<Uint32Array>;
  private readonly tailLength: Column<Uint32Array>;
  private readonly names: NameList;
  private readonly targets = new Map<number, string>();
  /** Evidence that is not one base-36 number per chunk (kept as given). */
  private readonly oddEvidence = new Map<number, string>();
  /** Directories added by path (addPath), to find a parent. */
  private readonly dirs = new Map<string, number>();

  /** `expected`: the entries the image says it holds (an inode count), the per-entry columns' first size; 0: unknown. */
  constructor(expected = 0) {
    const hint = Number.isSafeInteger(expected) && expected > 0 ? Math.min(expected, MAX_HINT) : 0;
    this.kind = new Column((n) => new Uint8Array(n), 0, hint);
    this.sizes = new Column((n) => new Float64Array(n), 0, hint);
    this.parents = new Column((n) => new Int32Array(n), -1, hint);
    this.chunkAt = new Column((n) => new Uint32Array(n), 0, hint);
    this.refs = new Column((n) => new Float64Array(n), 0, hint);
    this.modes = new Column((n) => new Uint16Array(n), 0, hint);
    this.tailBlock = new Column((n) => new Int32Array(n), -1, hint);
    this.tailOffset = new Column((n) => new Uint32Array(n), 0, hint);
    this.tailLength = new Column((n) => new Uint32Array(n), 0, hint);
    // Chunks and names by the same hint, with room to spare: a large typed array is mapped zeroed and its pages
    // count only once written, so room unused costs no memory, while growing by doubling copied the column each
    // time and left the old one (up to as large) for the old space's collection: at 80,000 EROFS entries, about
    // 150 bytes an entry more at the walk's peak.
    this.bounds = new Column((n) => new Float64Array(n), 0, hint * CHUNK_SLOTS_HINT);
    this.las = new Column((n) => new Float64Array(n), 0, (hint * CHUNK_SLOTS_HINT) / 2);
    this.names = new NameList(hint);
  }

  get count(): number {
    return this.names.count;
  }

  /** Adds an entry named `name` under entry `parent` (-1: `name` is its whole path); returns its index. */
  add(parent: number, name: string, f: FileInit): number {
    const i = this.names.count;
    this.names.push(name);
    this.parents.set(i, parent);
    this.kind.set(i, TYPES.indexOf(f.type) | (f.raw ? RAW : 0) | (f.ref !== undefined ? HAS_REF : 0) | (f.mode !== undefined ? HAS_MODE : 0));
    this.sizes.set(i, f.size);
    const at = this.bounds.n;
    this.chunkAt.set(i, at);
    const c = f.chunks;
    if (c && c.length > 0) {
      const b = this.bounds.reserve(at + c.length);
      for (let k = 0; k < c.length; k++) b[at + k] = c[k]!;
    }
    if (f.ref !== undefined) this.refs.set(i, f.ref);
    if (f.mode !== undefined) this.modes.set(i, f.mode);
    if (f.tail) {
      this.tailBlock.set(i, f.tail.block);
      this.tailOffset.set(i, f.tail.offset);
      this.tailLength.set(i, f.tail.length);
    }
    if (f.target !== undefined) this.targets.set(i, f.target);
    const evidence = f.evidence ?? (f.las && f.las.length > 0 ? f.las : undefined);
    if (evidence !== undefined) this.addEvidence(i, at, c?.length ?? 0, evidence);
    return i;
  }

  /** Adds an entry by its whole path: its parent is the directory added by path before it, if any. */
  addPath(path: string, f: FileInit): number {
    const cut = path.lastIndexOf('/');
    const parent = cut < 0 || path === '/' ? undefined : this.dirs.get(cut === 0 ? '/' : path.slice(0, cut));
    const i = parent === undefined ? this.add(-1, path, f) : this.add(parent, path.slice(cut + 1), f);
    if (f.type === 'dir') this.dirs.set(path, i);
    return i;
  }

  private addEvidence(i: number, at: number, bounds: number, evidence: string | ArrayLike<number>): void {
    const text = typeof evidence === 'string' ? evidence.split('.') : undefined;
    const las = text ? text.map((x) => parseInt(x, 36)) : (evidence as ArrayLike<number>);
    if (las.length * 2 !== bounds || text?.some((x, k) => las[k]!.toString(36) !== x)) {
      this.oddEvidence.set(i, text ? (evidence as string) : Array.from(las, (x) => x.toString(36)).join('.'));
      return;
    }
    this.kind.set(i, this.kind.at(i) | HAS_EVIDENCE);
    const a = this.las.reserve(at / 2 + las.length);
    for (let k = 0; k < las.length; k++) a[at / 2 + k] = las[k]!;
  }

  /** The table; `sorted`: in path order (as the readers list). Each column goes once its copy is made (peak: one table and a column). */
  finish(sorted = true): FileTable {
    const n = this.names.count;
    let order: Uint32Array | undefined;
    // By each entry's parent's path and its name (path-order.ts): no string of a whole path per entry.
    if (sorted) order = pathOrder(this.names, this.parents.at);
    const newIndex = new Int32Array(n);
    for (let j = 0; j < n; j++) newIndex[order ? order[j]! : j] = j;
    // Scratch of the in-place orderings (columns sized exactly by the builder's hint).
    const seen = new Uint8Array(n);
    const parents = this.parents.reordered(order, n, seen);
    for (let j = 0; j < n; j++) if (parents[j]! >= 0) parents[j] = newIndex[parents[j]!]!;
    const names = this.names.take(order);
    this.dirs.clear();
    // Chunk bounds (and their evidence) in the new order.
    const chunkAt = new Uint32Array(n + 1);
    const total = this.bounds.n;
    // Byte offsets and logical starts in 4 bytes each when all fit (an image under 4 GiB): a chunk costs 8 bytes, not 16.
    const bounds = fitsUint32(this.bounds.a, 0, total) ? new Uint32Array(total) : new Float64Array(total);
    const las = this.las.n > 0 ? (fitsUint32(this.las.a, 0, Math.min(this.las.n, total / 2)) ? new Uint32Array(total / 2) : new Float64Array(total / 2)) : undefined;
    let at = 0;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      const from = this.chunkAt.at(i);
      const to = i + 1 < n ? this.chunkAt.at(i + 1) : total;
      chunkAt[j] = at;
      bounds.set(this.bounds.a.subarray(from, to), at);
      if (las) for (let k = from / 2; k < to / 2; k++) las[at / 2 + k - from / 2] = this.las.at(k);
      at += to - from;
    }
    chunkAt[n] = at;
    this.chunkAt.release();
    this.bounds.release();
    this.las.release();
    const remap = <V>(m: Map<number, V>) => new Map([...m].map(([i, v]) => [newIndex[i]!, v] as const));
    const tails = this.tailBlock.n > 0 ? { block: narrowedInt16(this.tailBlock.reordered(order, n, seen)), offset: this.tailOffset.reordered(order, n, seen), length: this.tailLength.reordered(order, n, seen) } : undefined;
    const table = new FileTable({
      count: n,
      kind: this.kind.reordered(order, n, seen),
      sizes: narrowed(this.sizes.reordered(order, n, seen)),
      parents,
      names,
      chunkAt,
      bounds,
      las,
      refs: this.refs.n > 0 ? narrowed(this.refs.reordered(order, n, seen)) : undefined,
      modes: this.modes.n > 0 ? this.modes.reordered(order, n, seen) : undefined,
      tails,
      targets: this.targets.size > 0 ? remap(this.targets) : undefined,
      oddEvidence: this.oddEvidence.size > 0 ? remap(this.oddEvidence) : undefined,
    });
    // The scratch goes now (core/give-back.ts), not at the next full collection.
    for (const a of [order, newIndex, seen]) giveBack(a);
    return table;
  }
}

interface Columns {
  readonly count: number;
  readonly kind: Uint8Array;
  readonly sizes: Float64Array | Uint32Array;
  readonly parents: Int32Array;
  /** Every name, where the builder wrote it. */
  readonly names: NamesAt;
  /** Entry i's chunk bounds are bounds[chunkAt[i], chunkAt[i + 1]). */
  readonly chunkAt: Uint32Array;
  readonly bounds: Float64Array | Uint32Array;
  readonly las: Float64Array | Uint32Array | undefined;
  readonly refs: Float64Array | Uint32Array | undefined;
  readonly modes: Uint16Array | undefined;
  readonly tails: { readonly block: Int32Array | Int16Array; readonly offset: Uint32Array; readonly length: Uint32Array } | undefined;
  /** Symlink targets (a few per cent of a root tree's entries). */
  readonly targets: Map<number, string> | undefined;
  readonly oddEvidence: Map<number, string> | undefined;
}

/** A layout's entries, in path order. */
export class FileTable implements Iterable<LayoutFile> {
  readonly count: number;
  private lastDir = -1;
  private lastDirPath = '';

  constructor(private readonly c: Columns) {
    this.count = c.count;
  }

  /** A table of LayoutFile objects (a few entries, or tests). */
  static of(files: readonly LayoutFile[], sorted = false): FileTable {
    const b = new FileTableBuilder();
    for (const f of files) b.addPath(f.path, f);
    return b.finish(sorted);
  }

  type = (i: number): LayoutEntryType => TYPES[this.c.kind[i]! & TYPE_MASK]!;
  size = (i: number): number => this.c.sizes[i]!;
  raw = (i: number): boolean => (this.c.kind[i]! & RAW) !== 0;

  ref = (i: number): number | undefined => (this.c.kind[i]! & HAS_REF ? this.c.refs![i]! : undefined);
  mode = (i: number): number | undefined => (this.c.kind[i]! & HAS_MODE ? this.c.modes![i]! : undefined);
  /** Entry i's parent, -1 for none (its name is then its whole path); its name's length and code unit k (entry-keys.ts: paths hashed and compared with no string made). */
  parent = (i: number): number => this.c.parents[i]!;
  nameLength = (i: number): number => this.c.names.length(i);
  nameCode = (i: number, k: number): number => this.c.names.code(i, k);
  /** Chunk k's logical start when entry i's evidence is kept as numbers (one per chunk), else undefined. */
  lasAt = (i: number, k: number): number | undefined => (this.c.kind[i]! & HAS_EVIDENCE ? this.c.las![(this.c.chunkAt[i]! >> 1) + k] : undefined);

  name(i: number): string {
    return this.c.names.name(i);
  }

  /** '/'-separated, leading '/'; made on each call from the parent's (remembered for the siblings after). */
  path(i: number): string {
    const p = this.c.parents[i]!;
    if (p < 0) return this.name(i);
    if (p !== this.lastDir) {
      // Up to the top (a loop: depth is the tree's), then joined downwards.
      const up: number[] = [];
      for (let d = p; d >= 0; d = this.c.parents[d]!) up.push(d);
      let dir = this.name(up[up.length - 1]!);
      for (let k = up.length - 2; k >= 0; k--) dir = joinPath(dir, this.name(up[k]!));
      this.lastDir = p;
      this.lastDirPath = dir;
    }
    return joinPath(this.lastDirPath, this.name(i));
  }

  /** Index of the entry at `path`, or -1. */
  indexOf(path: string): number {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const same = (i: number) => {
      if (this.nameLength(i) !== name.length) return false;
      for (let k = 0; k < name.length; k++) if (this.nameCode(i, k) !== name.charCodeAt(k)) return false;
      return true;
    };
    for (let i = 0; i < this.count; i++) if (same(i) && this.path(i) === path) return i;
    return -1;
  }

  /** Chunks of entry i (start, end pairs). */
  chunkCount(i: number): number {
    return (this.c.chunkAt[i + 1]! - this.c.chunkAt[i]!) / 2;
  }

  chunkStart(i: number, k: number): number {
    return this.c.bounds[this.c.chunkAt[i]! + 2 * k]!;
  }

  chunkEnd(i: number, k: number): number {
    return this.c.bounds[this.c.chunkAt[i]! + 2 * k + 1]!;
  }

  /** Every entry's chunk bounds, one entry after the other (start, end pairs), as a view: no copy. */
  allChunks(): Float64Array | Uint32Array {
    return this.c.bounds.subarray(0, this.c.chunkAt[this.count]!);
  }

  /** Entry i's chunk bounds as a view (start0, end0, start1, ...). */
  chunks(i: number): Float64Array | Uint32Array {
    return this.c.bounds.subarray(this.c.chunkAt[i]!, this.c.chunkAt[i + 1]!);
  }

  /** The shared block holding entry i's tail, or -1. */
  tailBlock(i: number): number {
    return this.c.tails ? this.c.tails.block[i]! : -1;
  }

  /** The length of entry i's tail, -1 for none (no Tail object made). */
  tailLength = (i: number): number => (this.c.tails && this.c.tails.block[i]! >= 0 ? this.c.tails.length[i]! : -1);
  /** Where entry i's tail starts in its shared block, -1 for none. */
  tailOffset = (i: number): number => (this.c.tails && this.c.tails.block[i]! >= 0 ? this.c.tails.offset[i]! : -1);

  tail(i: number): Tail | undefined {
    const t = this.c.tails;
    return t && t.block[i]! >= 0 ? { block: t.block[i]!, offset: t.offset[i]!, length: t.length[i]! } : undefined;
  }

  target(i: number): string | undefined {
    return this.c.targets?.get(i);
  }

  evidence(i: number): string | undefined {
    if (!(this.c.kind[i]! & HAS_EVIDENCE)) return this.c.oddEvidence?.get(i);
    let s = '';
    for (let k = this.c.chunkAt[i]! >> 1; k < this.c.chunkAt[i + 1]! >> 1; k++) s += (s ? '.' : '') + this.c.las![k]!.toString(36);
    return s;
  }

  /** Entry i as an object (made on each call). */
  get(i: number): LayoutFile {
    const tail = this.tail(i);
    const evidence = this.evidence(i);
    const target = this.target(i);
    const ref = this.ref(i);
    const mode = this.mode(i);
    return {
      path: this.path(i),
      type: this.type(i),
      size: this.size(i),
      chunks: this.chunks(i),
      ...(tail ? { tail } : {}),
      ...(evidence !== undefined ? { evidence } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(ref !== undefined ? { ref } : {}),
      ...(this.raw(i) ? { raw: true } : {}),
      ...(mode !== undefined ? { mode } : {}),
    };
  }

  *[Symbol.iterator](): Iterator<LayoutFile> {
    for (let i = 0; i < this.count; i++) yield this.get(i);
  }

  find(pred: (f: LayoutFile) => boolean): LayoutFile | undefined {
    for (const f of this) if (pred(f)) return f;
    return undefined;
  }

  filter(pred: (f: LayoutFile) => boolean): LayoutFile[] {
    const out: LayoutFile[] = [];
    for (const f of this) if (pred(f)) out.push(f);
    return out;
  }
}
