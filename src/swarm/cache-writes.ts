/**
 * Which verified pieces a sync writes through the page cache while it serves
 * peers (store/part-file.ts cacheWritesWhile), and which past it (O_DIRECT).
 *
 * A piece written past the cache is read back from the disk when a peer asks
 * for it (a synchronous read: 20-26 % of each leecher's main thread, one seed
 * to four leechers, 300 MiB), so while connected peers lack pieces, pieces go
 * through the cache. But peers updating from the same old release make the
 * pieces of local bytes alone themselves and ask only for the ones with bytes
 * from the network; copying every local piece into the cache for them cost
 * each of eight clients of one `isosync serve` ~0.4 s of CPU on the thread
 * pool (the kernel's copy, DVD pair: a 348 MiB image, ~19 MB from the network).
 * So a local piece goes past the cache until a peer asks us for one (a peer
 * without the old release, a fresh download): from then on every piece goes
 * through it, as before.
 */
import type { PieceIndex } from '../core/ids.js';

/** The rule, pure: through the cache or not, for one piece verified now. */
export function writeThroughCache(o: {
  /** Connected peers lack pieces (they may ask for the ones we verify). */
  readonly peersLacking: boolean;
  /** The piece got bytes from the network. */
  readonly fetched: boolean;
  /** A peer asked us for a piece made of local bytes alone. */
  readonly localAsked: boolean;
}): boolean {
  return o.peersLacking && (o.fetched || o.localAsked);
}

/** The rule's state in one sync: whether a peer asked for a piece of local bytes alone. */
export class CacheWrites {
  private localAsked = false;

  constructor(
    private readonly peersLacking: () => boolean,
    /** Pieces verified with bytes from the network; undefined while the sync does not say (every piece counts as fetched). */
    private readonly fetched: () => ReadonlySet<PieceIndex> | undefined,
  ) {}

  /** Bytes of verified piece `piece` are read to be sent to a peer. */
  served(piece: PieceIndex): void {
    if (!this.localAsked && !(this.fetched()?.has(piece) ?? true)) this.localAsked = true;
  }

  /** For store.cacheWritesWhile. */
  readonly when = (fetched: boolean): boolean => writeThroughCache({ peersLacking: this.peersLacking(), fetched: fetched || this.fetched() === undefined, localAsked: this.localAsked });
}
