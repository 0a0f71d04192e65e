/**
 * The scheduler: which source is asked for which blocks, one turn at a time.
 * Pure: the request book, a view of each source and the time go in; asks
 * and cancels come out. Peers and web seeds are asked through the same
 * rules (a web seed is a source that has every piece and takes a turn's
 * asks as one request).
 *
 * Rules, in the order they apply:
 *   - Leechers before seeds: sources are served in the order leechers, seeds,
 *     web seeds, so a block another leecher can give is not asked of a seed,
 *     and a seed's upload goes to pieces nobody else has. A seed peer is not
 *     given blocks of a piece that a leecher which keeps up holds, unless
 *     it would send them sooner by the measured rates and what is asked of
 *     both (sparesSeed: it takes what the leechers' pipelines left; beside
 *     web seeds, never), and when a leecher
 *     announces a piece, the blocks of it asked only of seed peers that spare
 *     it are withdrawn there (`reclaim`) and asked of the leecher (when no
 *     leecher that has it can be asked, one choking us, the engine tries
 *     again once a leecher becomes ready: `reclaimLater`). Web seeds
 *     come last and take what the leechers cannot take soon (see the last
 *     rule).
 *   - A seed peer leaves the web seeds what look-ahead took for their room,
 *     as far as their queues go: the oldest of those blocks they send in
 *     about 2 s at their measured rates (Capacity.queue, webseed/web-peer.ts;
 *     one full request until the rate is measured), less the far end that
 *     the seed peers take by rate (`keptQueue`: a seed peer measured 25 x
 *     faster than the mirror takes 96 % of it; one not measured yet a probe).
 *     A fast mirror is then not held up by a slower seed's round trips, a
 *     slow one keeps only its share of what it sends soon, and the blocks a
 *     started piece waits for (metadata reads, guesses that failed) still go
 *     to whichever source is first. Only unasked blocks are split: a web
 *     seed's request cannot be withdrawn, so nothing is fetched twice.
 *   - Oldest first: a source with free capacity gets the oldest unasked
 *     blocks of pieces it has, as many as its capacity says (a peer: its free
 *     pipeline slots; a web seed: one request of at most `bytes` in at most
 *     `runs` ranges).
 *   - Piece rules: a piece may avoid some sources (they sent bytes of it that
 *     failed; used only when no other source has the piece) or be pinned to
 *     one source (a whole copy from one sender, for exact blame); a pin is
 *     chosen here among the sources that have the piece, fewest strikes first.
 *   - Endgame: only when no piece is left to start and no block waits for a
 *     first ask, an idle source may be asked a block already asked of
 *     another (at most ENDGAME_REQUESTERS asks per block, oldest ask first);
 *     the first copy wins and the engine cancels the others. A web seed never
 *     repeats another web seed's request (it would fetch it all again); a web
 *     seed repeats a peer's ask once it is WEB_REPEATS_PEER_MS old (a seed
 *     peer's, beside leechers, WEB_REPEATS_HELD_MS) (the peer's
 *     copy is cancelled when the web seed's lands), and a peer a web seed's
 *     once it is ENDGAME_CROSS_MS old (a request of a web seed cannot be
 *     withdrawn). Before that, an
 *     idle pipeline slot is better spent on a new piece (in a 4-leecher
 *     loopback swarm, always-on endgame had every peer upload ~1.3 x what was
 *     kept).
 *   - Peers before web seeds where both have a piece: web seeds leave the
 *     oldest unasked blocks, one more pipeline per ready peer that keeps up
 *     (PEER_BACKLOG_BLOCKS), to the peers, who ask them as their slots free
 *     (for a seed peer, blocks beyond the web seeds' queues).
 * Timeouts, rejects and departures are not decided here: the engine hands
 * those blocks back to the book (health.ts decides about the source), and
 * the next turn asks them again.
 */
import type { PieceIndex } from '../core/ids.js';
import type { Block } from './block.js';
import type { Capacity } from './handle.js';
import type { BookView } from './request-book.js';
import { keptQueue, sparesSeed } from './seed-share.js';
import type { SourceView } from './source-view.js';

