/**
 * Extraction of selected entries into a directory, safely.
 *
 * Safety rules (checked for every entry before anything is written, and
 * again on disk while writing):
 * - every path component must be a plain name: not empty, not "." or "..",
 *   no "/" or NUL inside (Rock Ridge names are arbitrary bytes);
 * - on the way down, every existing component under DIR is checked with
 *   lstat and must be a real directory, never a symlink (so a symlink
 *   extracted earlier, or planted before, can never redirect a write);
 * - a new file is created under its name with O_EXCL and O_NOFOLLOW (so
 *   never through a symlink, never over anything); where the name is taken,
 *   the file is written to a fresh temporary name in its directory and
 *   renamed over it once complete (refused for a directory); a failure
 *   removes what was written.
 * Directories get their modes and mtimes after their contents are written.
 * Hard links are made where Rock Ridge says so: files with nlink > 1 that
 * share a PX serial number (or, without serial numbers, the same extent);
 * without Rock Ridge, files that share a non-empty extent (as bsdtar does).
 */
import { chmodSync, lstatSync, mkdirSync, utimesSync } from 'node:fs';
import { link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';
import type { IsoEntry, IsoImage } from './entry.js';
import { commit, MODE_MASK, tempName, unixSeconds, unsafe, writeFile, writeFileNow, type ExtractSummary } from './extract-file.js';
import { ReadWindow } from './read-window.js';

export { commit, tempName, type ExtractSummary } from './extract-file.js';

const EMPTY = new Uint8Array(0);

const DEFAULT_DIR_MODE = 0o755;

/** The components of `entry.path` relative to the root, each checked to be a plain name. */
export function safeComponents(entry: IsoEntry, byPath: ReadonlyMap<string, IsoEntry>, image: string): string[] {
  if (entry.path === '/') return [];
  const names: string[] = [];
  let e: IsoEntry | undefined = entry;
  while (e && e.path !== '/') {
    const n = e.name;
    checkName(n, entry.path, image);
    names.unshift(n);
    const parent = e.path.slice(0, e.path.length - n.length - 1) || '/';
    if (!parent.startsWith('/')) unsafe(image, entry.path, 'it is not below the root');
    e = byPath.get(parent);
    if (!e && parent !== '/') unsafe(image, entry.path, `its parent ${JSON.stringify(parent)} is not in the image`);
  }
  return names;
}

/**
 * Makes sure `dir/components...` exists as real directories, refusing symlinks and other files on the way.
 * `created` gathers every directory checked or made; `made` (when given) those made here (private, 0700, until the caller opens them).
 */
export async function ensureDirs(root: string, comps: readonly string[], image: string, entryPath: string, created: Set<string>, made?: Set<string>): Promise<string> {
  return ensureDirsNow(root, comps, image, entryPath, created, made);
}

/** ensureDirs, synchronously (its calls are). */
function ensureDirsNow(root: string, comps: readonly string[], image: string, entryPath: string, created: Set<string>, made?: Set<string>): string {
  let cur = root;
  for (let i = 0; i < comps.length; i++) {
    // join(cur, c) for a plain name (checked) below a path join made normal: the same string, without
    // join's normalising pass over the whole path (an extract of 50,000 files spent a third of what it
    // allocated there).
    const c = comps[i]!;
    cur = i === 0 ? join(cur, c) : `${cur}/${c}`;
    if (created.has(cur)) continue;
    if (ensureDir(cur, image, entryPath)) made?.add(cur);
    created.add(cur);
  }
  return cur;
}

/**
 * Makes folder `cur` or checks that it is a real directory (not a symlink);
 * true when made (private, 0700). `entry`: the entry (or its path) the
 * folder is made for, named in a refusal.
 */
function ensureDir(cur: string, image: string, entry: string | IsoEntry): boolean {
  // mkdir first: it makes nothing where any name is (mkdir(2) follows no symlink in the last
  // component), and only a name that is taken costs the lstat that tells what it is. Synchronous
  // calls, as writeFile's: a new folder cost an lstat, its ENOENT error and two thread pool trips.
  try {
    mkdirSync(cur, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(cur);
  const entryPath = typeof entry === 'string' ? entry : entry.path;
  if (st.isSymbolicLink()) unsafe(image, entryPath, `${JSON.stringify(cur)} is a symlink, refusing to write through it`);
  if (!st.isDirectory()) unsafe(image, entryPath, `${JSON.stringify(cur)} exists and is not a directory`);
  return false;
}

/** Files written between two yields to the event loop: the writes are synchronous calls (see extractEntries). */
const FILES_PER_YIELD = 64;

function seconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export interface ExtractOptions {
  /** Read a whole window ahead of each file (a local image); else only each file's bytes (a source that fetches). */
  readonly readAhead?: boolean;
}

/** Whether `n` passes checkName. */
export function isPlainName(n: string): boolean {
  return n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0');
}

/** The name check of safeComponents for one component: a plain name. */
export function checkName(n: string, entryPath: string, image: string): void {
  if (isPlainName(n)) return;
  if (n === '' || n === '.' || n === '..') unsafe(image, entryPath, `it has a component ${JSON.stringify(n)}`);
  if (n.includes('/') || n.includes('\0')) unsafe(image, entryPath, `the name ${JSON.stringify(n)} contains ${n.includes('\0') ? 'NUL' : '"/"'}`);
}

/** Refuses `entryPath` when one of its ancestors is a symlink of the image (`links`: their paths). */
export function checkNoLinkParent(entryPath: string, links: ReadonlySet<string>, image: string): void {
  for (let p = entryPath.slice(0, entryPath.lastIndexOf('/')); p.length > 0; p = p.slice(0, p.lastIndexOf('/'))) {
    if (links.has(p)) unsafe(image, entryPath, `its parent ${JSON.stringify(p)} is a symlink in the image`);
  }
}

/** Makes `outDir` (and its parents) and checks that it is a directory. */
export async function prepareOutDir(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const rootSt = await lstat(outDir);
  if (!rootSt.isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot extract into ${JSON.stringify(outDir)}: not a directory`);
}

/**
 * The directories written, to get their modes and mtimes once their
 * contents are in: columns rather than an object each (an image of 12,500
 * directories), no entry kept.
 */
class DirsToFinish {
  readonly paths: string[] = [];
  /** Mode, or -1 when the image gives none. */
  readonly modes: number[] = [];
  /** Mtime in ms, or NaN when the image gives none (a double array: no boxed number each). */
  readonly mtimes: number[] = [];
  /** Which one is DIR itself (the image root), if written. */
  rootIndex = -1;

  add(path: string, root: boolean, mode: number | undefined, mtimeMs: number | undefined): void {
    if (root) this.rootIndex = this.paths.length;
    this.paths.push(path);
    this.modes.push(mode ?? -1);
    this.mtimes.push(mtimeMs ?? NaN);
  }
}

/**
 * Writes entries, in path order, into `outDir` (made and checked by the
 * caller), each given with its checked components; `finish` then sets the
 * directories' modes and mtimes. Keeps per directory only its path, mode
 * and mtime, so a caller that streams the entries keeps none.
 */
export class EntryWriter {
  readonly summary: ExtractSummary;
  private readonly created = new Set<string>();
  /** Folders made on the way to an entry and not written as entries themselves (yet). */
  private readonly made = new Set<string>();
  private readonly dirsToFinish = new DirsToFinish();
  private readonly firstOfLink = new Map<string, string>();
  private parentPath: string | undefined;
  private parentDir = '';
  /**
   * The directories put on the way to the last entry, for a caller that
   * gives each entry's parent in path order (extractImage): image paths and
   * their folders, the root first. An entry's parent is on it, so its folder
   * is known without a walk down from DIR (path strings and a set lookup per
   * level, for each of 12,500 folders and their files).
   */
  private readonly chainImage: string[] = [];
  private readonly chainOut: string[] = [];
  private readonly window: ReadWindow;

  constructor(src: ByteSource, private readonly image: string, private readonly blockSize: number, private readonly outDir: string, opts: ExtractOptions = {}) {
    this.summary = { dir: outDir, files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
    this.window = new ReadWindow(src, opts.readAhead === true);
  }

  /**
   * Writes `entry`, whose path's components (`comps`, else split from its
   * path) were checked; `parent`: the path of its directory, when the caller
   * has it (tree-sorted.ts EmitEntry). A promise only where it waits: a
   * file whose bytes the window holds is written without one.
   */
  put(entry: IsoEntry, comps?: readonly string[], parent?: string): Promise<void> | undefined {
    const { summary, image, outDir } = this;
    if (entry.type === 'dir') {
      const up = parent === undefined ? undefined : this.chained(parent);
      let p: string;
      if (up === undefined) {
        p = ensureDirsNow(outDir, comps ?? components(entry.path), image, entry.path, this.created, this.made);
        this.made.delete(p); // finish gives it the image's mode
      } else {
        // Its parent was put just before its siblings' subtrees: one folder to make, below it.
        p = parent === '/' ? join(up, entry.name) : `${up}/${entry.name}`;
        ensureDir(p, image, entry);
      }
      if (parent !== undefined || entry.path === '/') {
        this.chainImage.push(entry.path);
        this.chainOut.push(p);
      }
      this.dirsToFinish.add(p, entry.path === '/', entry.mode, entry.mtimeMs);
      summary.dirs++;
      return undefined;
    }
    // The folder of each parent is checked (or made) once: the files of one folder follow one another.
    const parentPath = parent ?? (entry.path.slice(0, entry.path.lastIndexOf('/')) || '/');
    if (parentPath !== this.parentPath) {
      const up = parent === undefined ? undefined : this.chained(parent);
      this.parentDir = up ?? ensureDirsNow(outDir, (comps ?? components(entry.path)).slice(0, -1), image, entry.path, this.created, this.made);
      this.parentPath = parentPath;
    }
    const parentDir = this.parentDir;
    // The last component is the entry's name, a plain one (checked): no path.join to normalise it.
    const name = entry.name;
    const final = parentDir.endsWith('/') ? parentDir + name : `${parentDir}/${name}`;
    if (entry.type !== 'file') return this.putLink(entry, parentDir, name, final);
    const key = linkKey(entry);
    if (key !== undefined && this.firstOfLink.has(key)) return this.putLink(entry, parentDir, name, final);
    const x = entry.extents.length === 1 ? entry.extents[0]! : undefined;
    // Where the window holds the file's bytes: written from the window's buffer itself (no view per file).
    const at = x === undefined ? -1 : x.size === 0 ? 0 : this.window.indexOf(x.lba * this.blockSize, x.size);
    if (at < 0) return writeFile(this.window, entry, this.blockSize, parentDir, name, final, image, summary).then(() => this.written(key, final));
    writeFileNow(x!.size === 0 ? EMPTY : this.window.bytes, at, x!.size, entry, parentDir, name, final, image, summary);
    return this.written(key, final);
  }

  /** The folder of directory `parent` when it is on the chain (dropping what is below it), else undefined (the chain is emptied). */
  private chained(parent: string): string | undefined {
    const im = this.chainImage, out = this.chainOut;
    while (im.length > 0 && im[im.length - 1] !== parent) {
      im.pop();
      out.pop();
    }
    return out.length > 0 ? out[out.length - 1] : undefined;
  }

  /** Counts a file written; now and then, a promise that lets timers and sockets run (a sync session serves peers while it extracts). */
  private written(key: string | undefined, final: string): Promise<void> | undefined {
    if (key !== undefined) this.firstOfLink.set(key, final);
    return ++this.summary.files % FILES_PER_YIELD === 0 ? new Promise((r) => setImmediate(r)) : undefined;
  }

  /** A symlink, or a hard link to a file written before. */
  private async putLink(entry: IsoEntry, parentDir: string, name: string, final: string): Promise<void> {
    const { summary, image } = this;
    const tmp = tempName(parentDir, name);
    try {
      if (entry.type === 'symlink') {
        await symlink(entry.target ?? '', tmp);
        if (entry.mtimeMs !== undefined) await lutimes(tmp, seconds(entry.mtimeMs), seconds(entry.mtimeMs)).catch(() => undefined);
        await commit(tmp, final, image, entry.path);
        summary.symlinks++;
        return;
      }
      await link(this.firstOfLink.get(linkKey(entry)!)!, tmp);
      await commit(tmp, final, image, entry.path);
      summary.hardlinks++;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async finish(): Promise<ExtractSummary> {
    // Folders made on the way to a selected entry (not selected themselves) get the usual mode, not the private one they were filled with.
    // Synchronous calls, two per folder (see writeFile).
    for (const d of this.made) chmodSync(d, DEFAULT_DIR_MODE);
    // Deepest first, so that setting a parent's mtime comes after its children changed it.
    // DIR itself (the image root) keeps the user's own mode and mtime, as bsdtar and xorriso leave it.
    const { paths, modes, mtimes, rootIndex } = this.dirsToFinish;
    for (let i = paths.length - 1; i >= 0; i--) {
      if (i === rootIndex) continue;
      const mode = modes[i]!, mtimeMs = mtimes[i]!;
      chmodSync(paths[i]!, (mode < 0 ? DEFAULT_DIR_MODE : mode) & MODE_MASK);
      if (!Number.isNaN(mtimeMs)) utimesSync(paths[i]!, unixSeconds(mtimeMs), unixSeconds(mtimeMs));
      if (i % FILES_PER_YIELD === 0) await new Promise((r) => setImmediate(r));
    }
    return this.summary;
  }
}

/** The components of a path below the root ("/a/b" -> ["a", "b"]). */
function components(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

function linkKey(e: IsoEntry): string | undefined {
  if (e.type !== 'file') return undefined;
  // Without Rock Ridge there is no link count: files that share an extent are links (as bsdtar makes them).
  if (e.nlink === undefined) return e.size > 0 ? `x${e.lba}:${e.size}` : undefined;
  if (e.nlink < 2) return undefined;
  if (e.inode !== undefined) return `i${e.inode}`;
  return e.size > 0 ? `x${e.lba}:${e.size}` : undefined;
}

/**
 * Extracts `selected` (entries of `img`, in path order) into `outDir`.
 * All names are checked before the first write (and their components
 * worked out again while writing: no list of them is kept).
 */
export async function extractEntries(src: ByteSource, img: IsoImage, selected: readonly IsoEntry[], outDir: string, opts: ExtractOptions = {}): Promise<ExtractSummary> {
  const byPath = new Map(img.entries.map((e) => [e.path, e] as const));
  for (const e of selected) safeComponents(e, byPath, img.name);
  // A symlink of the image used as a directory on the way is refused before anything is written.
  const links = new Set(img.entries.filter((e) => e.type === 'symlink').map((e) => e.path));
  if (links.size > 0) for (const entry of selected) checkNoLinkParent(entry.path, links, img.name);
  await prepareOutDir(outDir);
  const writer = new EntryWriter(src, img.name, img.logicalBlockSize, outDir, opts);
  for (const entry of selected) await writer.put(entry, safeComponents(entry, byPath, img.name));
  return writer.finish();
}
