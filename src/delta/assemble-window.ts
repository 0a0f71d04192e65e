/**
 * How many pieces assemble (assemble.ts) works on at once: a pure rule from
 * the piece length, so that its buffers are bounded in bytes.
 *
 * A store that writes adjacent verified pieces in one write (the .part's
 * verifying worker: store/verified-writes.ts, two writes of up to 2 MiB in
 * flight) gets a window of two such writes: sixteen 256 KiB pieces, so
 * that the pieces verified while one write is under way can fill the next.
 */

/** Piece bytes assemble works on at once by default: eight 256 KiB pieces. */
export const ASSEMBLE_WINDOW_BYTES = 2 * 1024 * 1024;
/** Pieces at most (small pieces) and at least (one assembled while the next one reads or fetches). */
export const MAX_ASSEMBLE_PIECES = 8;
export const MIN_ASSEMBLE_PIECES = 2;
/** Batched writes a store keeps in flight at once (store/verify-worker.ts MAX_WRITES). */
export const WRITES_IN_FLIGHT = 2;
/** Pieces at most with a store that batches its writes: two 2 MiB writes of 256 KiB pieces. */
export const MAX_BATCHED_PIECES = 16;

/**
 * Pieces assembled at once when the caller and the fetcher name no number: a
 * window of bytes, not of pieces, since each piece in flight holds up to four
 * buffers of its length (piece, network, two read windows): eight 256 KiB
 * pieces, but two 4 MiB ones (not 8 x 4 x 4 MiB). Pure: a table test covers it.
 */
export function assembleWindow(pieceLength: number, writeBatchBytes?: number): number {
  const bytes = writeBatchBytes ? WRITES_IN_FLIGHT * writeBatchBytes : ASSEMBLE_WINDOW_BYTES;
  const most = writeBatchBytes ? MAX_BATCHED_PIECES : MAX_ASSEMBLE_PIECES;
  return Math.max(MIN_ASSEMBLE_PIECES, Math.min(most, Math.ceil(bytes / Math.max(1, pieceLength))));
}

/**
 * Where the next piece of the window comes from: a piece whose bytes are all
 * local, or one that needs the network. Alone, local pieces go first (in
 * order: their writes batch). Beside peers that trade (`interleave`: the
 * fetcher has peers connected and gives them no look-ahead), local-first
 * left the network idle until every local piece was written: eight clients
 * of one `isosync serve` asked nothing of anyone for their first 6-9 s of
 * assembly, then waited on the swarm with little left to do. So there, up
 * to half the window holds pieces that wait on the network while the rest
 * assembles local ones. Pure: a table test covers it.
 */
export function nextPieceFrom(o: { readonly localLeft: number; readonly remoteLeft: boolean; readonly remoteInFlight: number; readonly window: number; readonly interleave: boolean }): 'local' | 'remote' {
  if (o.localLeft === 0) return 'remote';
  if (!o.interleave || !o.remoteLeft) return 'local';
  return o.remoteInFlight < Math.ceil(o.window / 2) ? 'remote' : 'local';
}
