/**
 * Who gets upload slots: tit-for-tat with an optimistic unchoke (BEP 3
 * "choking", as libtorrent and Transmission do it). Pure: the swarm passes
 * each interested peer's recent rate and calls this every CHOKE_ROUND_MS.
 *
 * - `slots - 1` regular slots go to the interested peers that recently gave
 *   us the most (leeching: their upload rate to us; seeding: our upload rate
 *   to them, so fast leechers finish and start sharing).
 * - One optimistic slot goes to an interested peer not chosen above, rotated
 *   every OPTIMISTIC_ROUNDS rounds, so newcomers with nothing to trade get a
 *   start and better partners can be discovered.
 * - Snubbed peers (which sent nothing for a long time while we asked) get no
 *   regular slot.
 * - Slots no interested peer takes go to peers not interested (yet), in the
 *   order given, as libtorrent unchokes a peer as soon as it has a slot
 *   free: a peer that turns interested asks at once instead of waiting for
 *   our unchoke. Transmission says interested only on its 10 s rechoke
 *   timer and batches what it sends: a seed that unchokes only after the
 *   interest started sending 1-2 s after libtorrent, on a loaded machine.
 *   An interested peer takes such a slot back at the next decision.
 */

/** How often the unchoke set is recomputed. */
export const CHOKE_ROUND_MS = 10_000;
/** Rounds an optimistic unchoke lasts (30 s, as in BEP 3's description). */
export const OPTIMISTIC_ROUNDS = 3;
/**
 * Default upload slots: libtorrent's default unchoke_slots_limit (Transmission
 * allows 14 per torrent). With 4, leechers that start together choke most of
 * each other and fetch from the seed instead (8 clients through isosync serve:
 * the server sent 3.2 deltas with 4 slots, 2.2 with 8).
 */
export const DEFAULT_UPLOAD_SLOTS = 8;

export interface ChokeCandidate<P> {
  readonly peer: P;
  readonly interested: boolean;
  /** Bytes per second over the last round (see module comment for which direction). */
  readonly rate: number;
  readonly snubbed: boolean;
}

export interface ChokeDecision<P> {
  unchoke: Set<P>;
  optimistic: P | undefined;
}

/**
 * The peers to unchoke. `optimistic` is the current optimistic peer; it is
 * kept unless `rotate` is true or it left. `random` picks a new one.
 */
export function decideUnchoke<P>(candidates: readonly ChokeCandidate<P>[], slots: number, optimistic: P | undefined, rotate: boolean, random: () => number): ChokeDecision<P> {
  const interested = candidates.filter((c) => c.interested);
  const regularSlots = Math.max(0, slots - 1);
  const regular = interested
    .filter((c) => !c.snubbed)
    .sort((a, b) => b.rate - a.rate)
    .slice(0, regularSlots)
    .map((c) => c.peer);
  const unchoke = new Set<P>(regular);
  let opt = optimistic;
  const stillThere = opt !== undefined && interested.some((c) => c.peer === opt) && !unchoke.has(opt);
  if (rotate || !stillThere) {
    const pool = interested.filter((c) => !unchoke.has(c.peer));
    opt = pool.length > 0 ? pool[Math.floor(random() * pool.length)]!.peer : undefined;
  }
  if (slots > 0 && opt !== undefined) unchoke.add(opt);
  // With fewer interested peers than regular slots, the optimistic slot is just another slot.
  for (const c of candidates) if (unchoke.size < slots && !c.interested && !c.snubbed) unchoke.add(c.peer);
  return { unchoke, optimistic: opt };
}

/**
 * The choke rounds of one swarm: every call decides the unchoke set
 * (decideUnchoke) and applies it; a round end counts towards the next
 * optimistic rotation (every OPTIMISTIC_ROUNDS rounds).
 */
export class ChokeRounds<P> {
  private rounds = 0;
  private optimistic: P | undefined;

  constructor(
    private readonly random: () => number,
    private readonly slots = DEFAULT_UPLOAD_SLOTS,
  ) {}

  round(candidates: readonly ChokeCandidate<P>[], roundEnd: boolean, apply: (peer: P, unchoke: boolean) => void): void {
    if (roundEnd) this.rounds++;
    if (this.optimistic !== undefined && !candidates.some((c) => c.peer === this.optimistic)) this.optimistic = undefined;
    const { unchoke, optimistic } = decideUnchoke(candidates, this.slots, this.optimistic, roundEnd && this.rounds % OPTIMISTIC_ROUNDS === 0, this.random);
    this.optimistic = optimistic;
    for (const c of candidates) apply(c.peer, unchoke.has(c.peer));
  }
}
