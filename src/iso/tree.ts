/**
 * Walks one directory tree (the ISO 9660 tree with or without Rock Ridge,
 * or the Joliet tree) from its root record and returns its entries and the
 * metadata areas it read.
 *
 * Invariants: every directory extent is visited once (a second visit is a
 * loop in the tree and an error); depth, entry count and continuation chains
 * are bounded (LIMITS); file content is never read. Rock Ridge relocated
 * directories (RRIP §4.1.5) are presented as the author intended: the CL
 * placeholder becomes the directory at its original place, and the RE
 * directory is hidden from the relocation folder.
 */
import { IsoContext, LIMITS } from './context.js';
import type { IsoEntry, MetadataArea, Extent } from './entry.js';
import { CHUNK_BYTES, directoryStart, FILE_FLAG, readDirectory, RecordCursor, type DirRecord } from './records.js';
import { parseSystemUse, rockRidgeInline, type RockRidge } from './susp.js';
import type { TreeOptions } from './tree-options.js';
import { entryOf, isoName, jolietName } from './tree-entry.js';

export type { NameSource, TransientReads, TreeOptions } from './tree-options.js';
export { isoName, jolietName } from './tree-entry.js';

export interface TreeResult {
  readonly entries: IsoEntry[];
  readonly metadata: MetadataArea[];
}

/** POSIX file type bits of st_mode (RRIP PX carries st_mode). */
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** Names mkisofs, genisoimage and xorriso give the folder of relocated deep directories. */
const RELOCATION_DIR = /^\.?rr_moved$/i;

/** rrInline's answer for a record whose system use area continues elsewhere. */
const NEEDS_IO = Symbol('needs I/O');

/** Directories announced to a fetching source at a time (see ByteSource.prefetch). */
const PREFETCH_DIRS = 256;

function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export interface PendingDir {
  readonly path: string;
  readonly name: string;
  readonly lba: number;
  /** Unknown for a relocated directory reached through CL: read from its "." record. */
  readonly size: number | undefined;
  readonly depth: number;
  readonly recordOffset: number;
  readonly rr: RockRidge | undefined;
  readonly mtimeMs: number | undefined;
}

/** The state of one walk, shared by its directories: bounds, loop detection, metadata areas. */
export class TreeWalk {
  readonly metadata: MetadataArea[] = [];
  /** Directory extents read, by first block (loop detection); shared with lean-dir.ts, which reads the plain directories of the same walk. */
  readonly visited = new Map<number, string>();
  /** Entries counted (LIMITS.entries); lean-dir.ts adds those of the directories it reads. */
  total = 0;
  private readonly rockRidge: boolean;
  readonly keep: boolean;
  /** Whether dates are read (TreeOptions.times). */
  readonly times: boolean;

  constructor(readonly ctx: IsoContext, readonly opts: TreeOptions, private readonly keepMetadata = true) {
    this.rockRidge = opts.names === 'rockridge';
    this.keep = opts.entries !== false;
    this.times = opts.times !== false;
  }

  /** The root directory as a pending directory. */
  static rootDir(root: DirRecord): PendingDir {
    return { path: '/', name: '', lba: root.extentLba + root.extAttrLength, size: root.dataLength, depth: 0, recordOffset: root.offset, rr: undefined, mtimeMs: root.mtimeMs };
  }

  wanted(d: PendingDir): boolean {
    return d.path === '/' || this.opts.descend === undefined || this.opts.descend(d.path);
  }

  count(): void {
    if (++this.total > LIMITS.entries) this.ctx.fail(`more than ${LIMITS.entries} entries in the directory tree`);
  }

  async susp(r: DirRecord, skip: number): Promise<RockRidge | undefined> {
    if (!this.rockRidge || r.systemUse.length === 0) return undefined;
    const su = await parseSystemUse(this.ctx, r.systemUse, r.offset, skip, this.opts.blockSize);
    if (this.keepMetadata) for (const c of su.continuations) this.metadata.push({ kind: 'continuation', start: c.start, end: c.end });
    return su.rr;
  }

