/**
 * The target being built: `NAME.part` beside the final path.
 *
 * - Created at full length (sparse); pieces are written whole, only after
 *   their hash verified, so every verified piece on disk is complete.
 * - Resume needs no journal: on open, an existing .part of the right size is
 *   re-hashed (all cores) and its verified pieces are kept. A kill -9 in the
 *   middle of a write leaves at most that piece invalid, and it is redone.
 * - `finish` fsyncs and renames to the final name; before that, the final
 *   path is never touched. A source image is never opened for writing here.
 * - Written data is flushed in the background every FLUSH_BYTES, so the
 *   fsync of `finish` has little left to wait for.
 */
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { IsosyncError } from '../errors.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import type { ByteSource } from './byte-source.js';
import { checkRange } from './byte-source.js';
import { readFully } from './file-source.js';
import type { PieceIndex } from '../core/ids.js';
import type { PieceStore } from '../core/ports.js';

/**
 * Written bytes after which a background fdatasync starts. Without it the
 * kernel keeps a whole image dirty (the background writeback threshold is 10%
 * of RAM) and finish's fsync wrote it all at once: ~0.15-0.2 s at the end of
 * a 348 MiB sync, with nothing else to do meanwhile.
 */
export const FLUSH_BYTES = 32 * 1024 * 1024;

export interface PartTarget {
  readonly length: number;
  readonly pieceLength: number;
  readonly pieces: Uint8Array;
}

export class PartFile implements ByteSource, PieceStore {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly finalPath: string,
    readonly size: number,
    /** have[i]: piece i is on disk and verified. */
    readonly have: boolean[],
  ) {}

  /**
   * Opens or creates `finalPath + ".part"`. When `resume` finds an existing
   * .part of the right length, its verified pieces are kept.
   */
  static async open(finalPath: string, target: PartTarget, opts: { onVerify?: (done: number, total: number) => void } = {}): Promise<PartFile> {
    const path = `${finalPath}.part`;
    const pieceCount = Math.ceil(target.length / target.pieceLength);
    let have: boolean[] = new Array<boolean>(pieceCount).fill(false);
    let existing = false;
    try {
      const st = await stat(path);
      existing = st.isFile() && st.size === target.length;
    } catch {
      existing = false;
    }
    if (existing && target.length > 0) {
      const v = await verifyPieces(path, target, { onProgress: opts.onVerify });
      have = [...v.valid];
    }
    let handle: FileHandle;
    try {
      handle = await open(path, existing ? 'r+' : 'w+');
      if (!existing) await handle.truncate(target.length);
    } catch (e) {
      throw ioError(`Cannot create ${JSON.stringify(path)}`, e, path);
    }
    return new PartFile(handle, path, finalPath, target.length, have);
  }

  get verifiedCount(): number {
    return this.have.filter(Boolean).length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.path));
    return readFully(this.handle, this.path, offset, length);
  }

  /** writePiece has written every byte when it resolves: the caller may reuse the buffer (PieceStore). */
  readonly releasesBytes = true;

  /** Writes a verified piece. */
  async writePiece(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<void> {
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw ioError(`Cannot write ${JSON.stringify(this.path)}`, e, this.path);
    }
    this.have[piece] = true;
    this.unflushed += bytes.length;
    if (this.unflushed >= FLUSH_BYTES && !this.flushing) {
      this.unflushed = 0;
      // An error here shows again in finish's fsync, which is awaited.
      this.flushing = this.handle
        .datasync()
        .catch(() => undefined)
        .finally(() => (this.flushing = undefined));
    }
  }

  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  /** Flushes and renames to the final name. Call only when every piece is verified. */
  async finish(): Promise<void> {
    const missing = this.have.indexOf(false);
    if (missing >= 0) throw new IsosyncError('VERIFY_FAILED', `Cannot finish ${JSON.stringify(this.finalPath)}: piece ${missing} is not verified`);
    try {
      await this.flushing;
      await this.handle.sync();
      await this.handle.close();
      await rename(this.path, this.finalPath);
    } catch (e) {
      throw ioError(`Cannot finish ${JSON.stringify(this.finalPath)}`, e, this.finalPath);
    }
  }

  async close(): Promise<void> {
    await this.flushing;
    try {
      await this.handle.sync();
    } catch {
      // closing after a failure: the data already written stays for a resume
    }
    await this.handle.close().catch(() => undefined);
  }
}

function ioError(what: string, e: unknown, path: string): IsosyncError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'the disk is full' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new IsosyncError('IO', `${what}: ${why}`, { path }, { cause: e });
}
