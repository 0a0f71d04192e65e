/**
 * A swarm announced where others look for it (a tracker, LSD) is one whose
 * leechers trade: clients updating together through `isosync serve` find
 * each other and the server's seed there. Their first look-ahead came before
 * any of those peers had connected (the tracker's answer, the dials and the
 * handshakes take a second or more on a busy machine), so every client took
 * the same first web-seed request for itself, ~0.03 x one delta each
 * (`npm run bench -- serve`). Until a first seed connects (the other
 * clients, connected first, hold nothing yet), while discovery goes on, and
 * for at most FIRST_PEER_WAIT_MS from the engine's first look at the peers,
 * the engine is told each piece nobody has has one peer: look-ahead (engine/look-ahead.ts
 * leftToPeers) leaves it to the swarm, while the pieces being assembled go to
 * whichever source is there, the web seed too. Pure: a view over the swarm's
 * own, with an injected clock.
 */
import type { PieceIndex } from '../core/ids.js';
import type { PeerFacts } from '../engine/engine.js';
import type { StartReason } from './swarm-start.js';

/** How long look-ahead waits for the swarm's first seed (a serve client's leechers often connect first, holding nothing yet). */
export const FIRST_PEER_WAIT_MS = 3_000;

/** Whether a swarm started for `reason` expects peers that trade (it was announced where others look). */
export function expectsPeers(reason: StartReason | undefined): boolean {
  return reason === 'trackers' || reason === 'lsd';
}

/** `facts` with every piece nobody has counted as held by one peer while no seed has connected yet, discovery goes on, and the wait is not over. */
export function awaitingFirstPeer(facts: PeerFacts, now: () => number, waitMs = FIRST_PEER_WAIT_MS): PeerFacts {
  let since: number | undefined;
  let over = false;
  const waiting = (): boolean => {
    if (over) return false;
    if (facts.seeds > 0 || !facts.discovering()) return !(over = true);
    since ??= now();
    if (now() - since >= waitMs) return !(over = true);
    return true;
  };
  return {
    availability: (p: PieceIndex) => {
      const wait = waiting();
      const n = facts.availability(p);
      return n === 0 && wait ? 1 : n;
    },
    get seeds() {
      return facts.seeds;
    },
    get connected() {
      return facts.connected;
    },
    discovering: () => facts.discovering(),
    ...(facts.unreachable ? { unreachable: () => facts.unreachable!() } : {}),
  };
}
