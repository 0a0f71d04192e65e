/**
 * The download engine: one scheduler for every remote source. It implements
 * the piece-fetch port that assembly uses (core/ports.ts PieceFetcher) and
 * the range port that planning reads the target's metadata through
 * (RangeFetcher), over PeerHandles: BitTorrent peers (swarm/bt-peer.ts) and
 * HTTP web seeds (webseed/web-peer.ts) alike.
 *
 * It only wires: a fetch becomes wanted blocks in the request book
 * (request-book.ts); once per event-loop turn the pure scheduler
 * (scheduler.ts) says who is asked for which blocks, and the handles ask;
 * arriving blocks go to the fetches that wait for them (wants.ts). What to
 * conclude about a source (timeouts, stalls, convictions) is health.ts;
 * which piece next is piece-picker.ts; idle web seeds' look-ahead is look-ahead.ts.
 *
 * A piece is never orphaned: when a source leaves, is dropped, stalls or
 * holds asks while choking us, its asks return to the book at once and the
 * next turn gives them to another source. A fetch fails only when no live
 * source has its piece: at once when no source can still come, after
 * `noPeerMs` while peers are still being looked for; the error names every
 * source tried.
 */
import { IsosyncError } from '../errors.js';
import { allPieces, type PieceIndex } from '../core/ids.js';
import type { Blame, FetchOptions, Fetched, PieceFetcher, RangeFetcher } from '../core/ports.js';
import type { Span } from '../core/span.js';
import { ignoreWarnings, type WarningCode, type WarningSink } from '../core/warnings.js';
import { requestsFor, type Block } from './block.js';
import type { FailReason, HandleSink, PeerHandle } from './handle.js';
import { freshHealth, lateAsks, onBlock, onConviction, onTimeouts, REQUEST_TIMEOUT_MS, type Health } from './health.js';
import { aheadRoom, AheadPieces, leftToPeers, type PlanFacts } from './look-ahead.js';
import { PiecePicker } from './piece-picker.js';
import { RangePort } from './range-port.js';
import { rateOf, setBusy } from './rate.js';
import { LaterReclaims } from './reclaim-later.js';
import { RequestBook } from './request-book.js';
import { scheduleTurn, type PieceRule, type SourceView } from './scheduler.js';
import { Wants, type Want } from './wants.js';
import { pieceWindow } from './piece-window.js';

/** How long a fetch waits for a source of its piece while peers may still come (a tracker, a dial). */
export const NO_PEER_MS = 60_000;
/** Timeouts and sources are checked this often. */
export const TICK_MS = 1000;

/** What the BitTorrent side tells the engine (swarm.ts). */
export interface PeerFacts {
  /** How many connected peers have piece p. */
  availability(p: PieceIndex): number;
  /** Connected peers that have every piece (counted in every piece's availability). */
  readonly seeds: number;
  /** Connected peers. */
  readonly connected: number;
  /** A peer may still come: dials or redials under way, trackers asked. */
  discovering(): boolean;
  /** Peers that could not be reached, named as a failed fetch lists them. */
  unreachable?(): readonly string[];
}

export type { PlanFacts };

export interface EngineOptions {
  readonly length: number;
  readonly pieceLength: number;
  /** Peers may join (a swarm is attached). */
  readonly withPeers?: boolean;
  /** Web seeds the sync fetches from (with none, peers get a deep window: piece-window.ts). */
  readonly webSeeds?: number;
  readonly requestTimeoutMs?: number;
  readonly noPeerMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly onWarning?: WarningSink;
  /** Each wanted block as it arrives (the sync writes it to the .part at once: a kill keeps it). */
  readonly onReceived?: (b: Block, bytes: Uint8Array) => void;
}

export class Engine implements PieceFetcher<PeerHandle>, RangeFetcher, HandleSink {
  private readonly book = new RequestBook<PeerHandle>();
  private readonly health = new Map<PeerHandle, Health>();
  private readonly wants = new Wants<PeerHandle>();
  private readonly rules = new Map<PieceIndex, PieceRule<PeerHandle>>();
  /** The range port, remembering who sent which bytes (planning bytes found wrong later convict their senders). */
  private readonly ranges: RangePort<PeerHandle>;
  private readonly dropping = new WeakSet<PeerHandle>(); // handles banned or stalled and not closed yet: no second verdict
  private readonly gone: string[] = []; // handles gone, and why: named when a fetch fails
  private reclaim: PieceIndex[] = [];
  private readonly later = new LaterReclaims();
  private peers: PeerFacts | undefined;
  private plan: PlanFacts | undefined;
  private piecesLeft = 0; // the picker may still hand out after the last one it did (endgame waits for 0)
  private picker: PiecePicker | undefined; // the pieces that need the network and are not handed out yet (handOut)
  private readonly started = new Set<PieceIndex>();
  private readonly finished = new Set<PieceIndex>();
  private readonly ahead: AheadPieces; // pieces taken ahead for idle web seeds (look-ahead.ts)
  private turnDue = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly warn: WarningSink;
  /** Payload bytes received from every source. */
  downloaded = 0;
  lateBytes = 0; // of those, bytes nobody wanted when they came: endgame's repeats another source sent first, asks withdrawn too late

