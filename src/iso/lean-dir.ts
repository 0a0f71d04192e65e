/**
 * One directory of a tree walk read into columns (LeanDir) rather than an
 * IsoEntry per file, for the commands that print or write each entry once
 * and keep none (`ls`'s table, `extract` of a whole image): a listing of
 * 62,500 entries made an entry, an extent, its array, a Rock Ridge object
 * and a joined path per file, and young-generation garbage that a slow
 * consumer (extract, writing files between directories) saw promoted.
 *
 * Same result as TreeWalk.readDir (tree.ts), by construction: a file record
 * whose system use area holds only PX, TF, one NM part and entries the walk
 * ignores is read here field by field; any other record (SL, CL, NM flags or
 * parts, a symlink by its mode) gets the Rock Ridge object the walk makes
 * (rockRidgeInline) and DirScan's rules; and a directory with anything the
 * walk handles over several records or with I/O (a continuation area, a
 * multi-extent file, a relocated directory, a hidden relocation folder), or
 * with any check that fails but the record's own, is read again by
 * TreeWalk.readDir from the start, with its errors and order, and turned
 * into columns. Nothing is recorded in the walk (visited, count) before a
 * directory is known to be lean, so that second reading sees the walk as
 * TreeWalk would.
 */
import { LIMITS, type IsoContext } from './context.js';
import { longDate, shortDate, u32At } from './fields.js';
import { CHUNK_BYTES, directoryStart, FILE_FLAG, RecordCursor } from './records.js';
import { rockRidgeInline, type RockRidge } from './susp.js';
import { CL_PL, NM, PX, TF } from './susp-fields.js';
import { Columns, LeanDir, T_FILE, T_LINK } from './lean-columns.js';
import type { TransientReads } from './tree-options.js';
import type { DirRead, PendingDir, TreeWalk } from './tree.js';

export { LeanDir, T_DIR, T_FILE, T_LINK } from './lean-columns.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

/** SUSP signatures read here (first byte high). */
const SIG_CE = 0x4345, SIG_PX = 0x5058, SIG_NM = 0x4e4d, SIG_TF = 0x5446, SIG_ST = 0x5354;
const SIG_SL = 0x534c, SIG_CL = 0x434c, SIG_PL = 0x504c, SIG_RE = 0x5245;

const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

/** The walk's join: the root's children are "/name". */
function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** What lean's scan of a chunk ended with. */
const enum Scan { Done, Fallback }

/**
 * Reads directories of one TreeWalk (made with entries kept, through a
 * TransientReads source) into LeanDirs.
 */
export class LeanReader {
  private readonly ctx: IsoContext;
  private readonly t: TransientReads;
  private readonly rockRidge: boolean;
  private readonly times: boolean;
  private readonly skip: number;
  private readonly blockSize: number;
  private readonly r: RecordCursor;
  private readonly cols: Columns;
  // The directory being scanned.
  private d!: LeanDir;
  private index = 0;
  private counted = 0;
  private selfRr: RockRidge | undefined;
  private selfMtime: number | undefined;
  // The file record being scanned (scanFile).
  private nameAt = -1;
  private nameEnd = 0;
  // -1 / NaN when absent: a field that held undefined would box every number stored in it.
  private mode = -1;
  private nlink = -1;
  private serial = -1;
  private modify = NaN;
  /** Directories read by TreeWalk itself (tests: both ways are taken). */
  fallbacks = 0;

  constructor(private readonly walk: TreeWalk) {
    this.ctx = walk.ctx;
    this.t = walk.opts.transient!;
    this.rockRidge = walk.opts.names === 'rockridge';
    this.times = walk.times;
    this.skip = walk.opts.suspSkip;
    this.blockSize = walk.opts.blockSize;
    this.r = new RecordCursor(walk.ctx);
    this.cols = new Columns(walk.times);
  }

