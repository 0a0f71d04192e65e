/**
 * Which piece to work on next. Pure: the facts are passed in, and the
 * random tie-break is injected, so a test sets a scenario up with plain
 * values.
 *
 * Order: pieces some source has before pieces nobody has; then rarest first
 * (fewest peers have it: spreads the swarm's copies, so leechers that start
 * together have something to trade; a piece only web seeds have comes after
 * the pieces peers have, so the web seeds take what the peers cannot give);
 * then partial first (fewest bytes still missing after local filling:
 * finishes cheap pieces and frees their memory); then, with peers, a random
 * tie-break, so leechers do not all ask the same piece; without peers, in
 * order, so one web-seed request covers neighbouring pieces.
 */
import type { PieceIndex } from '../core/ids.js';

export interface PieceFacts {
  /** How many connected peers have the piece. */
  availability(piece: PieceIndex): number;
  /** Bytes of the piece still to fetch after local filling (unknown: the piece length). */
  missingBytes(piece: PieceIndex): number;
  /** Whether a web seed can serve any piece. */
  readonly webSeeds: boolean;
  /** Whether any peer is connected (then ties break at random). */
  readonly peers: boolean;
}

/** Index in `remaining` of the piece to work on next; -1 when empty. */
export function pickPiece(remaining: readonly PieceIndex[], facts: PieceFacts, random: () => number): number {
  let best = -1;
  let bestKey: number[] | undefined;
  for (let i = 0; i < remaining.length; i++) {
    const p = remaining[i]!;
    const avail = facts.availability(p);
    const key = [
      avail > 0 || facts.webSeeds ? 0 : 1,
      avail > 0 ? avail : Number.MAX_SAFE_INTEGER,
      facts.peers ? facts.missingBytes(p) : 0,
      facts.peers ? random() : p,
    ];
    if (!bestKey || less(key, bestKey)) {
      best = i;
      bestKey = key;
    }
  }
  return best;
}

function less(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
