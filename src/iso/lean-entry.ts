/**
 * One IsoEntry object reused for every entry of a lean walk (lean-dir.ts),
 * for the consumers written for IsoEntry (extract's checks and EntryWriter):
 * set from a LeanDir's columns before each call, its path joined only when
 * asked for. A consumer may use it until it returns (or its promise
 * settles): the walk awaits it before it sets the next entry.
 */
import type { EntryType, Extent, IsoEntry } from './entry.js';
import { T_LINK, type LeanDir } from './lean-dir.js';

/** The one-extent array of a file, reused. */
class OneExtent implements Extent {
  lba = 0;
  size = 0;
}

const NO_EXTENTS: readonly Extent[] = [];

export class LeanEntry implements IsoEntry {
  name = '';
  type: EntryType = 'file';
  size = 0;
  lba = 0;
  extents: readonly Extent[] = NO_EXTENTS;
  target: string | undefined = undefined;
  mode: number | undefined = undefined;
  nlink: number | undefined = undefined;
  mtimeMs: number | undefined = undefined;
  inode: number | undefined = undefined;
  /** Not read by the consumers of a lean walk. */
  readonly recordOffset = 0;
  /** The path of the entry's directory; undefined for the root. */
  parent: string | undefined = undefined;
  private joined: string | undefined = undefined;
  private readonly one = new OneExtent();
  private readonly oneList: readonly Extent[] = [this.one];

  get path(): string {
    if (this.joined === undefined) this.joined = this.parent === undefined ? '/' : this.parent === '/' ? `/${this.name}` : `${this.parent}/${this.name}`;
    return this.joined;
  }

  /** Directory `d` itself, in `parent` (undefined: the root). */
  setDir(d: LeanDir, parent: string | undefined): this {
    const dir = d.dir;
    this.name = dir.name;
    this.type = 'dir';
    this.size = d.size;
    this.lba = dir.lba;
    this.one.lba = dir.lba;
    this.one.size = d.size;
    this.extents = this.oneList;
    this.target = undefined;
    this.mode = d.mode < 0 ? undefined : d.mode;
    this.mtimeMs = Number.isNaN(d.mtime) ? undefined : d.mtime;
    this.nlink = undefined;
    this.inode = undefined;
    this.parent = parent;
    this.joined = parent === undefined ? '/' : dir.path;
    return this;
  }

  /** File or symlink `i` of `d`. */
  setFile(d: LeanDir, i: number): this {
    const link = d.types[i] === T_LINK;
    this.name = d.names[i]!;
    this.type = link ? 'symlink' : 'file';
    this.size = d.sizes[i]!;
    this.lba = d.lbas[i]!;
    const many = d.extents?.get(i);
    if (many !== undefined) this.extents = many;
    else {
      this.one.lba = this.lba;
      this.one.size = this.size;
      this.extents = this.oneList;
    }
    this.target = link ? d.targets?.get(i) : undefined;
    const mode = d.modes[i]!, mtime = d.mtimes[i]!, nlink = d.nlinks[i]!, inode = d.inodes[i]!;
    this.mode = mode < 0 ? undefined : mode;
    this.mtimeMs = Number.isNaN(mtime) ? undefined : mtime;
    this.nlink = nlink < 0 ? undefined : nlink;
    this.inode = inode < 0 ? undefined : inode;
    this.parent = d.dir.path;
    this.joined = undefined;
    return this;
  }
}