export { keptQueue, PROBE_BYTES, sparesSeed } from './seed-share.js';
export type { SourceView } from './source-view.js';

/** Sources asked for the same block in endgame: enough to beat one slow source, not a flood. */
export const ENDGAME_REQUESTERS = 2;
/**
 * Several web seeds with room share one turn's blocks evenly, but none gets
 * less than this: below it one request to one server costs less than
 * several round trips.
 */
export const MIN_WEB_SHARE_BYTES = 256 * 1024;
/** In endgame, a peer repeats a web seed's asks only after this long. */
export const ENDGAME_CROSS_MS = 3_000;
/** In endgame, an idle web seed repeats a peer's asks after this long: a slow peer does not hold the last pieces. */
export const WEB_REPEATS_PEER_MS = 1_000;
/**
 * In endgame, with leechers connected, an idle web seed repeats a seed
 * peer's asks only after this long: such a seed may hold an ask back while
 * a leecher that got the piece passes it on (share first, swarm/upload-queue.ts:
 * `isosync serve`'s seed waits up to 6 s for a piece nobody announced yet),
 * and the server that is both web seed and seed then sent the piece twice.
 * Eight clients of one serve fetched 0.05-0.1 of a delta each so, in their
 * last second.
 */
export const WEB_REPEATS_HELD_MS = 8_000;
/**
 * Unasked blocks that web seeds leave to the peers, per ready peer that
 * keeps up: one more pipeline each (swarm/bt-peer.ts PIPELINE_DEPTH), what
 * the peers ask as soon as their slots free. A web seed's ask cannot be
 * withdrawn when a leecher gets the piece, so without this a web seed took
 * every block beyond the peers' free slots: 8 clients of one `isosync
 * serve` fetched 1.5 deltas from it over HTTP instead of 0.6 (bench --
 * serve), and traded less among themselves.
 */
export const PEER_BACKLOG_BLOCKS = 64;

export interface PieceRule<H> {
  /** Sources to ask for this piece only when no other source has it. */
  readonly avoid?: ReadonlySet<H>;
  /** All of the piece's blocks from one source. */
  readonly oneSource?: boolean;
  /** The source chosen for a oneSource piece (kept while it is there). */
  readonly pinned?: H;
}

export interface TurnInput<H> {
  readonly book: BookView<H>;
  readonly sources: readonly SourceView<H>[];
  readonly now: number;
  /** No piece is left to start (the picker handed out the last one). */
  readonly endgame: boolean;
  readonly rules: ReadonlyMap<PieceIndex, PieceRule<H>>;
  /** Pieces a leecher just announced (reclaim their blocks from seed peers). */
  readonly reclaim: readonly PieceIndex[];
  /** To tell which blocks touch across pieces (one range of a web request). */
  readonly pieceLength: number;
  /** Blocks per ready peer that keeps up that web seeds leave to the peers (default PEER_BACKLOG_BLOCKS). */
  readonly peerBacklog?: number;
  /** Pieces whose blocks look-ahead took for the web seeds' room (look-ahead.ts); seed peers leave those to the web seeds' queues (their share: keptQueue). */
  readonly ahead?: (p: PieceIndex) => boolean;
  /** Bytes of the web seeds' queues each seed peer with free slots may take beyond its share (default PROBE_BYTES). */
  readonly probeBytes?: number;
}

export interface Ask<H> {
  readonly handle: H;
  readonly blocks: Block[];
}

export interface Decision<H> {
  readonly asks: Ask<H>[];
  readonly cancels: Ask<H>[];
  /** Pins chosen this turn for oneSource pieces. */
  readonly pins: [PieceIndex, H][];
  /** Pieces of `reclaim` with blocks asked only of seed peers and no leecher to ask them of now (one that has them chokes us): the engine tries them again when a leecher becomes ready. */
  readonly reclaimLater?: PieceIndex[];
}

