/**
 * Super-seeding (BEP 16), for a publisher's first seed: each peer is shown
 * one piece at a time (a `have`), the one offered least so far that it
 * lacks, and is shown the next only when the offered piece shows up at
 * another peer (it was passed on) or SUPER_SEED_PATIENCE_MS pass (no peer
 * waits forever). Pure: `P` is a peer; the swarm sends the haves.
 */

/** How long an offered piece may go unseen elsewhere before its peer is offered another. */
export const SUPER_SEED_PATIENCE_MS = 3_000;

export class SuperSeed<P> {
  private readonly offered = new Map<P, { piece: number; at: number }>();
  private readonly offerCount: Uint32Array;

  constructor(readonly pieceCount: number) {
    this.offerCount = new Uint32Array(pieceCount);
  }

  /** The piece to reveal to `peer` now: offered least (counting peers that have it), one it lacks; undefined when it lacks none. */
  offer(peer: P, lacks: (p: number) => boolean, availability: (p: number) => number, now: number): number | undefined {
    let best = -1;
    for (let p = 0; p < this.pieceCount; p++) {
      if (!lacks(p)) continue;
      if (best < 0 || this.offerCount[p]! + availability(p) < this.offerCount[best]! + availability(best)) best = p;
    }
    if (best < 0) return undefined;
    this.offered.set(peer, { piece: best, at: now });
    this.offerCount[best] = this.offerCount[best]! + 1;
    return best;
  }

  /** `from` announced piece p: the peers offered p (others than `from`, unless it is alone) may be offered the next. */
  passedOn(from: P, p: number, alone: boolean): P[] {
    const out: P[] = [];
    for (const [peer, o] of this.offered) if (o.piece === p && (peer !== from || alone)) out.push(peer);
    return out;
  }

  /** Peers whose offered piece went unseen for the patience time. */
  due(now: number): P[] {
    const out: P[] = [];
    for (const [peer, o] of this.offered) if (now - o.at > SUPER_SEED_PATIENCE_MS) out.push(peer);
    return out;
  }

  forget(peer: P): void {
    this.offered.delete(peer);
  }
}
