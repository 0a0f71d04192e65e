/**
 * "Are these bytes piece p?" for assembly, asked of the store when it can
 * answer and write in one step (PieceStore.writeIfMatches: the .part checks
 * and writes on a worker thread, store/verified-writes.ts), else of the
 * piece check on this thread; the caller then writes a verified piece itself.
 */
import type { PieceIndex } from '../core/ids.js';
import type { PieceStore } from '../core/ports.js';
import type { PieceCheck } from '../torrent/piece-check.js';

/** Whether `bytes` are piece `p` (at target offset `offset`); written already when true and `writtenOnMatch(store)`. */
export async function verifyPiece(store: PieceStore, check: PieceCheck, p: PieceIndex, offset: number, bytes: Uint8Array): Promise<boolean> {
  return store.writeIfMatches ? store.writeIfMatches(p, offset, bytes) : check.matches(p, bytes);
}

/** Whether verifyPiece has written the piece when it said true. */
export const writtenOnMatch = (store: PieceStore): boolean => store.writeIfMatches !== undefined;
