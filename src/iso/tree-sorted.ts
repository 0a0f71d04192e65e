/**
 * The directory tree in path order, streamed: each entry is handed to `emit`
 * as soon as its place in the order is known, and none is kept. `ls` lists a
 * million entries this way in the memory of a few directories, without the
 * array of every entry and without sorting it.
 *
 * The order is the one readIso gives (entries sorted by path, by UTF-16 code
 * units): siblings share their parent's path, so they compare by name, and
 * the entries below a directory named N compare as N + "/" (a name holds no
 * "/"). So a directory lists, in order of these keys, its entries (key: the
 * name) and its subtrees (key: the name and "/"). A directory is read when
 * its own entry's turn comes (its entry's attributes come from its "."
 * record), and its children are listed when its subtree's turn comes.
 *
 * Depth first, with an explicit stack (bounded by LIMITS.depth through
 * TreeWalk): directories are read in path order rather than in block order,
 * and no prefetch is announced, so this walk is for local images. Metadata
 * areas are not collected.
 */
import type { IsoContext } from './context.js';
import type { IsoEntry } from './entry.js';
import type { DirRecord } from './records.js';
import { TreeWalk, type DirRead, type PendingDir, type TreeOptions } from './tree.js';

/**
 * Called for each entry in path order; a promise it returns is awaited
 * (backpressure). `parent` is the path of the entry's directory (undefined
 * for the root): the entry's path is `parent`, "/" (unless `parent` is the
 * root) and its name, so a caller that prints paths can write the two parts
 * and leave the joined path a rope that is never flattened.
 */
export type EmitEntry = (entry: IsoEntry, parent: string | undefined) => Promise<void> | undefined;

/**
 * One directory's listing, in order of the keys: `refs[i]` is an entry
 * (the key is its name), or a subdirectory (key: its name, when its own
 * entry's turn comes) or its subtree (key: its name and "/", which no
 * name holds). Parallel arrays, not an object per item.
 */
interface Frame {
  /** The directory's path. */
  readonly path: string;
  readonly keys: string[];
  readonly refs: (IsoEntry | Subdir)[];
  readonly kinds: Kind[];
  next: number;
}

/** A subdirectory, in both of its places in its parent's frame: read (its entry emitted) at the first, listed at the second. */
interface Subdir {
  readonly dir: PendingDir;
  read: DirRead | undefined;
}

const enum Kind { Entry, Dir, Subtree }

/** Frames of this many items or fewer are sorted in place by insertion; larger ones by merging runs. */
const INSERTION_SORT_ITEMS = 48;

function frameOf(d: DirRead, path: string): Frame {
  const keys: string[] = [];
  const refs: (IsoEntry | Subdir)[] = [];
  const kinds: Kind[] = [];
  for (const c of d.children) {
    keys.push(c.name);
    refs.push(c);
    kinds.push(Kind.Entry);
  }
  for (const dir of d.subdirs) {
    const s: Subdir = { dir, read: undefined };
    keys.push(dir.name, `${dir.name}/`);
    refs.push(s, s);
    kinds.push(Kind.Dir, Kind.Subtree);
  }
  const frame = { path, keys, refs, kinds, next: 0 };
  sortFrame(frame);
  return frame;
}

/** Index work space of sortFrame, grown as needed. */
let order = new Uint32Array(1024);
let merged = new Uint32Array(1024);

/**
 * Sorts the frame's parallel arrays by key (UTF-16 code units, as readIso
 * sorts paths), stably: equal keys (a malformed image) keep their record
 * order. A frame already in order (often: records are sorted by their ISO
 * 9660 names) is left as is; a large one is sorted by merging, with no
 * closure (Array.prototype.sort's comparator and the maps around it made
 * this the costliest function for the optimizing compiler of a listing).
 */
export function sortFrame(f: { readonly keys: string[]; readonly refs: unknown[]; readonly kinds: number[] }): void {
  const { keys, refs, kinds } = f;
  const n = keys.length;
  let i = 1;
  while (i < n && keys[i - 1]! <= keys[i]!) i++;
  if (i >= n) return;
  if (n <= INSERTION_SORT_ITEMS) {
    insertionSort(f, i);
    return;
  }
  if (order.length < n) {
    order = new Uint32Array(n * 2);
    merged = new Uint32Array(n * 2);
  }
  let src = order, dst = merged;
  for (let j = 0; j < n; j++) src[j] = j;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let a = lo, b = mid, o = lo;
      while (a < mid && b < hi) dst[o++] = keys[src[b]!]! < keys[src[a]!]! ? src[b++]! : src[a++]!;
      while (a < mid) dst[o++] = src[a++]!;
      while (b < hi) dst[o++] = src[b++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  const k2 = keys.slice(), r2 = refs.slice(), t2 = kinds.slice();
  for (let j = 0; j < n; j++) {
    const from = src[j]!;
    keys[j] = k2[from]!;
    refs[j] = r2[from]!;
    kinds[j] = t2[from]!;
  }
}

/** Insertion sort of the frame's arrays from `start` (what is before it is in order). */
function insertionSort(f: { readonly keys: string[]; readonly refs: unknown[]; readonly kinds: number[] }, start: number): void {
  const { keys, refs, kinds } = f;
  for (let i = start; i < keys.length; i++) {
    const k = keys[i]!;
    if (keys[i - 1]! <= k) continue;
    const r = refs[i]!, t = kinds[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > k; j--) {
      keys[j + 1] = keys[j]!;
      refs[j + 1] = refs[j]!;
      kinds[j + 1] = kinds[j]!;
    }
    keys[j + 1] = k;
    refs[j + 1] = r;
    kinds[j + 1] = t;
  }
}

export async function walkTreeSorted(ctx: IsoContext, root: DirRecord, opts: TreeOptions, emit: EmitEntry): Promise<void> {
  const walk = new TreeWalk(ctx, { ...opts, entries: true }, false);
  const rootDir = TreeWalk.rootDir(root);
  const top = await walk.readDir(rootDir);
  if (top.entry) await emit(top.entry, undefined);
  const stack: Frame[] = [frameOf(top, rootDir.path)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const i = frame.next++;
    if (i >= frame.keys.length) {
      stack.pop();
      continue;
    }
    const kind = frame.kinds[i]!;
    if (kind === Kind.Entry) {
      const wait = emit(frame.refs[i] as IsoEntry, frame.path);
      if (wait) await wait;
    } else if (kind === Kind.Dir) {
      const s = frame.refs[i] as Subdir;
      const read = walk.readDir(s.dir);
      const d = read instanceof Promise ? await read : read; // no await where the window held the directory
      if (d.hidden) continue;
      s.read = d;
      const wait = emit(d.entry!, frame.path);
      if (wait) await wait;
    } else {
      const s = frame.refs[i] as Subdir;
      const d = s.read;
      if (!d) continue; // hidden
      s.read = undefined;
      stack.push(frameOf(d, s.dir.path));
    }
  }
}
