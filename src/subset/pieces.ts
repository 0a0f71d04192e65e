/**
 * Piece arithmetic of a subset: which pieces a set of byte spans touches,
 * the bytes a file's content occupies in the image, and the most a subset
 * download may fetch (the chosen files' bytes, two pieces per file for the
 * neighbours that share their first and last pieces, and the pieces of the
 * metadata that located them). Pure.
 */
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { mergeSpans, type Span } from '../core/span.js';

/** The pieces that `spans` touch, ascending, each once. */
export function piecesTouched(spans: readonly Span[], pieceLength: number, length: number): PieceIndex[] {
  const out: PieceIndex[] = [];
  let last = -1;
  for (const s of mergeSpans(spans)) {
    const end = Math.min(s.end, length);
    if (end <= s.start) continue;
    for (let p = Math.max(last + 1, Math.floor(s.start / pieceLength)); p <= Math.floor((end - 1) / pieceLength); p++) {
      out.push(pieceIndex(p));
      last = p;
    }
  }
  return out;
}

/** Image bytes of a file's content: its extents (ISO 9660 logical blocks of `blockSize`). */
export function contentSpans(extents: readonly { readonly lba: number; readonly size: number }[], blockSize: number): Span[] {
  return extents.filter((x) => x.size > 0).map((x) => ({ start: x.lba * blockSize, end: x.lba * blockSize + x.size }));
}

/** The most a subset download of `files` may fetch: their bytes + 2 pieces each + the metadata pieces. */
export function fetchBound(fileBytes: number, files: number, metadataPieces: number, pieceLength: number): number {
  return fileBytes + 2 * files * pieceLength + metadataPieces * pieceLength;
}
