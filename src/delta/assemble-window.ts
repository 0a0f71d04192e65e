/**
 * How many pieces assemble (assemble.ts) works on at once: a pure rule from
 * the piece length, so that its buffers are bounded in bytes.
 */

/** Piece bytes assemble works on at once by default: eight 256 KiB pieces. */
export const ASSEMBLE_WINDOW_BYTES = 2 * 1024 * 1024;
/** Pieces at most (small pieces) and at least (one assembled while the next one reads or fetches). */
export const MAX_ASSEMBLE_PIECES = 8;
export const MIN_ASSEMBLE_PIECES = 2;

/**
 * Pieces assembled at once when the caller and the fetcher name no number: a
 * window of bytes, not of pieces, since each piece in flight holds up to four
 * buffers of its length (piece, network, two read windows): eight 256 KiB
 * pieces, but two 4 MiB ones (not 8 x 4 x 4 MiB). Pure: a table test covers it.
 */
export function assembleWindow(pieceLength: number): number {
  return Math.max(MIN_ASSEMBLE_PIECES, Math.min(MAX_ASSEMBLE_PIECES, Math.ceil(ASSEMBLE_WINDOW_BYTES / Math.max(1, pieceLength))));
}