  constructor(readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.warn = opts.onWarning ?? ignoreWarnings;
    this.ahead = new AheadPieces(opts.length, opts.pieceLength);
    this.ranges = new RangePort(opts.pieceLength, (p, list) => this.fetch(p, list));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Pieces assemble works on at once. */
  get concurrency(): number | undefined {
    return pieceWindow(this.opts.pieceLength, { peers: this.opts.withPeers ?? false, webSeeds: this.opts.webSeeds ?? 0 });
  }

  /** Peers are connected (look-ahead leaves them the pieces leechers trade): network pieces start beside local ones. */
  get interleavesLocal(): boolean {
    return (this.peers?.connected ?? 0) > 0;
  }

  /** Adds a source; it reports through this engine from now on. */
  add(h: PeerHandle & { attach(sink: HandleSink): void }): void {
    if (this.stopped) return;
    this.health.set(h, freshHealth(this.now()));
    h.attach(this);
    this.wake();
  }

  /** The BitTorrent side (availability, discovery). */
  attachPeers(facts: PeerFacts): void {
    this.peers = facts;
    if (this.picker) for (const p of allPieces(Math.ceil(this.opts.length / this.opts.pieceLength))) this.picker.changed(p);
  }

  /** How many peers have piece p changed (the picker keeps its order up to date). */
  availabilityChanged(p: PieceIndex): void {
    this.picker?.changed(p);
  }

  /** The plan is known: partial-first order and look-ahead. */
  planned(facts: PlanFacts): void {
    this.plan = facts;
    this.wake();
  }

  /** A leecher announced piece p: its blocks asked only of seed peers go to leechers. */
  announced(p: PieceIndex): void {
    this.reclaim.push(p);
    this.wake();
  }

  // ---- the piece-fetch port ----

  fetch(piece: PieceIndex, ranges: readonly Span[], opts: FetchOptions<PeerHandle> = {}): Promise<Fetched<PeerHandle>> {
    if (this.stopped) return Promise.reject(new IsosyncError('CANCELLED', `Cannot fetch piece ${piece}: the download stopped`, { piece }));
    if (opts.avoid?.size || opts.oneSource) {
      const r = this.rules.get(piece);
      this.rules.set(piece, { avoid: new Set([...(r?.avoid ?? []), ...(opts.avoid ?? [])]), oneSource: opts.oneSource ?? false });
    }
    const base = piece * this.opts.pieceLength;
    const size = Math.min(this.opts.pieceLength, this.opts.length - base);
    const blocks = requestsFor(piece, size, ranges.map((r) => ({ start: r.start - base, end: r.end - base })));
    const ahead = this.ahead.holds(piece);
    const p = this.wants.add(piece, ranges, blocks, this.opts.pieceLength, (b) => this.book.want(b, ahead), opts.into);
    this.started.add(piece);
    // A piece no live source has may fail at once (when no source can come): no need to wait for the tick.
    if (![...this.health.keys()].some((h) => h.has(piece))) this.checkSources(this.now());
    this.wake();
    return p;
  }

  convict(who: PeerHandle, why: string): void {
    const h = this.health.get(who);
    if (!h || this.dropping.has(who)) return;
    const verdict = onConviction(h, who.kind);
    if (verdict === 'drop') return who.drop(why);
    if (verdict === 'strike') return this.say('PEER_STRIKE', who, why);
    this.say('PEER_BANNED', who, `banned: it ${why} (${h.strikes} bad pieces)`);
    this.dropping.add(who);
    who.drop('banned');
  }

  handOut(remaining: readonly PieceIndex[]): () => PieceIndex | undefined {
    // Levels count leechers only: a seed adds one to every piece alike (PiecePicker.next is told whether one is there).
    const level = (p: PieceIndex) => (this.peers ? this.peers.availability(p) - this.peers.seeds : 0);
    const picker = (this.picker = new PiecePicker(remaining, { level, missingBytes: (p) => this.plan?.missingBytes(p) ?? this.opts.pieceLength }, this.random));
    this.piecesLeft = picker.size;
    return () => {
      // Pieces taken ahead for idle web seeds first, in the order taken (look-ahead.ts).
      const ahead = this.ahead.next((p) => picker.has(p));
      if (ahead !== undefined) picker.take(ahead);
      const p = ahead ?? picker.next((this.peers?.connected ?? 0) > 0, (this.peers?.seeds ?? 0) > 0);
      this.piecesLeft = picker.size;
      if (p !== undefined) this.started.add(p);
      return p;
    };
  }

  done(piece: PieceIndex): void {
    this.finished.add(piece);
    this.later.drop(piece);
    this.dropAhead(this.ahead.release(piece));
    this.wants.release(piece);
    this.rules.delete(piece);
  }

  /** Blocks wanted ahead that no fetch waits for are not wanted any more. */
  private dropAhead(blocks: readonly Block[]): void {
    for (const b of blocks) if (!this.wants.waitedFor(b)) this.unwant(b);
  }

  // ---- the range port (target metadata while planning: ranges may cross pieces; range-port.ts) ----

  fetchRange = (start: number, end: number): Promise<Uint8Array> => this.ranges.fetchRange(start, end);
  fetchRanges = (ranges: readonly Span[]): Promise<Uint8Array[]> => this.ranges.fetchRanges(ranges);
  sentRange = (span: Span): Blame<PeerHandle>[number][] => this.ranges.sentRange(span);

  // ---- what handles report (HandleSink) ----

  block(h: PeerHandle, b: Block, bytes: Uint8Array): void {
    this.downloaded += bytes.length;
    const health = this.health.get(h);
    if (health) onBlock(health, this.now(), bytes.length);
    if (!this.book.isWanted(b)) {
      this.lateBytes += bytes.length; // a late copy: another source was first
      return this.wake();
    }
    this.opts.onReceived?.(b, bytes);
    // Indexed loops on the per-block paths: unoptimized code allocates an iterator result per step of a for-of.
    const others = this.book.drop(b);
    for (let i = 0; i < others.length; i++) if (others[i] !== h) others[i]!.cancel([b]);
    this.wants.deliver(b, bytes, h, this.ahead.isTaken(b.piece) || this.started.has(b.piece));
    this.wake();
  }

  inPlace(_h: PeerHandle, piece: PieceIndex, offset: number, length: number): Uint8Array | undefined {
    return this.wants.inPlace(piece, offset, length);
  }

  failed(h: PeerHandle, blocks: readonly Block[], _why: FailReason): void {
    for (const b of blocks) this.book.release(b, h);
    this.wake();
  }

  changed(): void {
    this.wake();
  }

  closed(h: PeerHandle, reason: string): void {
    if (!this.health.delete(h)) return;
    this.book.releaseHandle(h);
    this.gone.push(`${h.id} (${reason})`);
    for (const [p, r] of this.rules) if (r.pinned === h) this.rules.set(p, { ...r, pinned: undefined });
    if (h.kind === 'web' && ![...this.health.keys()].some((o) => o.kind === 'web')) {
      // Nothing takes blocks ahead any more: they must not hold endgame back.
      this.dropAhead(this.ahead.releaseAll());
    }
    this.checkSources(this.now());
    this.wake();
  }

  // ---- turns ----

  /** Schedules a turn after the I/O of this one (asks made together leave together). */
  private wake(): void {
    if (this.turnDue || this.stopped) return;
    this.turnDue = true;
    setImmediate(() => {
      this.turnDue = false;
      if (!this.stopped) this.turn();
    });
  }

  private turn(): void {
    const now = this.now();
    // While fetches wait, the tick keeps the process alive: it is what fails them when no source can come.
    if (this.wants.size > 0) this.timer.ref();
    else this.timer.unref();
    this.takeAhead();
    const sources: SourceView<PeerHandle>[] = [];
    for (const [h, health] of this.health) {
      const rate = rateOf(health.meter, now);
      const capacity = h.capacity(this.book.askedCount(h), rate);
      sources.push({ handle: h, kind: h.kind, complete: h.complete, ready: h.ready, capacity, has: (p) => h.has(p), strikes: health.strikes, keepsUp: health.timeouts === 0, rate, inFlight: this.book.askedBytes(h) });
    }
    for (const p of this.later.due(sources)) this.reclaim.push(p);
    const d = scheduleTurn({ book: this.book, sources, now, endgame: this.piecesLeft === 0, rules: this.rules, reclaim: this.reclaim, pieceLength: this.opts.pieceLength, ahead: (p) => this.ahead.holds(p) });
    this.reclaim = [];
    this.later.keep(d.reclaimLater);
    for (const [p, h] of d.pins) this.rules.set(p, { ...this.rules.get(p), pinned: h });
    for (const c of d.cancels) {
      for (const b of c.blocks) this.book.release(b, c.handle);
      c.handle.cancel(c.blocks);
    }
    for (let i = 0; i < d.asks.length; i++) {
      const a = d.asks[i]!;
      for (let j = 0; j < a.blocks.length; j++) this.book.asked(a.blocks[j]!, a.handle, now);
      a.handle.request(a.blocks);
    }
    for (const [h, health] of this.health) setBusy(health.meter, this.book.askedCount(h) > 0, now);
  }

  /** Idle web-seed room, and a seed peer's beside it, takes the sure bytes of the next pieces (look-ahead.ts). */
  private takeAhead(): void {
    const plan = this.plan;
    if (!plan || plan.aheadCandidates.length === 0) return;
    const webRooms: number[] = [];
    const seedRates: (number | undefined)[] = [];
    for (const [h, health] of this.health) {
      const rate = h.ready && h.complete && health.timeouts === 0 ? rateOf(health.meter, this.now()) : undefined;
      if (h.ready && h.kind === 'web') webRooms.push(h.capacity(this.book.askedCount(h)).bytes);
      else if (h.ready && h.complete && health.timeouts === 0 && h.capacity(this.book.askedCount(h), rate).blocks > 0) seedRates.push(rate);
    }
    const room = aheadRoom(webRooms, seedRates, this.book.unaskedBytes);
    if (room <= 0) return;
    // With leechers, only pieces no peer has: the rest are the swarm's to trade (look-ahead.ts); with seeds only, all.
    const peers = this.peers, seeds = peers?.seeds ?? 0, connected = peers?.connected ?? 0; // once, not per piece: each walks the links
    const out = (p: PieceIndex) => this.started.has(p) || this.finished.has(p) || (peers !== undefined && leftToPeers(peers.availability(p), seeds, connected));
    for (const b of this.ahead.take(plan, room, out)) this.book.want(b, true);
  }

  // ---- every TICK_MS: overdue asks, stalled sources, pieces nobody has ----

  private tick(): void {
    const now = this.now();
    const timeout = this.opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const late = lateAsks(this.book.entries(), now, timeout);
    for (const [h, l] of late) {
      const all = [...l.timedOut, ...l.choked];
      for (const b of all) this.book.release(b, h);
      h.cancel(all);
      if (l.timedOut.length === 0) continue;
      h.timedOut?.(l.timedOut);
      const health = this.health.get(h);
      if (health && onTimeouts(health, now, timeout) === 'stalled') {
        if (this.dropping.has(h)) continue;
        this.dropping.add(h);
        this.say('PEER_STALLED', h, `dropped: it stalls (no block in ${Math.round((now - health.lastBlockAt) / 1000)} s)`);
        h.drop('stalled');
      }
    }
    this.checkSources(now);
    if (late.size > 0 || this.book.unaskedCount > 0) this.wake();
  }

  /**
   * Fails the fetches whose piece no live source has: at once when no source
   * can still bring it, after noPeerMs while one may (a peer being dialed or
   * announced, or a connected peer that does not have every piece: a leecher
   * may get it, a BEP 16 super-seed reveals pieces one by one).
   */
  private checkSources(now: number): void {
    const discovering = (this.peers?.discovering() ?? false) || [...this.health.keys()].some((h) => h.kind === 'peer' && !h.complete);
    const limit = discovering ? (this.opts.noPeerMs ?? NO_PEER_MS) : 0;
    for (const w of this.wants.pending()) {
      if ([...this.health.keys()].some((h) => h.has(w.piece))) {
        w.orphanSince = undefined;
        continue;
      }
      w.orphanSince ??= now;
      if (now - w.orphanSince >= limit) this.fail(w, discovering);
    }
  }

  private fail(w: Want<PeerHandle>, waited: boolean): void {
    const live = [...this.health.keys()].map((h) => `${h.id} (does not have it)`);
    const tried = [...live, ...this.gone, ...(this.peers?.unreachable?.() ?? [])];
    const list = tried.length === 0 ? 'no source at all' : tried.slice(0, 8).join('; ') + (tried.length > 8 ? `; and ${tried.length - 8} more` : '');
    const why = waited ? `no source sent it in ${Math.round((this.opts.noPeerMs ?? NO_PEER_MS) / 1000)} s` : 'no live source has it';
    this.wants.fail(w, new IsosyncError('NETWORK', `Cannot fetch piece ${w.piece}: ${why} (tried: ${list})`, { piece: w.piece, tried }), (b) => this.unwant(b));
  }

  /** Nobody waits for `b` any more: stop asking for it. */
  private unwant(b: Block): void {
    for (const h of this.book.drop(b)) h.cancel([b]);
  }

  private say(code: WarningCode, h: PeerHandle, detail: string): void {
    this.warn({ code, source: h.id, detail });
  }

  /** Stops: every pending fetch fails (CANCELLED); sources are the caller's to close. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of this.wants.pending()) this.wants.fail(w, new IsosyncError('CANCELLED', `Cannot fetch piece ${w.piece}: the download stopped`, { piece: w.piece }), (b) => this.unwant(b));
  }

  /** Sources by id with the bytes the engine has had from them (report). */
  get sources(): readonly PeerHandle[] {
    return [...this.health.keys()];
  }
}
