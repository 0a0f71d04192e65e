/**
 * SHA-1 pieces of an image fed to it in order, in whatever slices a reader
 * has at hand: publish hashes the pieces in the hint matcher's own read of
 * the new image (delta/two-way.ts), one pass instead of two. Bytes that do
 * not continue exactly where the last slice ended make it give up (`pieces()`
 * is then undefined and the caller hashes the file itself), so a reader that
 * skips or repeats can never produce a wrong piece.
 */
import { createHash, type Hash } from 'node:crypto';

const SHA1_BYTES = 20;

export class PieceStream {
  private pos = 0;
  private inPiece = 0;
  private hash: Hash | undefined;
  private broken = false;
  private readonly out: Uint8Array;

  constructor(
    readonly length: number,
    readonly pieceLength: number,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {
    this.out = new Uint8Array(Math.ceil(length / pieceLength) * SHA1_BYTES);
  }

  /** The next bytes of the image, which start at `offset`. */
  readonly update = (bytes: Uint8Array, offset: number): void => {
    if (this.broken || offset !== this.pos) {
      this.broken = true;
      return;
    }
    let i = 0;
    while (i < bytes.length && this.pos < this.length) {
      const n = Math.min(bytes.length - i, this.pieceLength - this.inPiece, this.length - this.pos);
      const h = (this.hash ??= createHash('sha1'));
      h.update(bytes.subarray(i, i + n));
      i += n;
      this.pos += n;
      this.inPiece += n;
      if (this.inPiece === this.pieceLength || this.pos === this.length) {
        this.out.set(h.digest(), Math.floor((this.pos - 1) / this.pieceLength) * SHA1_BYTES);
        this.hash = undefined;
        this.inPiece = 0;
      }
    }
    this.onProgress?.(this.pos, this.length);
  };

  /** The pieces, when every byte came exactly once and in order. */
  pieces(): Uint8Array | undefined {
    return !this.broken && this.pos === this.length ? this.out : undefined;
  }
}