/** The bytes each web seed with room may take this turn: an even share of the unasked bytes (see MIN_WEB_SHARE_BYTES). */
function shareOf<H>(book: BookView<H>, sources: readonly SourceView<H>[]): number {
  const web = sources.filter((s) => s.kind === 'web' && s.capacity.blocks > 0).length;
  if (web < 2) return Infinity;
  let bytes = 0;
  for (const b of book.unasked()) bytes += b.length;
  return Math.max(MIN_WEB_SHARE_BYTES, Math.ceil(bytes / web));
}

/** Order in which sources get blocks: leechers, then seed peers, then web seeds; ties by fewer strikes. */
function rank<H>(s: SourceView<H>): number {
  return s.kind === 'web' ? 2 : s.complete ? 1 : 0;
}

export function scheduleTurn<H>(input: TurnInput<H>): Decision<H> {
  const { book, rules } = input;
  const sources = input.sources.filter((s) => s.ready).sort((a, b) => rank(a) - rank(b) || a.strikes - b.strikes);
  const pins = new Map<PieceIndex, H>();
  const pinOf = (p: PieceIndex): H | undefined => {
    const r = rules.get(p);
    if (!r?.oneSource) return undefined;
    const there = (h: H | undefined) => h !== undefined && input.sources.some((s) => s.handle === h);
    if (there(r.pinned)) return r.pinned;
    if (pins.has(p)) return pins.get(p);
    const having = input.sources.filter((s) => s.has(p));
    const fresh = having.filter((s) => !r.avoid?.has(s.handle));
    const pool = (fresh.length > 0 ? fresh : having).sort((a, b) => a.strikes - b.strikes || Number(b.ready) - Number(a.ready) || rank(a) - rank(b));
    const pick = pool[0]?.handle;
    if (pick !== undefined) pins.set(p, pick);
    return pick;
  };
  /** `s` is to be asked for piece p only as a last resort. */
  const avoided = (s: SourceView<H>, p: PieceIndex): boolean => {
    const avoid = rules.get(p)?.avoid;
    return avoid !== undefined && avoid.has(s.handle) && input.sources.some((o) => o !== s && o.has(p) && !avoid.has(o.handle));
  };
  /**
   * The leechers that keep up and hold p: a seed peer leaves p to them
   * unless it would send a block sooner (sparesSeed); beside web seeds,
   * always (their queues are split by keptQueue, and a server that is both
   * a web seed and a seed peer is not asked more).
   */
  const webInPlay = input.sources.some((o) => o.kind === 'web');
  const spares = (l: SourceView<H>, s: SourceView<H>, bytes: number, taken = 0): boolean => webInPlay || sparesSeed(l, s, bytes, taken);
  const holders = (p: PieceIndex): SourceView<H>[] =>
    input.sources.filter((o) => o.kind === 'peer' && !o.complete && o.ready && o.keepsUp && o.has(p) && !rules.get(p)?.avoid?.has(o.handle));

  const cancels = new Map<H, Block[]>();
  const freed: Block[] = [];
  const later: PieceIndex[] = [];
  const seedOnly = (askedOf: readonly H[]): boolean => askedOf.length > 0 && askedOf.every((h) => input.sources.some((s) => s.handle === h && s.kind === 'peer' && s.complete));
  for (const p of new Set(input.reclaim)) {
    if (rules.get(p)?.oneSource) continue;
    const by = holders(p);
    if (by.length === 0) {
      if (book.askedFor(p).some(([, askedOf]) => seedOnly(askedOf))) later.push(p);
      continue;
    }
    for (const [b, askedOf] of book.askedFor(p)) {
      const seedsOnly = askedOf.length > 0 && askedOf.every((h) => input.sources.some((s) => s.handle === h && s.kind === 'peer' && s.complete && by.some((l) => spares(l, s, b.length))));
      if (!seedsOnly) continue;
      for (const h of askedOf) (cancels.get(h) ?? cancels.set(h, []).get(h)!).push(b);
      freed.push(b);
    }
  }

  const taken = new Set<Block>();
  const asks: Ask<H>[] = [];
  let unaskedLeft = book.unaskedCount + freed.length;
  const webShare = shareOf(book, sources);
  const kindOf = new Map(input.sources.map((s) => [s.handle, s.kind]));
  /** Seed peers whose asks a web seed repeats late (WEB_REPEATS_HELD_MS): all of them while a leecher is connected; made at the first endgame look. */
  let heldBy: Set<H> | undefined;
  /** Whether `s` may repeat an ask of `o` made at `t`. */
  const mayRepeat = (s: SourceView<H>, o: H, t: number): boolean => {
    const k = kindOf.get(o);
    if (k === s.kind) return s.kind === 'peer';
    if (s.kind !== 'web') return input.now - t >= ENDGAME_CROSS_MS;
    heldBy ??= new Set(input.sources.some((x) => x.kind === 'peer' && !x.complete) ? input.sources.filter((x) => x.kind === 'peer' && x.complete).map((x) => x.handle) : []);
    return input.now - t >= (heldBy.has(o) ? WEB_REPEATS_HELD_MS : WEB_REPEATS_PEER_MS);
  };
  /**
   * The turn's candidates in book order (freed, then unasked), read from the
   * book once into an array that each source's scan and the backlog walk
   * share, instead of each pulling the book's blocks anew; read only as far
   * as a scan goes (a peer with a few free slots looks at the first few of
   * hundreds of unasked blocks).
   */
  const order: Block[] = [...freed];
  let unread: Iterator<Block> | undefined;
  const candidate = (i: number): Block | undefined => {
    while (order.length <= i) {
      unread ??= book.unasked()[Symbol.iterator]();
      const next = unread.next();
      if (next.done) return undefined;
      order.push(next.value);
    }
    return order[i];
  };
  /**
   * Whether the web seeds' queues (Capacity.queue) hold candidate i: the
   * oldest blocks look-ahead took that they send soon, none of them a seed
   * peer's this turn. Decided once per candidate, in order, for every seed
   * peer and the backlog alike: blocks taken before a candidate is decided
   * are a leecher's (they do not count in the queue) or lie outside it.
   * (A Set of the queue, built each turn, cost a mixed sync more CPU than
   * the rest of the scheduler.)
   */
  const inQueue: boolean[] = [];
  const webs = sources.filter((o) => o.kind === 'web' && o.keepsUp);
  const queueBytes = keptQueue(
    webs.reduce((n, w) => n + (w.capacity.queue ?? 0), 0),
    webs,
    sources.filter((o) => o.kind === 'peer' && o.complete && o.keepsUp),
    input.probeBytes,
  );
  let queueLeft = queueBytes;
  let queuePiece = -1;
  let queueOk = false;
  const queued = (i: number): boolean => {
    while (inQueue.length <= i) {
      const b = candidate(inQueue.length)!;
      if (b.piece !== queuePiece) {
        queuePiece = b.piece;
        const pin = pinOf(b.piece);
        queueOk = input.ahead?.(b.piece) === true && webs.some((w) => (pin === undefined ? !avoided(w, b.piece) : pin === w.handle));
      }
      const held = queueLeft > 0 && queueOk && !taken.has(b);
      if (held) queueLeft -= b.length;
      inQueue.push(held);
    }
    return inQueue[i]!;
  };
  /**
   * The web seeds' queues hold every unasked block: each is one look-ahead
   * took (the book counts them), their bytes fit, and no piece rule or
   * reclaimed block is in play. Then a seed peer finds nothing beyond the
   * queues, and its scan and the backlog walk for seed peers are skipped:
   * an idle seed peer beside a web seed had walked the ~1,400 look-ahead
   * blocks of a delta sync every turn to find nothing (60-120 us a turn).
   */
  const queueHoldsAll = input.ahead !== undefined && rules.size === 0 && freed.length === 0 && book.unaskedAheadCount === book.unaskedCount && queueBytes >= book.unaskedBytes;
  /** The oldest unasked blocks the peers will take as their slots free (PEER_BACKLOG_BLOCKS): no web seed's, this turn. */
  let backlog: Set<Block> | undefined;
  const leftToPeers = (): Set<Block> => {
    if (backlog) return backlog;
    backlog = new Set();
    const peers = sources.filter((o) => o.kind === 'peer' && o.keepsUp);
    const seedPeers = peers.some((o) => o.complete);
    if (queueHoldsAll && peers.every((o) => o.complete)) return backlog;
    let left = (input.peerBacklog ?? PEER_BACKLOG_BLOCKS) * peers.length;
    for (let i = 0, b = candidate(0); b !== undefined; b = candidate(++i)) {
      if (left <= 0) return backlog;
      if (taken.has(b)) continue;
      const toWeb = seedPeers && queued(i);
      if (pinOf(b.piece) !== undefined) continue;
      if (!peers.some((o) => o.has(b.piece) && !rules.get(b.piece)?.avoid?.has(o.handle) && !(o.complete && toWeb))) continue;
      backlog.add(b);
      left--;
    }
    return backlog;
  };
  for (const s of sources) {
    const cap = s.kind === 'web' ? { ...s.capacity, bytes: Math.min(s.capacity.bytes, webShare) } : s.capacity;
    if (cap.blocks <= 0 || cap.bytes <= 0) continue;
    let lastPiece = -1;
    let lastOk = false;
    /** For a seed peer: the leechers that may spare it blocks of lastPiece. */
    let lastHolders: SourceView<H>[] = [];
    const seedPeer = s.kind === 'peer' && s.complete;
    const mine: Block[] = [];
    let bytes = 0;
    const usable = (b: Block): boolean => {
      const p = b.piece;
      if (p !== lastPiece) {
        lastPiece = p;
        const pin = pinOf(p);
        lastOk = s.has(p) && (pin === undefined ? !avoided(s, p) : pin === s.handle);
        lastHolders = lastOk && seedPeer && pin === undefined ? holders(p) : [];
      }
      // No closure made per block when no leecher holds the piece (the common case).
      return lastOk && (lastHolders.length === 0 || !lastHolders.some((l) => spares(l, s, b.length, bytes)));
    };
    let runs = 0;
    let end = -1;
    const fits = (b: Block): boolean => {
      const at = b.piece * input.pieceLength + b.offset;
      const newRun = at !== end;
      if (mine.length > 0 && (bytes + b.length > cap.bytes || runs + Number(newRun) > cap.runs)) return false;
      mine.push(b);
      bytes += b.length;
      if (newRun) runs++;
      end = at + b.length;
      return true;
    };
    const full = () => mine.length >= cap.blocks || bytes >= cap.bytes;
    // Endgame only when no block waited for a first ask when this source's turn came.
    const noneWaiting = unaskedLeft === 0;
    const toPeers = s.kind === 'web' ? leftToPeers() : undefined;
    const leavesQueue = s.kind === 'peer' && s.complete;
    const scan = !(leavesQueue && queueHoldsAll);
    for (let i = 0, b = scan ? candidate(0) : undefined; b !== undefined && !full(); b = candidate(++i)) {
      if (taken.has(b) || (leavesQueue && queued(i)) || toPeers?.has(b) || !usable(b)) continue;
      if (!fits(b)) break;
      taken.add(b);
      unaskedLeft--;
    }
    // Endgame: nothing anywhere waits for a first ask.
    if (!full() && input.endgame && noneWaiting) {
      const shared: { b: Block; first: number }[] = [];
      for (const e of book.entries()) {
        if (e.askedOf.size === 0 || e.askedOf.size >= ENDGAME_REQUESTERS || e.askedOf.has(s.handle) || taken.has(e.block) || !usable(e.block)) continue;
        let first = Infinity;
        let ok = true;
        for (const [o, t] of e.askedOf) {
          first = Math.min(first, t);
          ok &&= mayRepeat(s, o, t);
        }
        if (ok) shared.push({ b: e.block, first });
      }
      shared.sort((a, b) => a.first - b.first);
      for (const { b } of shared) {
        if (full() || !fits(b)) break;
        taken.add(b);
      }
    }
    if (mine.length > 0) asks.push({ handle: s.handle, blocks: mine });
  }
  return { asks, cancels: [...cancels].map(([handle, blocks]) => ({ handle, blocks })), pins: [...pins], ...(later.length > 0 ? { reclaimLater: later } : {}) };
}
