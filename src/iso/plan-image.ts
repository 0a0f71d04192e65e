/**
 * readPlanImage: what planning needs of an image (delta/iso-map.ts), read
 * as readIso reads it (the same descriptors, tree choice, directory reads,
 * prefetch announcements, second tree, path tables and boot catalog, with
 * their checks and errors) but keeping no IsoEntry: the listed tree's
 * directories are read into columns (lean-dir.ts; an unusual directory is
 * read by TreeWalk itself and turned into columns), and only the regular
 * files with content are kept, in a FileTable in path order.
 *
 * The walk is breadth first with the same announcements as walkTree (a
 * fetching source, a sync's target, gets the same requests), keeping of each
 * directory only its files with content and its subdirectories until the
 * walk ends; the files are then put in path order, depth first, each
 * directory's files and subtrees (name + "/") by key as tree-sorted.ts
 * orders them, and the directories are dropped as they are passed.
 */
import { TurnSlices } from '../core/turns.js';
import type { ByteSource } from '../store/byte-source.js';
import type { BootCatalog, Extent } from './entry.js';
import type { VolumeDescriptor } from './descriptors.js';
import { readBootCatalog } from './eltorito.js';
import { FileTable } from './file-table.js';
import { LeanReader, T_FILE, type LeanDir } from './lean-dir.js';
import { announceDirectories, chooseTree, readPathTables } from './read-iso.js';
import { TreeWalk, walkTree, type PendingDir, type TransientReads } from './tree.js';
import { sortFrame } from './tree-sorted.js';

/** Directories announced to a fetching source at a time (walkTree's PREFETCH_DIRS). */
const PREFETCH_DIRS = 256;

export interface PlanImage {
  readonly name: string;
  readonly logicalBlockSize: number;
  /** Bytes of the image (the ByteSource's size). */
  readonly imageBytes: number;
  readonly descriptors: readonly VolumeDescriptor[];
  /** The root directory's first block (the root entry's lba). */
  readonly rootLba: number;
  readonly boot?: BootCatalog;
  /** Regular files with content, in path order. */
  readonly files: FileTable;
  /** Whether `flagFile` held for a file (with content) of the tree. */
  readonly flagged: boolean;
}

export interface ReadPlanOptions {
  readonly name?: string;
  /** false: the other tree (Joliet beside Rock Ridge) is not walked (readIso's otherTree). Default true. */
  readonly otherTree?: boolean;
  /** Called for each regular file with content (its path, its size): `flagged` tells whether it ever held. */
  readonly flagFile?: (path: string, size: number) => boolean;
  /**
   * The walk gives the event loop a turn (setImmediate) after this many milliseconds of work between two
   * directories: a local image's walk never waits (its reads resolve at once), so without it a read of another
   * image over the network meanwhile (a sync's target) got no reply handled until this walk ended.
   */
  readonly yieldEveryMs?: number;
}

/** A directory as kept until the walk ends: its files with content and its subdirectories. */
interface Kept {
  readonly path: string;
  readonly names: string[];
  readonly lbas: number[];
  readonly sizes: number[];
  extents: Map<number, readonly Extent[]> | undefined;
  readonly subdirNames: string[];
  readonly kids: (Kept | undefined)[];
}

function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/**
 * The lending reads of the walk: the source's own where it lends (a WindowSource over a local image: directory
 * chunks are scanned in its window, no copy), else reads of it (nothing is at hand, every chunk is read).
 */
function readsOf(src: ByteSource | (ByteSource & TransientReads)): TransientReads {
  if ('peek' in src && 'view' in src) return src;
  return { peek: () => undefined, view: (offset, length) => src.read(offset, length) };
}

