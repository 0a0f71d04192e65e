/**
 * Writes of verified pieces past the page cache: the .part opened a second
 * time with O_DIRECT, used for a piece whose buffer, offset and length are
 * aligned (store/aligned.ts). The kernel then hands the buffer to the disk
 * instead of copying it into the page cache, and that copy was the largest
 * cost of a sync after planning: ~0.8-1.2 s of CPU on the thread pool per
 * 348 MiB image on the bench machine, where O_DIRECT costs ~0.1 s
 * (stock-torrent bench, /usr/bin/time). The bytes reach the disk as they are
 * written rather than at finish's fsync, which waited for them anyway.
 *
 * Where the file system refuses O_DIRECT (tmpfs at open, some others at the
 * first write, EINVAL), every piece goes through the page cache as before.
 * The rest of the .part (journaled blocks, reads) keeps the ordinary handle:
 * the kernel keeps the two coherent (a direct write drops the cached pages
 * of its range).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ALIGN, isAligned } from './aligned.js';
import { writeAll } from './journal-file.js';

export class DirectWrites {
  private refused = false;

  private constructor(private readonly handle: FileHandle) {}

  /** The file opened for direct writes, or undefined where that is refused. */
  static async open(path: string): Promise<DirectWrites | undefined> {
    const h = await open(path, constants.O_RDWR | constants.O_DIRECT).catch(() => undefined);
    return h && new DirectWrites(h);
  }

  /** The descriptor (a worker writes through it too: verify-worker.ts). */
  get fd(): number {
    return this.handle.fd;
  }

  /** Whether aligned buffers are written past the page cache (not refused so far). */
  get usable(): boolean {
    return !this.refused;
  }

  /** Writes `bytes` at `offset` past the page cache; false (nothing written) when they are not aligned or direct writes are refused. */
  async write(bytes: Uint8Array, offset: number): Promise<boolean> {
    if (this.refused || !isAligned(bytes) || offset % ALIGN !== 0 || bytes.length % ALIGN !== 0) return false;
    try {
      await writeAll(this.handle, bytes, offset);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      this.refused = true; // the handle stays open until close: other writes may be on it
      return false;
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
