/**
 * A swarm announced where others look for it (a tracker, LSD) is one whose
 * leechers trade: clients updating together through `isosync serve` find
 * each other there. Its engine is told so from the start: the peers' view
 * counts one leecher more than it sees until one connects, so look-ahead
 * (engine/look-ahead.ts leftToPeers) leaves the seed's pieces to the swarm
 * from the first turn instead of taking them for the web seed while only the
 * server's seed has connected yet. Without this, each of eight clients of
 * `npm run bench -- serve` took its first web-seed request (~0.03 x one
 * delta, the same bytes in all eight) in the moment before the others
 * connected. Pure: a view over the swarm's own.
 */
import type { PeerFacts } from '../engine/engine.js';
import type { StartReason } from './swarm-start.js';

/** Whether a swarm started for `reason` expects leechers that trade (it was announced where others look). */
export function expectsLeechers(reason: StartReason | undefined): boolean {
  return reason === 'trackers' || reason === 'lsd';
}

/** `facts` with at least one leecher beside its seeds counted as connected. */
export function withExpectedLeecher(facts: PeerFacts): PeerFacts {
  const view: PeerFacts = {
    availability: (p) => facts.availability(p),
    get seeds() {
      return facts.seeds;
    },
    get connected() {
      return Math.max(facts.connected, facts.seeds + 1);
    },
    discovering: () => facts.discovering(),
    ...(facts.unreachable ? { unreachable: () => facts.unreachable!() } : {}),
  };
  return view;
}
