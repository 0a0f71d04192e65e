/**
 * The columns of a directory read by lean-dir.ts: LeanDir, and the Columns
 * that build them.
 */
import type { Extent } from './entry.js';
import type { PendingDir } from './tree.js';

/** Entry types as the table's letters ('-', 'd', 'l'). */
export const T_FILE = 0x2d;
export const T_DIR = 0x64;
export const T_LINK = 0x6c;

/**
 * A directory as columns: its files and symlinks in record order (index i
 * of every column), its subdirectories (not read yet), and its own size and
 * attributes. `attrs` columns (mode, mtime, link count, serial) are filled
 * only for a walk that asks for them (extract).
 */
export class LeanDir {
  names: readonly string[] = NONE;
  types: readonly number[] = NONE;
  sizes: readonly number[] = NONE;
  lbas: readonly number[] = NONE;
  /** Symlink targets by index. */
  targets: Map<number, string> | undefined;
  /** Extents of a file that has more or fewer than one (multi-extent files, by index). */
  extents: Map<number, readonly Extent[]> | undefined;
  // Filled only for a walk that reads dates (extract's writing pass): `ls` and extract's check print and check none.
  /** Mode, -1 when none. */
  modes: readonly number[] = NONE;
  /** Mtime in ms, NaN when none (a double array). */
  mtimes: readonly number[] = NONE;
  /** Link count, -1 when none. */
  nlinks: readonly number[] = NONE;
  /** PX serial number, -1 when none. */
  inodes: readonly number[] = NONE;
  subdirs: PendingDir[] = [];
  /** The directory's own extent size (as its DirRead entry's size). */
  size = 0;
  mode = -1;
  mtime = NaN;
  hidden = false;

  constructor(readonly dir: PendingDir) {}
}

const NONE: readonly never[] = [];

/** Columns above this many entries are not kept for the next directory (they would hold its names alive). */
const KEEP_COLUMNS = 4096;

/**
 * The columns of the directory being read, grown once and reused: each
 * directory gets exact-length copies (arrays grown from empty took ~1 KiB
 * per directory of four files, in a walk of 12,500 directories).
 */
export class Columns {
  private n = 0;
  private names: string[] = [];
  private types: number[] = [];
  private sizes: number[] = [];
  private lbas: number[] = [];
  private modes: number[] = [];
  private mtimes: number[] = [];
  private nlinks: number[] = [];
  private inodes: number[] = [];

  constructor(private readonly attrs: boolean) {}

  /** Adds an entry; returns its index. */
  push(name: string, type: number, size: number, lba: number, mode: number | undefined, mtime: number | undefined, nlink: number | undefined, inode: number | undefined): number {
    const i = this.n++;
    this.names[i] = name;
    this.types[i] = type;
    this.sizes[i] = size;
    this.lbas[i] = lba;
    if (this.attrs) {
      this.modes[i] = mode ?? -1;
      this.mtimes[i] = mtime ?? NaN;
      this.nlinks[i] = nlink ?? -1;
      this.inodes[i] = inode ?? -1;
    }
    return i;
  }

  /** Gives `d` the columns (copies of exact length) and starts over. */
  take(d: LeanDir): void {
    const n = this.n;
    this.n = 0;
    if (n === 0) return;
    d.names = this.names.slice(0, n);
    d.types = this.types.slice(0, n);
    d.sizes = this.sizes.slice(0, n);
    d.lbas = this.lbas.slice(0, n);
    if (this.attrs) {
      d.modes = this.modes.slice(0, n);
      d.mtimes = this.mtimes.slice(0, n);
      d.nlinks = this.nlinks.slice(0, n);
      d.inodes = this.inodes.slice(0, n);
    }
    if (n > KEEP_COLUMNS) this.names = [];
  }

  /** Drops what was added (a directory read again by TreeWalk). */
  clear(): void {
    this.n = 0;
  }
}

