/**
 * Availability: which connected peer has which piece (BEP 3 bitfield and
 * have, BEP 6 have-all / have-none), and how many peers have each piece
 * (rarest first). Pure: `P` is a peer; the swarm feeds messages in.
 *
 * Invariant: counts[p] + complete = the number of peers known to have p; a
 * peer that has every piece is counted once in `complete`, not per piece.
 */
import { pieceIndex, type PieceIndex } from '../core/ids.js';

/** What an announcement changed. */
export type HaveResult = 'new' | 'complete' | 'known';

export class Availability<P> {
  private readonly counts: Uint16Array;
  private readonly held = new Map<P, Set<number> | 'all'>();
  private complete = 0;

  /** `changed(p)`: how many peers that lack some piece have p changed (the download's picker follows it). */
  constructor(
    readonly pieceCount: number,
    private readonly changed: (p: PieceIndex) => void = () => {},
  ) {
    this.counts = new Uint16Array(pieceCount);
  }

  /** How many peers have piece p. */
  count(p: PieceIndex): number {
    return this.counts[p]! + this.complete;
  }

  /** Connected peers that have every piece. */
  get seeds(): number {
    return this.complete;
  }

  has(peer: P, p: PieceIndex): boolean {
    const h = this.held.get(peer);
    return h === 'all' || (h?.has(p) ?? false);
  }

  /**
   * A piece the peer has and `have` lacks, looking from piece `from` on and around to it; -1 when there is none.
   * Where the last one was found is a good `from`: it is often still lacked.
   */
  firstLacked(peer: P, have: readonly boolean[], from: number): number {
    const h = this.held.get(peer);
    if (h === undefined || this.pieceCount === 0) return -1;
    for (let k = 0, p = from % this.pieceCount; k < this.pieceCount; k++, p = p + 1 === this.pieceCount ? 0 : p + 1) if (!have[p] && (h === 'all' || h.has(p))) return p;
    return -1;
  }

  /** The peer has every piece. */
  isComplete(peer: P): boolean {
    return this.held.get(peer) === 'all';
  }

  /** The peer announced a bitfield (`has(i)` per piece) or have-all. */
  bitfield(peer: P, has: (i: number) => boolean, all: boolean): void {
    if (this.held.get(peer) === 'all') return;
    let every = all;
    if (!every) {
      every = true;
      for (let i = 0; i < this.pieceCount && every; i++) every = has(i);
    }
    if (every) return this.markComplete(peer);
    for (let i = 0; i < this.pieceCount; i++) if (has(i)) this.have(peer, pieceIndex(i));
  }

  /** The peer announced piece p. */
  have(peer: P, p: PieceIndex): HaveResult {
    let h = this.held.get(peer);
    if (h === 'all') return 'known';
    if (!h) this.held.set(peer, (h = new Set()));
    if (h.has(p)) return 'known';
    h.add(p);
    this.counts[p] = this.counts[p]! + 1;
    this.changed(p);
    if (h.size < this.pieceCount) return 'new';
    this.markComplete(peer);
    return 'complete';
  }

  private markComplete(peer: P): void {
    const h = this.held.get(peer);
    this.held.set(peer, 'all');
    if (h instanceof Set) for (const p of h) this.uncount(p);
    this.complete++;
  }

  /** The peer left: its pieces are not counted any more. */
  remove(peer: P): void {
    const h = this.held.get(peer);
    if (h === 'all') this.complete--;
    this.held.delete(peer);
    if (h instanceof Set) for (const p of h) this.uncount(p);
  }

  private uncount(p: number): void {
    this.counts[p] = this.counts[p]! - 1;
    this.changed(pieceIndex(p));
  }
}

/** A BEP 3 bitfield of `have` (piece 0 is the high bit of byte 0). */
export function bitfieldOf(have: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(have.length / 8));
  have.forEach((h, i) => {
    if (h) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}
