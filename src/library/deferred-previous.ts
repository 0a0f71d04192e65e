/**
 * `--previous IMAGE` for an image the catalog does not know: it is named by
 * the infohash of the plain torrent of it (previous.ts), so its pieces must
 * be hashed. Publish computes hints against it, and the hint matcher reads
 * the whole image anyway (its index, delta/source-index.ts): the pieces are
 * hashed in that read instead of one of their own (on the 348 MiB DVD pair,
 * 350 MB less to read, and no reads handed to the thread pool). An image
 * that changed meanwhile, or bytes that did not come in order, are hashed
 * again from the file, as resolvePrevious would.
 */
import { statSync, type Stats } from 'node:fs';
import { hashPieces } from '../torrent/hash-pieces.js';
import type { InfoHash } from '../torrent/info-hash.js';
import { PieceStream } from './piece-stream.js';
import { hashedImageRelease, releaseLabelOf, type PreviousRelease } from './previous.js';
import { basename, resolve } from 'node:path';

export class DeferredPrevious {
  private readonly stream: PieceStream;
  private settled: PreviousRelease | undefined;

  private constructor(
    readonly arg: string,
    private readonly pieceLength: number,
    private readonly before: Stats,
  ) {
    this.stream = new PieceStream(before.size, pieceLength);
  }

  /** Undefined for anything but a non-empty regular file (resolvePrevious then says what is wrong with it). */
  static start(arg: string, pieceLength: number): DeferredPrevious | undefined {
    let st: Stats;
    try {
      st = statSync(arg);
    } catch {
      return undefined;
    }
    return st.isFile() && st.size > 0 ? new DeferredPrevious(arg, pieceLength, st) : undefined;
  }

  /** Its image and label until settle(): no infohash yet (nothing may use it before). */
  placeholder(): PreviousRelease {
    const abs = resolve(this.arg);
    return { infoHash: '' as InfoHash, release: releaseLabelOf(basename(abs)), lineage: [], imagePath: abs, via: 'hashed-image' };
  }

  /** The image's bytes, in order from the start. */
  readonly update = (bytes: Uint8Array, offset: number): void => this.stream.update(bytes, offset);

  /** The release, from the pieces hashed in the read when every byte came and the file did not change, else hashed now. */
  async settle(): Promise<PreviousRelease> {
    if (this.settled) return this.settled;
    const after = statSync(this.arg);
    const same = after.size === this.before.size && after.mtimeMs === this.before.mtimeMs;
    const pieces = (same ? this.stream.pieces() : undefined) ?? (await hashPieces(this.arg, this.pieceLength));
    this.settled = hashedImageRelease(this.arg, this.pieceLength, pieces);
    return this.settled;
  }
}
