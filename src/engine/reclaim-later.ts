/**
 * Pieces a leecher announced whose blocks stay asked of seed peers because
 * no leecher that has them could be asked on the announcement's turn (it
 * chokes us, or does not keep up): scheduler.ts `reclaimLater`. They are
 * reclaimed again when one more leecher is ready than at the last turn
 * (an unchoke), not on every turn. A seed holding such an ask back for the
 * leechers to pass the piece on (`isosync serve`'s share first,
 * swarm/upload-queue.ts) sent it after its wait all the same, and the
 * reclaim that came with the next announcement was then too late: the
 * copy was in flight, the seed's bytes spent twice.
 */
import type { PieceIndex } from '../core/ids.js';

export class LaterReclaims {
  private readonly pieces = new Set<PieceIndex>();
  private ready = 0;

  /** The pieces to reclaim again this turn, given the turn's sources (a leecher became ready: all of them). */
  due(sources: Iterable<{ readonly kind: 'peer' | 'web'; readonly complete: boolean; readonly ready: boolean }>): PieceIndex[] {
    let ready = 0;
    for (const s of sources) if (s.kind === 'peer' && !s.complete && s.ready) ready++;
    const more = ready > this.ready;
    this.ready = ready;
    if (!more || this.pieces.size === 0) return [];
    const out = [...this.pieces];
    this.pieces.clear();
    return out;
  }

  /** Pieces the scheduler could not reclaim yet. */
  keep(pieces: readonly PieceIndex[] | undefined): void {
    for (const p of pieces ?? []) this.pieces.add(p);
  }

  /** `p` is done. */
  drop(p: PieceIndex): void {
    this.pieces.delete(p);
  }

  get size(): number {
    return this.pieces.size;
  }
}
