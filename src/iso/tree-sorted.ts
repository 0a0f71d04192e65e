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

interface Item {
  readonly key: string;
  readonly entry?: IsoEntry;
  readonly dir?: PendingDir;
  /** The subtree of `dir` (key: name + "/"), else `dir`'s own entry. */
  readonly subtree?: boolean;
}

interface Frame {
  readonly items: Item[];
  next: number;
  /** Subdirectories read (their entry emitted), waiting for their subtree's turn. */
  readonly read: Map<PendingDir, DirRead>;
}

function frameOf(d: DirRead): Frame {
  const items: Item[] = [];
  for (const c of d.children) items.push({ key: c.name, entry: c });
  for (const s of d.subdirs) {
    items.push({ key: s.name, dir: s });
    items.push({ key: `${s.name}/`, dir: s, subtree: true });
  }
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { items, next: 0, read: new Map() };
}

export async function walkTreeSorted(ctx: IsoContext, root: DirRecord, opts: TreeOptions, emit: EmitEntry): Promise<void> {
  const walk = new TreeWalk(ctx, { ...opts, entries: true }, false);
  const top = await walk.readDir(TreeWalk.rootDir(root));
  if (top.entry) await emit(top.entry);
  const stack: Frame[] = [frameOf(top)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const item = frame.items[frame.next++];
    if (!item) {
      stack.pop();
      continue;
    }
    if (item.entry) {
      const wait = emit(item.entry);
      if (wait) await wait;
    } else if (!item.subtree) {
      const d = await walk.readDir(item.dir!);
      if (d.hidden) continue;
      frame.read.set(item.dir!, d);
      const wait = emit(d.entry!);
      if (wait) await wait;
    } else {
      const d = frame.read.get(item.dir!);
      if (!d) continue; // hidden
      frame.read.delete(item.dir!);
      stack.push(frameOf(d));
    }
  }
}
