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

/** Called for each entry in path order; a promise it returns is awaited (backpressure). */
export type EmitEntry = (entry: IsoEntry) => Promise<void> | undefined;

/**
 * One directory's listing, in order of the keys: `refs[i]` is an entry
 * (the key is its name), or a subdirectory (key: its name, when its own
 * entry's turn comes) or its subtree (key: its name and "/", which no
 * name holds). Parallel arrays, not an object per item.
 */
interface Frame {
  readonly keys: string[];
  readonly refs: (IsoEntry | PendingDir)[];
  readonly kinds: Kind[];
  next: number;
  /** Subdirectories read (their entry emitted), waiting for their subtree's turn. */
  readonly read: Map<PendingDir, DirRead>;
}

const enum Kind { Entry, Dir, Subtree }

/** Frames of this many items or fewer are sorted in place by insertion (Array.prototype.sort allocates its own work space each call). */
const INSERTION_SORT_ITEMS = 48;

function frameOf(d: DirRead): Frame {
  const keys: string[] = [];
  const refs: (IsoEntry | PendingDir)[] = [];
  const kinds: Kind[] = [];
  for (const c of d.children) {
    keys.push(c.name);
    refs.push(c);
    kinds.push(Kind.Entry);
  }
  for (const s of d.subdirs) {
    keys.push(s.name, `${s.name}/`);
    refs.push(s, s);
    kinds.push(Kind.Dir, Kind.Subtree);
  }
  const frame = { keys, refs, kinds, next: 0, read: new Map() };
  sortFrame(frame);
  return frame;
}

/** Sorts the frame's parallel arrays by key (UTF-16 code units, as readIso sorts paths), stably: equal keys (a malformed image) keep their record order. */
function sortFrame(f: Frame): void {
  const { keys, refs, kinds } = f;
  const n = keys.length;
  if (n > INSERTION_SORT_ITEMS) {
    const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    const k2 = order.map((i) => keys[i]!), r2 = order.map((i) => refs[i]!), t2 = order.map((i) => kinds[i]!);
    for (let i = 0; i < n; i++) {
      keys[i] = k2[i]!;
      refs[i] = r2[i]!;
      kinds[i] = t2[i]!;
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    if (keys[i - 1]! < k) continue;
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
  const top = await walk.readDir(TreeWalk.rootDir(root));
  if (top.entry) await emit(top.entry);
  const stack: Frame[] = [frameOf(top)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const i = frame.next++;
    if (i >= frame.keys.length) {
      stack.pop();
      continue;
    }
    const kind = frame.kinds[i]!;
    if (kind === Kind.Entry) {
      const wait = emit(frame.refs[i] as IsoEntry);
      if (wait) await wait;
    } else if (kind === Kind.Dir) {
      const dir = frame.refs[i] as PendingDir;
      const d = await walk.readDir(dir);
      if (d.hidden) continue;
      frame.read.set(dir, d);
      const wait = emit(d.entry!);
      if (wait) await wait;
    } else {
      const dir = frame.refs[i] as PendingDir;
      const d = frame.read.get(dir);
      if (!d) continue; // hidden
      frame.read.delete(dir);
      stack.push(frameOf(d));
    }
  }
}
