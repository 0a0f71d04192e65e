/**
 * Writes a file so that readers see either the old content or the whole new
 * content, never a partial file: write a temporary file beside it, fsync,
 * rename over the target.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { IsosyncError } from '../errors.js';

export interface AtomicWriteOptions {
  /** The new file's mode (default 0644). */
  readonly mode?: number;
  /** What the file is, as an error names it ("key"): `Cannot write key "PATH": ...`. */
  readonly what?: string;
}

export function writeFileAtomic(path: string, bytes: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such folder' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new IsosyncError('IO', `Cannot write ${opts.what ? `${opts.what} ` : ''}${JSON.stringify(path)}: ${why}`, { path }, { cause: e });
  }
}
