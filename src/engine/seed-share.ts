/**
 * What a seed peer leaves to others, by measured rate (engine/rate.ts): the
 * web seeds' queues (keptQueue) and the pieces a leecher holds (sparesSeed).
 * Pure; the scheduler (scheduler.ts) applies them, its table tests cover them.
 */
import type { SourceView } from './source-view.js';

/**
 * Of the web seeds' queues, what a seed peer with no measured rate yet may
 * take from the far end: a few pipelines of a delta's small blocks, enough
 * to measure it (keptQueue).
 */
export const PROBE_BYTES = 256 * 1024;

/**
 * The bytes of the web seeds' queues (Capacity.queue, `queued` of their
 * sum) they keep from the seed peers: the oldest part, in proportion to
 * their measured rate among the web seeds' and the seed peers' together,
 * less PROBE_BYTES for each seed peer with free slots. The far end goes to
 * the seed peers, so that both finish about together: a 2 MiB/s mirror
 * beside a 50 MiB/s seed keeps 4 % of its queue. The probe lets a seed peer
 * not measured yet (engine/rate.ts), or measured slow once, show what it
 * does now; it is the most a slower seed can hold up of the web seeds'
 * work. While a web seed is not measured the queue is theirs whole (a fast
 * mirror's first requests are not split with a seed that may be slower).
 */
export function keptQueue<H>(queued: number, webs: readonly SourceView<H>[], seeds: readonly SourceView<H>[], probe = PROBE_BYTES): number {
  if (queued <= 0 || seeds.length === 0 || webs.some((w) => w.rate === undefined)) return queued;
  const web = webs.reduce((n, w) => n + w.rate!, 0);
  let peer = 0;
  let probes = 0;
  for (const s of seeds) {
    peer += s.rate ?? 0;
    if (s.capacity.blocks > 0) probes++;
  }
  const kept = web + peer > 0 ? (queued * web) / (web + peer) : queued;
  return Math.max(0, Math.floor(kept - probes * probe));
}

/** Seconds until `v` has sent what is asked of it and `more` bytes, at its measured rate; undefined while it is not measured. */
function eta<H>(v: SourceView<H>, more: number): number | undefined {
  if (v.rate === undefined) return undefined;
  return v.rate > 0 ? ((v.inFlight ?? 0) + more) / v.rate : Infinity;
}

/**
 * Whether leecher `l`, which has a piece, spares seed peer `s` a block of
 * `bytes` of it, `s` having been given `taken` bytes this turn already: unless
 * both are measured and the seed would send the block sooner (what is asked
 * of it, this turn's asks and the block, at its rate) than the leecher (what
 * is asked of it and the block, at its rate). A seed with room is then asked
 * for what the leechers' full pipelines left, up to as deep a queue as
 * theirs: once every piece was out with some leecher, a loopback seed of
 * four leechers had sat idle while they traded the last ~3 images among
 * themselves (it had sent 1.1-1.4 images, libtorrent's seed 1.6-3.2). A seed
 * slower than the leechers (a real swarm's, its upload shared by many) keeps
 * to the pieces nobody else has; so does one not measured yet, or beside a
 * leecher not measured yet.
 */
export function sparesSeed<H>(l: SourceView<H>, s: SourceView<H>, bytes: number, taken = 0): boolean {
  const byLeecher = eta(l, bytes);
  const bySeed = eta(s, taken + bytes);
  return byLeecher === undefined || bySeed === undefined || byLeecher <= bySeed;
}
