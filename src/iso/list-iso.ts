/**
 * listIso: the entries of an image in path order, streamed (tree-sorted.ts),
 * for commands that print them and keep none (`ls`). It reads what readIso
 * reads for the listed tree (descriptors, the root's SUSP, the boot
 * catalog, every directory record of that tree), with the same checks and
 * errors, but not the other tree or the path tables (they list the
 * directories again: as many records as directories, four times over).
 * It reads through a WindowSource, whose window lends the walk each
 * directory's bytes. scanIso reads the same directories, unordered.
 */
import { readBootCatalog } from './eltorito.js';
import { chooseTree, type TreeChoice } from './read-iso.js';
import type { WindowSource } from './read-window.js';
import { LeanReader, type LeanDir } from './lean-dir.js';
import { TreeWalk, type PendingDir } from './tree.js';
import { walkTreeSorted, type EmitEntry } from './tree-sorted.js';
import { walkLeanSorted, type LeanSink } from './lean-sorted.js';

export interface ListOptions {
  /** false: entries carry no mtimeMs (no date is read). Default true. */
  readonly times?: boolean;
}

export interface ListedImage {
  /** In logical blocks: every entry's first block is below it in a sound image. */
  readonly volumeSpaceSize: number;
  readonly imageBytes: number;
  readonly logicalBlockSize: number;
}

/** The tree listed, once the descriptors and the boot catalog are read (and checked). */
async function listedTree(src: WindowSource, name: string): Promise<TreeChoice> {
  const t = await chooseTree(src, name);
  if (t.set.bootCatalogLba !== undefined) await readBootCatalog(t.ctx, t.set.bootCatalogLba, t.bs);
  return t;
}

function bounds(t: TreeChoice): ListedImage {
  return { volumeSpaceSize: t.pvd.volumeSpaceSize, imageBytes: t.ctx.size, logicalBlockSize: t.bs };
}

/**
 * Calls `header` with the image's bounds once the descriptors are read, then
 * `emit` for every entry in path order (as readIso's `entries`).
 */
export async function listIso(src: WindowSource, name: string, header: (img: ListedImage) => Promise<void> | undefined, emit: EmitEntry, opts: ListOptions = {}): Promise<void> {
  const t = await listedTree(src, name);
  await header(bounds(t));
  const root = t.names === 'joliet' ? t.jolietRoot! : t.root;
  await walkTreeSorted(t.ctx, root, { names: t.names, blockSize: t.bs, suspSkip: t.suspSkip, transient: src, times: opts.times !== false }, emit);
}

/**
 * listIso handing out each entry as a directory's columns and an index
 * (lean-sorted.ts), not as an IsoEntry: the same entries, order, reads,
 * checks and errors.
 */
export async function listLean(src: WindowSource, name: string, header: (img: ListedImage) => Promise<void> | undefined, sink: LeanSink, opts: ListOptions = {}): Promise<void> {
  const t = await listedTree(src, name);
  await header(bounds(t));
  const root = t.names === 'joliet' ? t.jolietRoot! : t.root;
  const walk = new TreeWalk(t.ctx, { names: t.names, blockSize: t.bs, suspSkip: t.suspSkip, transient: src, times: opts.times !== false }, false);
  await walkLeanSorted(walk, TreeWalk.rootDir(root), sink);
}

/**
 * The directories listIso lists (the same reads and checks, but for the
 * order), each as TreeWalk reads it (as columns), depth first in record order: no entry
 * is sorted or handed out one by one, for a caller that checks each
 * directory's entries as a whole (extract's first pass). No dates are read.
 */
export async function scanIso(src: WindowSource, name: string, visit: (d: LeanDir) => void): Promise<ListedImage> {
  const t = await listedTree(src, name);
  const root = t.names === 'joliet' ? t.jolietRoot! : t.root;
  const walk = new TreeWalk(t.ctx, { names: t.names, blockSize: t.bs, suspSkip: t.suspSkip, transient: src, times: false }, false);
  // Each directory as columns (lean-dir.ts): no entry object per file.
  const reader = new LeanReader(walk);
  const stack: PendingDir[] = [TreeWalk.rootDir(root)];
  while (stack.length > 0) {
    const read = reader.read(stack.pop()!);
    const d = read instanceof Promise ? await read : read;
    if (d.hidden) continue; // as listIso: neither it nor anything below it is listed
    visit(d);
    for (let i = d.subdirs.length - 1; i >= 0; i--) stack.push(d.subdirs[i]!);
  }
  return bounds(t);
}