  /** The Rock Ridge entries of the cursor's record, read without I/O; NEEDS_IO when its area names a continuation (rarely: then call susp). */
  rrInline(c: RecordCursor, skip: number): RockRidge | undefined | typeof NEEDS_IO {
    if (!this.rockRidge || c.suStart >= c.suEnd) return undefined;
    return rockRidgeInline(c.bytes, Math.min(c.suStart + skip, c.suEnd), c.suEnd, this.opts.blockSize, this.times) ?? NEEDS_IO;
  }

  /** The modification time an entry shows: Rock Ridge TF's, else its record's date; none when the walk reads no dates. */
  mtimeOf(rr: RockRidge | undefined, recordMtime: number | undefined): number | undefined {
    return this.times ? rr?.times?.modify ?? recordMtime : undefined;
  }

  /** The entry's name: Rock Ridge's, else the identifier's (`length` bytes of `id` from `at`). */
  nameOf(rr: RockRidge | undefined, id: Uint8Array, at: number, length: number): string {
    if (this.rockRidge && rr?.name !== undefined) return rr.name;
    const bytes = id.subarray(at, at + length);
    return this.opts.names === 'joliet' ? jolietName(bytes) : isoName(bytes);
  }


  /**
   * Reads directory `dir`: its own entry, its other entries and its
   * subdirectories (to be read later). `hidden`: the relocation folder that
   * only held relocated directories (never part of the author's tree). A
   * directory that `descend` refuses is listed with its parent's attributes
   * and not read.
   *
   * Synchronous while it needs no I/O: a walk through TransientReads whose
   * window holds the directory's sectors gets the DirRead itself (a listing
   * reads ~12,500 directories; an async function and its awaits per
   * directory cost more than the records of a small one). A promise where it
   * reads (a chunk not in the window, a continuation area, a relocated
   * directory's "." record): callers await what they get.
   */
  readDir(dir: PendingDir): DirRead | Promise<DirRead> {
    // Annotated: a call through `ctx.fail` (which never returns) narrows only then.
    const ctx: IsoContext = this.ctx;
    const seen = this.visited.get(dir.lba);
    if (seen !== undefined) {
      ctx.fail(`loop in the directory tree: directory ${JSON.stringify(dir.path)} (record at byte ${dir.recordOffset}) points to block ${dir.lba}, which is already directory ${JSON.stringify(seen)}`, { offset: dir.recordOffset });
    }
    this.visited.set(dir.lba, dir.path);
    if (dir.depth > LIMITS.depth) ctx.fail(`directory ${JSON.stringify(dir.path)} is nested deeper than ${LIMITS.depth} levels`, { offset: dir.recordOffset });

    if (!this.wanted(dir)) {
      const size = dir.size ?? 0;
      const entry = this.keep ? entryOf(dir.path, dir.name, 'dir', size, dir.lba, [{ lba: dir.lba, size }], dir.rr, this.mtimeOf(dir.rr, dir.mtimeMs), dir.recordOffset) : undefined;
      return { entry, children: [], subdirs: [], hidden: false };
    }
    if (dir.size === undefined) return this.readRelocated(dir);
    return this.scanDir(dir, dir.size);
  }

  /** A relocated directory: its length is in its own "." record. */
  private async readRelocated(dir: PendingDir): Promise<DirRead> {
    const ctx: IsoContext = this.ctx;
    const blockSize = this.opts.blockSize;
    if (dir.lba * blockSize + 2048 > ctx.size) {
      ctx.fail(`relocated directory ${JSON.stringify(dir.path)} (record at byte ${dir.recordOffset}) points to byte ${dir.lba * blockSize}, beyond the end of the image (${ctx.size} bytes)`, { offset: dir.recordOffset });
    }
    const first = await readDirectory(ctx, dir.lba, 2048, blockSize, dir.path).next();
    if (first.done) ctx.fail(`relocated directory ${JSON.stringify(dir.path)} at byte ${dir.lba * blockSize} has no "." record`, { offset: dir.lba * blockSize });
    return this.scanDir(dir, first.value.dataLength);
  }