  /** Directory `dir` as TreeWalk.readDir reads it, as columns; a promise only where it reads. */
  read(dir: PendingDir): LeanDir | Promise<LeanDir> {
    const walk = this.walk;
    if (dir.size === undefined || walk.visited.has(dir.lba) || dir.depth > LIMITS.depth || !walk.wanted(dir)) return this.fallback(dir);
    const size = dir.size;
    const start = directoryStart(this.ctx, dir.lba, size, this.blockSize, dir.path);
    this.begin(dir);
    for (let done = 0; done < size; done += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, size - done);
      const bytes = this.t.peek(start + done, n);
      if (bytes === undefined) return this.readRest(dir, size, start, done);
      this.r.reset(bytes, start + done, n, done + n === size);
      if (this.records() === Scan.Fallback) return this.fallback(dir);
    }
    return this.finish(size);
  }

  /** read from the chunk at `done` on, reading each chunk that the window does not hold. */
  private async readRest(dir: PendingDir, size: number, start: number, done: number): Promise<LeanDir> {
    // One directory at a time: the walk awaits each read, so the reader's state stays this directory's.
    for (; done < size; done += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, size - done);
      const at = start + done;
      const bytes = this.t.peek(at, n) ?? await this.t.view(at, n);
      this.r.reset(bytes, at, n, done + n === size);
      if (this.records() === Scan.Fallback) return this.fallback(dir);
    }
    return this.finish(size);
  }

  private begin(dir: PendingDir): void {
    this.d = new LeanDir(dir);
    this.cols.clear();
    this.index = 0;
    this.counted = 0;
    this.selfRr = undefined;
    this.selfMtime = dir.mtimeMs;
  }

  /** The directory read by TreeWalk itself, as columns. */
  private async fallback(dir: PendingDir): Promise<LeanDir> {
    this.fallbacks++;
    this.cols.clear();
    const read = this.walk.readDir(dir);
    return fromDirRead(dir, read instanceof Promise ? await read : read, this.times);
  }

  /** Records the directory in the walk and gives it its own attributes (TreeWalk's dirRead). */
  private finish(size: number): LeanDir {
    const { walk, d } = this;
    const dir = d.dir;
    walk.visited.set(dir.lba, dir.path);
    walk.total += this.counted;
    this.cols.take(d);
    d.size = size;
    const rr = dir.rr?.mode !== undefined ? dir.rr : this.selfRr ?? dir.rr;
    if (rr?.mode !== undefined) d.mode = (rr.mode & S_IFMT) !== S_IFDIR ? S_IFDIR | (rr.mode & 0o7777) : rr.mode;
    const mtime = walk.mtimeOf(rr, this.selfMtime);
    if (mtime !== undefined) d.mtime = mtime;
    return d;
  }

  /** One more entry for LIMITS.entries; false where the walk's count would fail (TreeWalk then reports it). */
  private count(): boolean {
    return this.walk.total + ++this.counted <= LIMITS.entries;
  }

  /** The Rock Ridge entries of the cursor's record, as TreeWalk.rrInline; null where they need I/O. */
  private rrOf(skip: number): RockRidge | undefined | null {
    const r = this.r;
    if (!this.rockRidge || r.suStart >= r.suEnd) return undefined;
    return rockRidgeInline(r.bytes, Math.min(r.suStart + skip, r.suEnd), r.suEnd, this.blockSize, this.times) ?? null;
  }

  /** The records of the cursor's chunk (DirScan.records and roleOf). */
  private records(): Scan {
    const r = this.r;
    while (r.next()) {
      const i = this.index++;
      const single = r.single();
      if (i === 0 && single === 0) {
        // "." describes this directory itself; the root's carries SP, which the caller already read.
        const rr = this.rrOf(this.d.dir.path === '/' ? 0 : this.skip);
        if (rr === null) return Scan.Fallback;
        this.selfRr = rr;
        if (this.times) this.selfMtime ??= r.mtimeMs();
        continue;
      }
      if (single === 0 || single === 1) continue; // "." / ".."
      const flags = r.flags;
      if (flags & FILE_FLAG.associated) continue; // not part of the tree
      if (flags & FILE_FLAG.multiExtent) return Scan.Fallback;
      if (flags & FILE_FLAG.directory) {
        const rr = this.rrOf(this.skip);
        if (rr === null || !this.entry(rr)) return Scan.Fallback;
      } else if (!this.file()) return Scan.Fallback;
    }
    return Scan.Done;
  }

  /** A file record, read field by field where its system use area is plain (else as `entry`); false: fall back. */
  private file(): boolean {
    const r = this.r;
    this.nameAt = -1;
    this.mode = this.nlink = this.serial = -1;
    this.modify = NaN;
    if (this.rockRidge && r.suStart < r.suEnd && !this.plainArea(r.bytes, Math.min(r.suStart + this.skip, r.suEnd), r.suEnd)) {
      const rr = this.rrOf(this.skip);
      return rr !== null && this.entry(rr);
    }
    const size = r.dataLength;
    const lba = r.extentLba + r.extAttrLength;
    if (size > 0 && lba * this.blockSize + size > this.ctx.size) return false; // TreeWalk reports it
    if (!this.count()) return false;
    const name = this.nameAt >= 0 ? utf8Slice.call(r.bytes, this.nameAt, this.nameEnd) : this.walk.nameOf(undefined, r.bytes, r.idStart, r.idLength);
    const mtime = this.times ? (Number.isNaN(this.modify) ? r.mtimeMs() : this.modify) : undefined;
    this.cols.push(name, T_FILE, size, lba, this.mode < 0 ? undefined : this.mode, mtime, this.nlink < 0 ? undefined : this.nlink, this.serial < 0 ? undefined : this.serial);
    return true;
  }

  /**
   * Reads PX, TF's modification time and one NM part of the area
   * `b[start, end)` (scanArea's rules); false where it holds anything
   * else that matters (then the record is read through rockRidgeInline).
   */
  private plainArea(b: Uint8Array, start: number, end: number): boolean {
    let e = start;
    while (e + 4 <= end) {
      const sig = (b[e]! << 8) | b[e + 1]!;
      const len = b[e + 2]!;
      if (len < 4 || e + len > end) break; // padding or a torn entry: the area ends here
      switch (sig) {
        case SIG_PX:
          if (len >= 36) {
            this.mode = u32At(b, e + PX.mode.at);
            this.nlink = u32At(b, e + PX.nlink.at);
            if (len >= 44) this.serial = u32At(b, e + PX.serial.at);
            if ((this.mode & S_IFMT) === S_IFLNK) return false;
          }
          break;
        case SIG_NM:
          if (len >= 5) {
            if (b[e + NM.flags.at]! & 0x06 || this.nameAt >= 0) return false; // CURRENT / PARENT, or a second part
            this.nameAt = e + NM.name.at;
            this.nameEnd = e + len;
          }
          break;
        case SIG_TF:
          if (len >= 5 && this.times) this.tfModify(b, e, len);
          break;
        case SIG_CE: case SIG_SL: case SIG_CL: case SIG_PL: case SIG_RE:
          return false;
        default:
          break;
      }
      if (sig === SIG_ST) break;
      e += len;
    }
    return true;
  }

  /** TF's modification time (scanTimes' rules for that stamp alone: it follows the creation stamp, if any). */
  private tfModify(b: Uint8Array, e: number, len: number): void {
    const flags = b[e + TF.flags.at]!;
    if (!(flags & 0x02)) return;
    const width = flags & 0x80 ? 17 : 7;
    let p = TF.stamps.at;
    if (flags & 0x01) {
      if (p + width > len) return;
      p += width;
    }
    if (p + width > len) return;
    const t = width === 17 ? longDate(b, e + p) : shortDate(b, e + p);
    if (t !== undefined) this.modify = t;
  }

  /** A record with its Rock Ridge object: DirScan.handle and finishFile for a single-extent entry; false: fall back. */
  private entry(rr: RockRidge | undefined): boolean {
    const { r, walk, d } = this;
    if (rr?.relocated) return false; // TreeWalk hides it and maybe its folder
    const name = walk.nameOf(rr, r.bytes, r.idStart, r.idLength);
    if (rr?.childLink !== undefined || (r.flags & FILE_FLAG.directory)) {
      if (!this.count()) return false;
      const dir = d.dir;
      d.subdirs.push({
        path: join(dir.path, name), name,
        lba: rr?.childLink !== undefined ? rr.childLink : r.extentLba + r.extAttrLength,
        size: rr?.childLink !== undefined ? undefined : r.dataLength,
        depth: dir.depth + 1, recordOffset: r.offset, rr, mtimeMs: this.times ? r.mtimeMs() : undefined,
      });
      return true;
    }
    const lba = r.extentLba + r.extAttrLength;
    const size = r.dataLength;
    if (size > 0 && lba * this.blockSize + size > this.ctx.size) return false;
    if (!this.count()) return false;
    const isLink = rr !== undefined && (rr.target !== undefined || ((rr.mode ?? 0) & S_IFMT) === S_IFLNK);
    const mtime = walk.mtimeOf(rr, this.times ? rr?.times?.modify ?? r.mtimeMs() : undefined);
    const i = this.cols.push(name, isLink ? T_LINK : T_FILE, isLink ? 0 : size, lba, rr?.mode, mtime, rr?.nlink, rr?.serial);
    if (isLink) {
      (d.targets ??= new Map()).set(i, rr.target ?? '');
      (d.extents ??= new Map()).set(i, []);
    }
    return true;
  }
}

/** A directory TreeWalk read, as columns. */
export function fromDirRead(dir: PendingDir, read: DirRead, attrs: boolean): LeanDir {
  const d = new LeanDir(dir);
  const cols = new Columns(attrs);
  d.subdirs = read.subdirs;
  d.hidden = read.hidden;
  const e = read.entry;
  if (e) {
    d.size = e.size;
    if (e.mode !== undefined) d.mode = e.mode;
    if (e.mtimeMs !== undefined) d.mtime = e.mtimeMs;
  }
  for (const c of read.children) {
    const i = cols.push(c.name, c.type === 'symlink' ? T_LINK : T_FILE, c.size, c.lba, c.mode, c.mtimeMs, c.nlink, c.inode);
    if (c.target !== undefined) (d.targets ??= new Map()).set(i, c.target);
    if (c.extents.length !== 1) (d.extents ??= new Map()).set(i, c.extents);
  }
  cols.take(d);
  return d;
}
