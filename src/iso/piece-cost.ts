/**
 * What a planned remaster costs a stock BitTorrent client that downloads
 * it into a copy of the base, and the piece length to publish it with.
 * Pure.
 *
 * The client checks each piece of the copy against the new torrent and
 * fetches every piece that fails, whole. A piece of the new image passes
 * when it holds no written segment (write-image.ts copies the base's bytes
 * at the same offset into the gaps) and lies within the base. So the count
 * is an upper bound: a segment that happens to equal the base's bytes (a
 * rewritten descriptor) is counted as changed.
 *
 * The least a client can fetch is about the changed bytes (fresh file
 * content and the rewritten metadata); what a layout adds is the unchanged
 * bytes sharing pieces with them. With changes scattered over files much
 * smaller than a piece, filling the space they freed costs whole pieces, and
 * no layout within a few percent of a from-scratch image's size avoids it
 * (bench/remaster-pieces.ts computes that bound): smaller pieces do. So a
 * publisher may let remaster choose: the largest piece length, from
 * publish's default down to `MIN_AUTO_PIECE_BYTES`, whose plan keeps the
 * fetch within `AUTO_FETCH_RATIO` of the changed bytes.
 */
import type { Segment } from './master-plan.js';

/** Ratio of fetched to changed bytes that --piece-length auto aims for: a stock client's fetch within 5 % of the floor. */
export const AUTO_FETCH_RATIO = 1.05;
/** Smallest piece length auto picks: 16 KiB, the block every client requests and BEP 52's smallest piece. */
export const MIN_AUTO_PIECE_BYTES = 16 * 1024;

/** Bytes a stock client with a copy of the base (`baseBytes` long) fetches of an image made of `segments`. */
export function stockFetchBytes(segments: readonly Segment[], baseBytes: number, imageBytes: number, pieceBytes: number): number {
  const pieces = Math.ceil(imageBytes / pieceBytes);
  const dirty = new Uint8Array(pieces);
  for (const s of segments) {
    if (s.length <= 0 || s.at >= imageBytes) continue;
    if (s.kind === 'base' && s.offset === s.at) continue;
    const last = Math.min(pieces - 1, Math.floor((s.at + s.length - 1) / pieceBytes));
    for (let p = Math.floor(s.at / pieceBytes); p <= last; p++) dirty[p] = 1;
  }
  let bytes = 0;
  for (let p = 0; p < pieces; p++) {
    const end = Math.min(imageBytes, (p + 1) * pieceBytes);
    if (dirty[p] === 1 || end > baseBytes) bytes += end - p * pieceBytes;
  }
  return bytes;
}

export interface PieceChoice<T> {
  readonly pieceBytes: number;
  readonly plan: T;
  readonly fetchBytes: number;
}

/**
 * Plans for `largest`, then half of it, and so on down to
 * MIN_AUTO_PIECE_BYTES, and keeps the first plan whose stock fetch is
 * within AUTO_FETCH_RATIO of its changed bytes, else the last (the
 * smallest piece length, the least fetch).
 */
export function choosePieceLength<T>(
  largest: number,
  planFor: (pieceBytes: number) => T,
  costOf: (plan: T, pieceBytes: number) => { fetchBytes: number; changedBytes: number },
): PieceChoice<T> {
  let choice: PieceChoice<T> | undefined;
  for (let p = largest; p >= MIN_AUTO_PIECE_BYTES || choice === undefined; p /= 2) {
    const plan = planFor(p);
    const c = costOf(plan, p);
    choice = { pieceBytes: p, plan, fetchBytes: c.fetchBytes };
    if (c.fetchBytes <= AUTO_FETCH_RATIO * c.changedBytes || p <= MIN_AUTO_PIECE_BYTES) break;
  }
  return choice;
}