  /** The records of `dir`'s extent of `size` bytes, scanned chunk by chunk; goes on in scanRest at the first chunk that needs I/O. */
  private scanDir(dir: PendingDir, size: number): DirRead | Promise<DirRead> {
    const start = directoryStart(this.ctx, dir.lba, size, this.opts.blockSize, dir.path);
    if (this.keepMetadata) this.metadata.push({ kind: 'directory', start, end: start + size, path: dir.path });
    const scan = new DirScan(this, dir);
    const r = new RecordCursor(this.ctx);
    const t = this.opts.transient;
    for (let done = 0; done < size; done += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, size - done);
      const bytes = t?.peek(start + done, n);
      if (bytes === undefined) return this.scanRest(scan, r, dir, size, start, done);
      r.reset(bytes, start + done, n, done + n === size);
      if (scan.records(r)) {
        // A record whose system use area continues elsewhere: the chunk is copied (reading the
        // continuation may replace the lent view), and the rest of the directory is scanned with awaits.
        r.own();
        return this.scanRest(scan, r, dir, size, start, done, true);
      }
    }
    return this.dirRead(scan, dir, size);
  }

  /**
   * scanDir from the chunk at `done` on, with I/O: `stopped` when the scan
   * stopped in that chunk at a record that needs withContinuation (the
   * cursor is on it), else the chunk is read first.
   */
  private async scanRest(scan: DirScan, r: RecordCursor, dir: PendingDir, size: number, start: number, done: number, stopped = false): Promise<DirRead> {
    const ctx: IsoContext = this.ctx;
    const t = this.opts.transient;
    for (; done < size; done += CHUNK_BYTES, stopped = false) {
      if (!stopped) {
        const n = Math.min(CHUNK_BYTES, size - done);
        // In the image (directoryStart checked the extent): read without ctx.read's check and its message.
        const at = start + done;
        r.reset(t ? t.peek(at, n) ?? await t.view(at, n) : await ctx.src.read(at, n), at, n, done + n === size);
      }
      // The records are handled without awaiting, but for one whose system use area continues elsewhere
      // (the chunk is then copied: reading the continuation may replace a lent view).
      if (stopped) await scan.withContinuation(r);
      while (scan.records(r)) {
        if (t) r.own();
        await scan.withContinuation(r);
      }
    }
    return this.dirRead(scan, dir, size);
  }

  /** The DirRead of a scanned directory. */
  private dirRead(scan: DirScan, dir: PendingDir, size: number): DirRead {
    scan.flushMulti();
    const { children, subdirs } = scan;

    // The relocation folder that only holds relocated directories was never part of the author's tree.
    if (scan.hiddenRelocated > 0 && children.length === 0 && subdirs.length === 0 && dir.depth === 1 && RELOCATION_DIR.test(dir.name)) {
      return { entry: undefined, children, subdirs, hidden: true };
    }
    if (!this.keep) return { entry: undefined, children, subdirs, hidden: false };
    // The directory's own entry: attributes from its record in the parent, else from its "." record.
    const rr = dir.rr?.mode !== undefined ? dir.rr : scan.selfRr ?? dir.rr;
    const entry = entryOf(dir.path, dir.name, 'dir', size, dir.lba, [{ lba: dir.lba, size }], rr, this.mtimeOf(rr, scan.selfMtime), dir.recordOffset);
    if (rr && ((rr.mode ?? S_IFDIR) & S_IFMT) !== S_IFDIR && rr.mode !== undefined) {
      // A directory whose PX says otherwise: keep it a directory, with the permission bits only.
      entry.mode = S_IFDIR | (rr.mode & 0o7777);
    }
    return { entry, children, subdirs, hidden: false };
  }
}