export async function readPlanImage(src: ByteSource, opts: ReadPlanOptions = {}): Promise<PlanImage> {
  const { ctx, set, pvd, bs, root, jolietRoot, names, suspSkip } = await chooseTree(src, opts.name ?? 'image', true);
  const both = opts.otherTree !== false;
  await announceDirectories(ctx, set, { primary: names !== 'joliet' || both, joliet: names === 'joliet' || both });
  const mainRoot = TreeWalk.rootDir(names === 'joliet' ? jolietRoot! : root);
  const walk = new TreeWalk(ctx, { names, blockSize: bs, suspSkip, transient: readsOf(src), times: false }, false);
  const flag = opts.flagFile;
  let flagged = false;
  const keep = (d: LeanDir): Kept => {
    const path = d.dir.path;
    const k: Kept = { path, names: [], lbas: [], sizes: [], extents: undefined, subdirNames: d.subdirs.map((s) => s.name), kids: new Array<Kept | undefined>(d.subdirs.length) };
    for (let i = 0; i < d.names.length; i++) {
      if (d.types[i] !== T_FILE || d.sizes[i] === 0) continue;
      const name = d.names[i]!;
      const size = d.sizes[i]!;
      if (flag && !flagged && flag(join(path, name), size)) flagged = true;
      const many = d.extents?.get(i);
      if (many !== undefined) (k.extents ??= new Map()).set(k.names.length, many);
      k.names.push(name);
      k.lbas.push(d.lbas[i]!);
      k.sizes.push(size);
    }
    return k;
  };

  // Breadth first, with walkTree's announcements (tree.ts).
  const reader = new LeanReader(walk);
  const queue: PendingDir[] = [mainRoot];
  const parents: (Kept | undefined)[] = [undefined];
  const slots: number[] = [0];
  let top: Kept | undefined;
  let head = 0;
  let prefetched = 0;
  const turns = opts.yieldEveryMs === undefined ? undefined : new TurnSlices(opts.yieldEveryMs);
  while (head < queue.length) {
    if (turns?.due()) await turns.turn();
    if (ctx.src.prefetch && head >= prefetched) {
      const window = queue.slice(head, head + PREFETCH_DIRS);
      const next = window.filter((d) => d.size !== undefined && d.lba * bs + d.size <= ctx.size && walk.wanted(d));
      prefetched = head + window.length;
      await ctx.src.prefetch(next.map((d) => ({ start: d.lba * bs, end: d.lba * bs + d.size! })));
    }
    const at = head++;
    const read = reader.read(queue[at]!);
    const d = read instanceof Promise ? await read : read;
    const k = keep(d);
    const parent = parents[at];
    if (parent) parent.kids[slots[at]!] = k;
    else top = k;
    // The queue's finished part is not needed again.
    (queue as (PendingDir | undefined)[])[at] = undefined;
    parents[at] = undefined;
    for (let s = 0; s < d.subdirs.length; s++) {
      queue.push(d.subdirs[s]!);
      parents.push(k);
      slots.push(s);
    }
  }

  // The other tree, for its directory sectors (readIso's).
  if (both) {
    if (names !== 'joliet' && jolietRoot) await walkTree(ctx, jolietRoot, { names: 'joliet', blockSize: bs, suspSkip: 0, entries: false });
    else if (names === 'joliet') await walkTree(ctx, root, { names: 'iso9660', blockSize: bs, suspSkip: 0, entries: false });
  }
  await readPathTables(ctx, set, pvd);
  const boot = set.bootCatalogLba !== undefined ? await readBootCatalog(ctx, set.bootCatalogLba, bs) : undefined;

  const files = new FileTable();
  if (top) inPathOrder(top, files);
  files.trim();
  return {
    name: ctx.name,
    logicalBlockSize: bs,
    imageBytes: ctx.size,
    descriptors: set.descriptors,
    rootLba: mainRoot.lba,
    ...(boot ? { boot } : {}),
    files,
    flagged,
  };
}

const FILE = 0, SUBTREE = 1;

/** The kept directories' files into `out` in path order (tree-sorted.ts's keys), depth first. */
function inPathOrder(top: Kept, out: FileTable): void {
  const frame = (k: Kept) => {
    const n = k.names.length + k.subdirNames.length;
    const keys = new Array<string>(n);
    const refs = new Array<number>(n);
    const kinds = new Array<number>(n);
    for (let i = 0; i < k.names.length; i++) {
      keys[i] = k.names[i]!;
      refs[i] = i;
      kinds[i] = FILE;
    }
    for (let s = 0, at = k.names.length; s < k.subdirNames.length; s++, at++) {
      keys[at] = `${k.subdirNames[s]!}/`;
      refs[at] = s;
      kinds[at] = SUBTREE;
    }
    const f = { k, keys, refs, kinds, dir: -1, next: 0 };
    sortFrame(f);
    return f;
  };
  const stack = [frame(top)];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const i = f.next++;
    if (i >= f.keys.length) {
      stack.pop();
      continue;
    }
    const ref = f.refs[i]!;
    if (f.kinds[i] === FILE) {
      const k = f.k;
      const name = k.names[ref]!;
      if (name.includes('/')) {
        // A name that holds "/" (Rock Ridge allows none; be safe): its folder is what its path says.
        const path = join(k.path, name);
        const slash = path.lastIndexOf('/');
        out.push(out.dir(slash <= 0 ? '/' : path.slice(0, slash)), path.slice(slash + 1), k.lbas[ref]!, k.sizes[ref]!, k.extents?.get(ref));
        continue;
      }
      if (f.dir < 0) f.dir = out.dir(k.path);
      out.push(f.dir, name, k.lbas[ref]!, k.sizes[ref]!, k.extents?.get(ref));
    } else {
      const kid = f.k.kids[ref];
      f.k.kids[ref] = undefined; // passed: dropped
      if (kid) stack.push(frame(kid));
    }
  }
}
