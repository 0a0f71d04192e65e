/**
 * A ByteSource over a file on disk, opened read-only (a source image is never
 * modified). A short read means the file shrank under us and is an error.
 *
 * Reads of a regular file up to SYNC_IO_BYTES are synchronous (exact-io.ts:
 * a page-cached read costs a tenth of its trip through the thread pool);
 * larger ones, and every read of a block device (an optical drive seeks for
 * a tenth of a second), go through the thread pool.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { IsosyncError } from '../errors.js';
import { checkRange, type ByteSource } from './byte-source.js';
import { readExactSync, SYNC_IO_BYTES } from './exact-io.js';

export class FileSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly size: number,
    /** A regular file: short reads are synchronous. */
    private readonly regular: boolean,
  ) {
    this.cheapReads = regular;
  }

  /** A regular file: a small read is one synchronous pread from the page cache (a block device seeks). */
  readonly cheapReads: boolean;

  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new IsosyncError('NOT_FOUND', `Cannot open ${JSON.stringify(path)}: no such file`, { path });
      if (code === 'EISDIR') throw new IsosyncError('BAD_ARGUMENT', `Cannot open ${JSON.stringify(path)}: it is a directory`, { path });
      throw new IsosyncError('IO', `Cannot open ${JSON.stringify(path)}: ${(e as Error).message}`, { path }, { cause: e });
    }
    const st = await handle.stat();
    if (!st.isFile() && !st.isBlockDevice()) {
      await handle.close();
      throw new IsosyncError('BAD_ARGUMENT', `Cannot open ${JSON.stringify(path)}: not a regular file`, { path });
    }
    return new FileSource(handle, path, st.size, st.isFile());
  }

  /** A regular file's descriptor, for a worker thread's preads (ByteSource.preadFd). */
  get preadFd(): number | undefined {
    return this.regular ? this.handle.fd : undefined;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.path));
    return readFully(this.handle, this.path, offset, length, this.regular);
  }

  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    checkRange(this.size, offset, length, JSON.stringify(this.path));
    await readFullyInto(this.handle, this.path, dest, at, offset, length, this.regular);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Reads exactly `length` bytes at `offset`; a file that ends first is an error naming where. `local`: a regular
 * file, read synchronously up to SYNC_IO_BYTES.
 */
export async function readFully(handle: FileHandle, path: string, offset: number, length: number, local = false): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(length);
  await readFullyInto(handle, path, buf, 0, offset, length, local);
  return buf;
}

/** Reads exactly `length` bytes at `offset` into `dest[at, at+length)` (readFully). */
export async function readFullyInto(handle: FileHandle, path: string, dest: Uint8Array, at: number, offset: number, length: number, local = false): Promise<void> {
  const ended = (pos: number) => new IsosyncError('IO', `Cannot read ${JSON.stringify(path)}: file ended at byte ${pos}, expected ${offset + length}`, { path });
  if (local && length <= SYNC_IO_BYTES) return readExactSync(handle.fd, dest, at, length, offset, ended);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(dest, at + done, length - done, offset + done);
    if (bytesRead === 0) throw ended(offset + done);
    done += bytesRead;
  }
}