/** What a record of a directory is to its scan. */
const enum Role { Skip, Self, Entry }

/**
 * The records of one directory, handled as the walk reaches them: a
 * synchronous loop per chunk (no await, no closure per directory), which
 * stops only at a record whose system use area names a continuation area.
 */
class DirScan {
  readonly children: IsoEntry[] = [];
  readonly subdirs: PendingDir[] = [];
  selfRr: RockRidge | undefined;
  selfMtime: number | undefined;
  hiddenRelocated = 0;
  private index = 0;
  private multi: { first: DirRecord; rr: RockRidge | undefined; extents: Extent[] } | undefined;
  /** The role of the record `records` stopped at. */
  private pending = Role.Skip;

  constructor(private readonly walk: TreeWalk, private readonly dir: PendingDir) {
    this.selfMtime = dir.mtimeMs;
  }

  /** Handles the cursor's next records; true when it stopped at one that needs withContinuation. */
  records(r: RecordCursor): boolean {
    const walk = this.walk;
    while (r.next()) {
      const role = this.roleOf(r);
      if (role === Role.Skip) continue;
      const rr = walk.rrInline(r, this.skipOf(role));
      if (rr === NEEDS_IO) {
        this.pending = role;
        return true;
      }
      this.handle(r, role, rr);
    }
    return false;
  }

  /** Handles the record `records` stopped at, reading its continuation areas. */
  async withContinuation(r: RecordCursor): Promise<void> {
    this.handle(r, this.pending, await this.walk.susp(r.record(), this.skipOf(this.pending)));
  }

  private skipOf(role: Role): number {
    // The root's "." carries SP, which the caller already read.
    return role === Role.Self && this.dir.path === '/' ? 0 : this.walk.opts.suspSkip;
  }

  /** What the record is; a further extent of a multi-extent file is taken here. */
  private roleOf(r: RecordCursor): Role {
    const i = this.index++;
    const single = r.single();
    // "." describes this directory itself.
    if (i === 0 && single === 0) return Role.Self;
    if (single === 0 || single === 1) return Role.Skip; // "." / ".."
    if (r.flags & FILE_FLAG.associated) return Role.Skip; // associated files (ECMA-119 §9.1.6 bit 2) are not part of the tree
    const multi = this.multi;
    if (multi && !sameBytes(multi.first.identifier, r.bytes, r.idStart, r.idLength)) this.flushMulti();
    if (this.multi) {
      this.multi.extents.push({ lba: r.extentLba + r.extAttrLength, size: r.dataLength });
      if (!(r.flags & FILE_FLAG.multiExtent)) this.flushMulti();
      return Role.Skip;
    }
    return Role.Entry;
  }

  private handle(r: RecordCursor, role: Role, rr: RockRidge | undefined): void {
    const walk = this.walk;
    if (role === Role.Self) {
      this.selfRr = rr;
      if (walk.times) this.selfMtime ??= r.mtimeMs();
      return;
    }
    if (rr?.relocated) {
      this.hiddenRelocated++; // RRIP §4.1.5.3: shown at its original place through CL
      return;
    }
    const dir = this.dir;
    if (rr?.childLink !== undefined || (r.flags & FILE_FLAG.directory)) {
      const name = walk.nameOf(rr, r.bytes, r.idStart, r.idLength);
      walk.count();
      this.subdirs.push({
        path: join(dir.path, name), name,
        lba: rr?.childLink !== undefined ? rr.childLink : r.extentLba + r.extAttrLength,
        size: rr?.childLink !== undefined ? undefined : r.dataLength,
        depth: dir.depth + 1, recordOffset: r.offset, rr, mtimeMs: walk.times ? r.mtimeMs() : undefined,
      });
      return;
    }
    const extent: Extent = { lba: r.extentLba + r.extAttrLength, size: r.dataLength };
    if (r.flags & FILE_FLAG.multiExtent) {
      // Kept across chunks: a copy, not a view of a chunk that may be lent.
      this.multi = { first: r.record(true), rr, extents: [extent] };
      return;
    }
    this.finishFile(walk.nameOf(rr, r.bytes, r.idStart, r.idLength), r.offset, walk.times ? rr?.times?.modify ?? r.mtimeMs() : undefined, rr, [extent]);
  }

