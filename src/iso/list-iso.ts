/**
 * listIso: the entries of an image in path order, streamed (tree-sorted.ts),
 * for commands that print them and keep none (`ls`). It reads what readIso
 * reads for the listed tree (descriptors, the root's SUSP, the boot
 * catalog, every directory record of that tree), with the same checks and
 * errors, but not the other tree or the path tables (they list the
 * directories again: as many records as directories, four times over).
 * It reads through a WindowSource, whose window lends the walk each
 * directory's bytes.
 */
import { readBootCatalog } from './eltorito.js';
import { chooseTree } from './read-iso.js';
import type { WindowSource } from './read-window.js';
import { walkTree } from './tree.js';
import { walkTreeSorted, type EmitEntry } from './tree-sorted.js';

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

/**
 * Calls `header` with the image's bounds once the descriptors are read, then
 * `emit` for every entry in path order (as readIso's `entries`).
 */
export async function listIso(src: WindowSource, name: string, header: (img: ListedImage) => Promise<void> | undefined, emit: EmitEntry, opts: ListOptions = {}): Promise<void> {
  const t = await chooseTree(src, name);
  if (t.set.bootCatalogLba !== undefined) await readBootCatalog(t.ctx, t.set.bootCatalogLba, t.bs);
  await header({ volumeSpaceSize: t.pvd.volumeSpaceSize, imageBytes: t.ctx.size, logicalBlockSize: t.bs });
  const root = t.names === 'joliet' ? t.jolietRoot! : t.root;
  await walkTreeSorted(t.ctx, root, { names: t.names, blockSize: t.bs, suspSkip: t.suspSkip, transient: src, times: opts.times !== false }, emit);
}

