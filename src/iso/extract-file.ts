/**
 * Writing one extracted file (extract.ts): created under its own name with
 * O_EXCL and O_NOFOLLOW, or under a temporary name renamed over a taken one
 * (commit); its content, mode and mtime; a failure removes what was written.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, futimesSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';
import type { IsoEntry } from './entry.js';
import { type ReadWindow, WINDOW_BYTES } from './read-window.js';

export interface ExtractSummary {
  readonly dir: string;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  bytes: number;
}

/** Permission bits applied: setuid/setgid are dropped, as bsdtar does without -p for a safe default. */
export const MODE_MASK = 0o1777;
const DEFAULT_FILE_MODE = 0o644;

export function unsafe(image: string, path: string, why: string): never {
  throw new IsosyncError('UNSAFE_PATH', `Cannot extract ${JSON.stringify(path)} from ${JSON.stringify(image)}: ${why}`, { path, reason: why });
}

/** A fresh hidden temporary name in `dir` for `name`. */
export function tempName(dir: string, name: string): string {
  return join(dir, `.${name.slice(0, 64)}.isosync-${randomBytes(6).toString('hex')}.tmp`);
}

/** Replaces `final` by `tmp`, refusing to replace a directory (rename(2) fails with EISDIR then). */
export async function commit(tmp: string, final: string, image: string, entryPath: string): Promise<void> {
  commitSync(tmp, final, image, entryPath);
}

export function commitSync(tmp: string, final: string, image: string, entryPath: string): void {
  try {
    renameSync(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    rmSync(tmp, { force: true });
    unsafe(image, entryPath, `${JSON.stringify(final)} exists and is a directory`);
  }
}

/** Writes all of `chunk` at the file's current position. */
function writeAll(fd: number, chunk: Uint8Array): void {
  writeRange(fd, chunk, 0, chunk.length);
}

/** Writes `length` bytes of `buf` from `start` at the file's current position. */
function writeRange(fd: number, buf: Uint8Array, start: number, length: number): void {
  for (let done = 0; done < length; ) done += writeSync(fd, buf, start + done, length - done);
}


/** A file created for writing: its descriptor, the temporary name it has (if any), its mode and the mode it was created with. */
interface OpenFile {
  readonly fd: number;
  readonly tmp: string | undefined;
  readonly mode: number;
  readonly createMode: number;
}

/**
 * Creates a regular file. A new name is created in place (O_EXCL and
 * O_NOFOLLOW: never through a symlink, never over an existing file); when
 * something already has the name, the file is created under a temporary
 * name, renamed over it once complete (endFile). Synchronous calls (open,
 * write, futimes, close, and fchmod where the umask would take bits of the
 * mode): each is far cheaper than a round trip through libuv's thread pool
 * (an image of 50,000 small files spent most of its time in those trips).
 */
function openFile(entry: IsoEntry, dir: string, name: string, final: string): OpenFile {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const mode = (entry.mode ?? DEFAULT_FILE_MODE) & MODE_MASK;
  // Created with its mode where the umask leaves that whole (as bsdtar creates files): no fchmod then.
  const createMode = (mode & ~createMask()) === mode ? mode : 0o600;
  try {
    return { fd: openSync(final, flags, createMode), tmp: undefined, mode, createMode };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const tmp = tempName(dir, name);
  return { fd: openSync(tmp, flags, createMode), tmp, mode, createMode };
}

/** Gives the written file its mode and mtime, closes it and puts it in place. */
function endFile(f: OpenFile, entry: IsoEntry, final: string, image: string): void {
  try {
    if (f.createMode !== f.mode) fchmodSync(f.fd, f.mode);
    if (entry.mtimeMs !== undefined) futimesSync(f.fd, unixSeconds(entry.mtimeMs), unixSeconds(entry.mtimeMs));
  } finally {
    closeSync(f.fd);
  }
  if (f.tmp !== undefined) commitSync(f.tmp, final, image, entry.path);
}

/** Removes what was written of a file that failed, and throws `e`. */
function failFile(f: OpenFile, final: string, e: unknown): never {
  rmSync(f.tmp ?? final, { force: true });
  throw e;
}

/** Writes a regular file whose content is `length` bytes of `buf` from `start` (at hand: no await, no promise). A failure removes what was written. */
export function writeFileNow(buf: Uint8Array, start: number, length: number, entry: IsoEntry, dir: string, name: string, final: string, image: string, summary: ExtractSummary): void {
  const f = openFile(entry, dir, name, final);
  try {
    try {
      writeRange(f.fd, buf, start, length);
    } catch (e) {
      closeSync(f.fd);
      throw e;
    }
    summary.bytes += length;
    endFile(f, entry, final, image);
  } catch (e) {
    failFile(f, final, e);
  }
}

/** Writes a regular file, its content read through the window. A failure removes what was written. */
export async function writeFile(src: ReadWindow, entry: IsoEntry, blockSize: number, dir: string, name: string, final: string, image: string, summary: ExtractSummary): Promise<void> {
  const f = openFile(entry, dir, name, final);
  try {
    try {
      for (const x of entry.extents) {
        const start = x.lba * blockSize;
        for (let done = 0; done < x.size; ) {
          const chunk = await src.view(start + done, Math.min(WINDOW_BYTES, x.size - done));
          writeAll(f.fd, chunk);
          done += chunk.length;
          summary.bytes += chunk.length;
        }
      }
    } catch (e) {
      closeSync(f.fd);
      throw e;
    }
    endFile(f, entry, final, image);
  } catch (e) {
    failFile(f, final, e);
  }
}

let umaskBits: number | undefined;

/**
 * The bits the process's umask takes from a created file's mode, from
 * /proc/self/status (process.umask() without an argument sets the mask
 * twice, racing with files other threads create); all bits (always fchmod)
 * where that is not readable.
 */
function createMask(): number {
  if (umaskBits === undefined) {
    let text = '';
    try {
      text = readFileSync('/proc/self/status', 'latin1');
    } catch {
      // not Linux, or no /proc: fchmod every file
    }
    const m = /^Umask:\s*([0-7]+)$/m.exec(text);
    umaskBits = m ? parseInt(m[1]!, 8) : 0o7777;
  }
  return umaskBits;
}

/** Whole seconds since the epoch (the time a synchronous call takes, with no Date made for it). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
