/**
 * Strikes and bans: what the engine concludes about a source from how it
 * answers. Pure: each function takes a source's record and the time, and
 * says what follows; the engine acts on it (drops, bans, warns).
 *
 *   - A block arriving resets the source's timeouts, and counts in its
 *     measured rate (rate.ts; the scheduler splits web seeds' queues by it).
 *   - An ask unanswered for the request timeout goes to another source; a
 *     source with MAX_TIMEOUTS such turns in a row and no block for the whole
 *     timeout stalls and is dropped.
 *   - A peer that chokes us while holding asks has CHOKE_GRACE_MS to answer
 *     them (BEP 6 peers reject them at once); then they go elsewhere.
 *   - A source whose bytes a piece hash proved wrong is convicted: a web seed
 *     is dropped at once (it serves everyone the same bytes); a peer gets a
 *     strike, and BAN_STRIKES strikes ban it for the life of the swarm.
 */
import { freshMeter, onBytes, type Meter } from './rate.js';

/** A block ask unanswered this long is asked of another source. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Timeout turns in a row, with no block between, before a source counts as stalled and is dropped. */
export const MAX_TIMEOUTS = 2;
/** Convictions before a peer is banned. */
export const BAN_STRIKES = 2;
/** Asks held by a peer that chokes us return to the scheduler after this long. */
export const CHOKE_GRACE_MS = 5_000;

export interface Health {
  /** Blocks proved wrong by a piece hash. */
  strikes: number;
  /** Timeout turns since the last block. */
  timeouts: number;
  /** When the last block arrived (or when the source was added). */
  lastBlockAt: number;
  /** Its rate while asks were out. */
  readonly meter: Meter;
}

export function freshHealth(now: number): Health {
  return { strikes: 0, timeouts: 0, lastBlockAt: now, meter: freshMeter() };
}

export function onBlock(h: Health, now: number, bytes = 0): void {
  h.timeouts = 0;
  h.lastBlockAt = now;
  onBytes(h.meter, bytes, now);
}

/** Some of the source's asks timed out this turn: whether it now counts as stalled. */
export function onTimeouts(h: Health, now: number, timeoutMs: number): 'stalled' | 'patience' {
  h.timeouts++;
  return h.timeouts >= MAX_TIMEOUTS && now - h.lastBlockAt > timeoutMs ? 'stalled' : 'patience';
}

/** The source sent bytes a piece hash proved wrong: what to do with it. */
export function onConviction(h: Health, kind: 'peer' | 'web'): 'strike' | 'ban' | 'drop' {
  h.strikes++;
  if (kind === 'web') return 'drop';
  return h.strikes >= BAN_STRIKES ? 'ban' : 'strike';
}

/** Whether an ask made at `askedAt` is overdue: past the request timeout, or past the choke grace while the source chokes us. */
export function overdue(askedAt: number, now: number, ready: boolean, timeoutMs: number): 'timeout' | 'choked' | undefined {
  if (now - askedAt > timeoutMs) return 'timeout';
  if (!ready && now - askedAt > Math.min(CHOKE_GRACE_MS, timeoutMs)) return 'choked';
  return undefined;
}

/** The asks of `entries` (the request book's) that are overdue at `now`, per source: timed out, or held while it chokes us. */
export function lateAsks<H extends { readonly ready: boolean }, B>(
  entries: Iterable<{ readonly block: B; readonly askedOf: ReadonlyMap<H, number> }>,
  now: number,
  timeoutMs: number,
): Map<H, { timedOut: B[]; choked: B[] }> {
  const late = new Map<H, { timedOut: B[]; choked: B[] }>();
  for (const e of entries) {
    for (const [h, at] of e.askedOf) {
      const why = overdue(at, now, h.ready, timeoutMs);
      if (!why) continue;
      let l = late.get(h);
      if (!l) late.set(h, (l = { timedOut: [], choked: [] }));
      (why === 'timeout' ? l.timedOut : l.choked).push(e.block);
    }
  }
  return late;
}