  flushMulti(): void {
    const multi = this.multi;
    this.multi = undefined;
    if (multi) this.finishFile(this.walk.nameOf(multi.rr, multi.first.identifier, 0, multi.first.identifier.length), multi.first.offset, multi.first.mtimeMs, multi.rr, multi.extents);
  }

  private finishFile(name: string, recordOffset: number, recordMtime: number | undefined, rr: RockRidge | undefined, extents: Extent[]): void {
    const walk = this.walk;
    const ctx = walk.ctx;
    const blockSize = walk.opts.blockSize;
    const path = join(this.dir.path, name);
    const isLink = rr !== undefined && (rr.target !== undefined || ((rr.mode ?? 0) & S_IFMT) === S_IFLNK);
    for (const x of extents) {
      if (x.size > 0 && x.lba * blockSize + x.size > ctx.size) {
        ctx.fail(`file ${JSON.stringify(path)} has an extent at byte ${x.lba * blockSize} (${x.size} bytes) beyond the end of the image (${ctx.size} bytes)`, { offset: recordOffset });
      }
    }
    walk.count();
    if (!walk.keep) return;
    let fileSize = 0;
    if (!isLink) for (const x of extents) fileSize += x.size;
    this.children.push(entryOf(path, name, isLink ? 'symlink' : 'file', fileSize, extents[0]!.lba, isLink ? [] : extents, rr, walk.mtimeOf(rr, recordMtime), recordOffset));
  }
}

/** One directory as TreeWalk.readDir read it. */
export interface DirRead {
  /** The directory's own entry (undefined when hidden, or when no entries are kept). */
  readonly entry: IsoEntry | undefined;
  /** Its files and symlinks, in record order. */
  readonly children: IsoEntry[];
  /** Its subdirectories, in record order, not read yet. */
  readonly subdirs: PendingDir[];
  readonly hidden: boolean;
}

export async function walkTree(ctx: IsoContext, root: DirRecord, opts: TreeOptions): Promise<TreeResult> {
  const walk = new TreeWalk(ctx, opts);
  const { blockSize } = opts;
  const entries: IsoEntry[] = [];
  // Breadth first, like the path table (ECMA-119 §9.4): directories are then read in
  // ascending block order in images from xorriso and genisoimage, so a reader of a
  // partly present image fetches them in one forward sweep.
  const queue: PendingDir[] = [TreeWalk.rootDir(root)];
  let head = 0;
  let prefetched = 0;
  while (head < queue.length) {
    // Announce the next directories to a source that fetches (a partly present image): one round trip for many.
    if (ctx.src.prefetch && head >= prefetched) {
      const window = queue.slice(head, head + PREFETCH_DIRS);
      const next = window.filter((d) => d.size !== undefined && d.lba * blockSize + d.size <= ctx.size && walk.wanted(d));
      // Up to what the queue held: the directories found later are announced when the walk reaches them.
      prefetched = head + window.length;
      await ctx.src.prefetch(next.map((d) => ({ start: d.lba * blockSize, end: d.lba * blockSize + d.size! })));
    }
    const read = await walk.readDir(queue[head++]!);
    for (const d of read.subdirs) queue.push(d);
    if (read.entry) entries.push(read.entry);
    for (const c of read.children) entries.push(c);
  }
  return { entries, metadata: walk.metadata };
}

/** Whether `a` holds the `length` bytes of `b` from `at`. */
function sameBytes(a: Uint8Array, b: Uint8Array, at: number, length: number): boolean {
  if (a.length !== length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
