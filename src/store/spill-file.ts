/**
 * An append-only scratch file for bytes a process must keep but need not keep
 * in memory (the planning bytes of a sync: delta/range-cache.ts spills its
 * oldest ranges here). The file is unlinked the moment it is opened, so only
 * the open descriptor holds it: nothing is left on disk when the process
 * ends, however it ends (killed included), and nobody else can open it.
 *
 * A SpillFile dropped without close() has its descriptor closed when it is
 * collected.
 *
 * Reads and writes are synchronous (store/exact-io.ts says why): callers
 * append and read pieces of a few hundred KiB that stay in the page cache.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import { readExactSync } from './exact-io.js';

/** Closes the descriptor of a SpillFile dropped without close() (a plan replaced by a new one). */
const dropped = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
});

export class SpillFile {
  /** Bytes appended so far: the offset the next append lands at. */
  size = 0;
  private fd: number | undefined;

  private constructor(fd: number) {
    this.fd = fd;
    dropped.register(this, fd, this);
  }

  /** Creates the file in `dir` (the system's temporary folder by default) and unlinks it at once. */
  static open(dir: string = tmpdir()): SpillFile {
    const path = join(dir, `isosync-spill-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number;
    try {
      fd = openSync(path, 'wx+', 0o600);
    } catch (e) {
      throw new IsosyncError('IO', `Cannot create a scratch file in ${dir}: ${(e as Error).message}`, { path });
    }
    try {
      unlinkSync(path);
    } catch (e) {
      closeSync(fd);
      throw new IsosyncError('IO', `Cannot unlink the scratch file ${path}: ${(e as Error).message}`, { path });
    }
    return new SpillFile(fd);
  }

  /** Appends `bytes`; returns the offset they start at. */
  append(bytes: Uint8Array): number {
    const fd = this.open();
    const at = this.size;
    for (let done = 0; done < bytes.length; ) {
      try {
        done += writeSync(fd, bytes, done, bytes.length - done, at + done);
      } catch (e) {
        throw new IsosyncError('IO', `Cannot write ${bytes.length} bytes to a scratch file: ${(e as Error).message}`, { offset: at });
      }
    }
    this.size += bytes.length;
    return at;
  }

  /** Reads `length` bytes at `position` of the file into `dest[at, at+length)`. */
  readInto(dest: Uint8Array, at: number, position: number, length: number): void {
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new IsosyncError('INTERNAL', `Internal error: scratch file read ${position}+${length} is outside its ${this.size} bytes`, { offset: position, length });
    }
    readExactSync(this.open(), dest, at, length, position, (pos) => new IsosyncError('IO', `Scratch file ended at byte ${pos}`, { offset: pos }));
  }

  /** Closes the descriptor (the file goes with it). Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    dropped.unregister(this);
    closeSync(fd);
  }

  private open(): number {
    if (this.fd === undefined) throw new IsosyncError('INTERNAL', 'Internal error: the scratch file was used after it was closed');
    return this.fd;
  }
}
