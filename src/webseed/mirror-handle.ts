/**
 * A mirror as a source of the one engine: what an HTTP web seed
 * (web-peer.ts) and an FTP mirror (ftp/ftp-peer.ts) share. A mirror is a
 * peer that has every piece, never chokes, and has a few request slots;
 * the transport behind it (HTTP ranges, FTP REST + RETR) is injected.
 *
 * This core keeps the handle's books: the request slots in flight, the
 * bytes asked and not yet received, the measured rate, the asks withdrawn
 * (their bytes are dropped when they arrive, and a request with nothing
 * left that anyone wants is stopped), and the one way a mirror ends: a
 * failed transfer drops it with a warning, and every ask still out returns
 * to the scheduler. Each turn's asks become one MirrorAsk: its blocks
 * joined into runs, and a BlockFiller (block-filler.ts) that hands each
 * block to the engine the moment its last byte is in.
 */
import { asIsosyncError } from '../errors.js';
import { mergeSpans, type Span } from '../core/span.js';
import { ignoreWarnings, type WarningSink } from '../core/warnings.js';
import { blockSpan, keyOf, type Block } from '../engine/block.js';
import { NO_CAPACITY, type Capacity, type HandleSink, type PeerHandle } from '../engine/handle.js';
import { BlockFiller } from './block-filler.js';

/** One request slot's asks, as a transport serves them. */
export interface MirrorAsk {
  readonly blocks: readonly Block[];
  /** The blocks' byte spans joined where they touch, in file order. */
  readonly runs: readonly Span[];
  /** Where the transport puts the bytes it receives (any offset, any length). */
  readonly filler: BlockFiller;
  /** Every block it still misses was withdrawn: the transport stops. */
  readonly aborted: boolean;
  /** Runs `stop` when the ask is aborted (to end its transfers at once). */
  onAbort(stop: () => void): void;
  /** The blocks it misses that are still wanted. */
  wanted(): Block[];
  /** Whether every block it misses was withdrawn. */
  unwanted(): boolean;
}

/** What the transport is told of the load when it sizes the next request. */
export interface MirrorLoad {
  /** Requests in flight. */
  readonly inFlight: number;
  /** Bytes asked and not received yet. */
  readonly outstanding: number;
  /** Body bytes per second while requests were in flight (0 until bytes came). */
  readonly rate: number;
  /** Requests have been in flight less than MEASURE_MS in all: `rate` is not a measure yet. */
  readonly unmeasured: boolean;
}

/**
 * The rate counts at least this much time with requests in flight: the
 * first bytes of a fast mirror, come in a few ms, are not taken for its
 * rate (MirrorLoad.unmeasured until then).
 */
export const MEASURE_MS = 500;

/** Ask blocks without a request of their own (a stream the transport switched to, as a whole-file GET). */
export interface MirrorStream {
  ask(blocks: readonly Block[]): void;
  cancel(blocks: readonly Block[]): void;
}

/** How a mirror fetches bytes. */
export interface MirrorTransport {
  /** What the next request may hold (NO_CAPACITY when none may leave now). */
  capacity(load: MirrorLoad): Capacity;
  /**
   * Reads the ask's bytes into its filler. Resolves when done: blocks still
   * missing and wanted then go back to the engine, unless it resolves
   * 'kept' (the transport keeps them: a stream delivers them). A rejection
   * drops the mirror, unless it closed or the ask was aborted.
   */
  fetch(ask: MirrorAsk): Promise<void | 'kept'>;
  /** Set once asks go to a stream instead of requests. */
  readonly stream?: MirrorStream | undefined;
  /** Stops every transfer: the mirror closed. */
  close(): void;
}

/** What a transport may use of its mirror. */
export interface MirrorHost {
  readonly url: string;
  readonly id: string;
  readonly fileLength: number;
  readonly pieceLength: number;
  readonly alive: boolean;
  readonly warn: WarningSink;
  /** Counters the transport keeps: body bytes of completed transfers, bytes received so far, requests sent. */
  bytes: number;
  received: number;
  requests: number;
  /** A block the transport's stream delivered. */
  deliver(b: Block, bytes: Uint8Array): void;
  drop(why: string): void;
}

export interface MirrorOptions {
  readonly onWarning?: WarningSink;
  /** The clock of the rate measurement (ms). */
  readonly now?: () => number;
}

export class MirrorHandle implements PeerHandle, MirrorHost {
  readonly kind = 'web' as const;
  readonly complete = true;
  /** Body bytes of transfers that completed. */
  bytes = 0;
  /** Body bytes received so far, counted as they arrive (for rate displays). */
  received = 0;
  requests = 0;
  alive = true;
  /** Why it was dropped. */
  failure: string | undefined;
  readonly warn: WarningSink;
  private readonly transport: MirrorTransport;
  private readonly now: () => number;
  private sink: HandleSink | undefined;
  private inFlight = 0;
  private outstanding = 0;
  /** Time with a request in flight (ms) and since when: the measured rate. */
  private busyMs = 0;
  private busySince = 0;
  private readonly asks = new Set<Ask>();
  private readonly cancelled = new Set<string>();

  constructor(
    readonly url: string,
    readonly id: string,
    readonly fileLength: number,
    readonly pieceLength: number,
    transport: (host: MirrorHost) => MirrorTransport,
    opts: MirrorOptions = {},
  ) {
    this.warn = opts.onWarning ?? ignoreWarnings;
    this.now = opts.now ?? Date.now;
    this.transport = transport(this);
  }

  attach(sink: HandleSink): void {
    this.sink = sink;
  }

  has(): boolean {
    return this.alive;
  }

  get ready(): boolean {
    return this.alive;
  }

  capacity(): Capacity {
    if (!this.alive) return NO_CAPACITY;
    return this.transport.capacity(this.load);
  }

  /** Its load now: requests in flight, bytes outstanding, the measured rate (a sync's swarm starts when it falls behind: sync/swarm-start.ts). */
  get load(): MirrorLoad {
    const busy = this.busyMs + (this.inFlight > 0 ? this.now() - this.busySince : 0);
    const rate = busy > 0 ? (this.received * 1000) / Math.max(busy, MEASURE_MS) : 0;
    return { inFlight: this.inFlight, outstanding: this.outstanding, rate, unmeasured: busy < MEASURE_MS };
  }

  request(blocks: readonly Block[]): void {
    if (!this.alive || blocks.length === 0) return;
    const stream = this.transport.stream;
    if (stream) return stream.ask(blocks);
    if (this.inFlight++ === 0) this.busySince = this.now();
    void this.fetch(blocks).finally(() => {
      if (--this.inFlight === 0) this.busyMs += this.now() - this.busySince;
      if (this.alive) this.sink?.changed(this);
    });
  }

  cancel(blocks: readonly Block[]): void {
    const stream = this.transport.stream;
    if (stream) return stream.cancel(blocks);
    // The bytes are on their way already: they are dropped when they arrive,
    // and a request with nothing left that anyone wants is stopped.
    for (const b of blocks) this.cancelled.add(keyOf(b));
    for (const ask of this.asks) if (!ask.aborted && ask.unwanted()) ask.abort();
  }

  drop(why: string): void {
    if (!this.alive) return;
    this.failure = why;
    this.warn({ code: 'WEB_SEED_DROPPED', source: this.id, detail: `dropped: ${why}` });
    this.close(why);
  }

  /** Stops every transfer; the engine takes back what was asked. */
  close(why = 'closed'): void {
    if (!this.alive) return;
    this.alive = false;
    this.transport.close();
    this.sink?.closed(this, why);
  }

  deliver(b: Block, bytes: Uint8Array): void {
    if (this.alive) this.sink?.block(this, b, bytes);
  }

  private async fetch(blocks: readonly Block[]): Promise<void> {
    const items = blocks.map((block) => ({ block, span: blockSpan(block, this.pieceLength) }));
    let left = items.reduce((n, i) => n + i.block.length, 0);
    this.outstanding += left;
    const filler = new BlockFiller(items, (b, bytes) => {
      left -= b.length;
      this.outstanding -= b.length;
      // Withdrawn asks are rare: no key string per block while there are none.
      if ((this.cancelled.size > 0 && this.cancelled.delete(keyOf(b))) || !this.alive) return;
      this.sink?.block(this, b, bytes);
    });
    const ask = new Ask(blocks, mergeSpans(items.map((i) => i.span)), filler, this.cancelled);
    this.asks.add(ask);
    let missing: Block[] = [];
    try {
      if ((await this.transport.fetch(ask)) !== 'kept') missing = ask.wanted();
    } catch (e) {
      if (!this.alive || ask.aborted) return;
      const err = asIsosyncError(e, 'NETWORK', { url: this.url });
      this.drop(typeof err.fields['reason'] === 'string' ? err.fields['reason'] : err.message);
      return;
    } finally {
      this.asks.delete(ask);
      this.outstanding -= left;
      if (this.cancelled.size > 0) for (const b of blocks) this.cancelled.delete(keyOf(b));
    }
    if (missing.length > 0 && this.alive) this.sink?.failed(this, missing, 'error');
  }
}

class Ask implements MirrorAsk {
  aborted = false;
  private readonly stops: (() => void)[] = [];

  constructor(
    readonly blocks: readonly Block[],
    readonly runs: readonly Span[],
    readonly filler: BlockFiller,
    private readonly cancelled: ReadonlySet<string>,
  ) {}

  onAbort(stop: () => void): void {
    if (this.aborted) stop();
    else this.stops.push(stop);
  }

  unwanted(): boolean {
    return this.filler.missing().every((b) => this.cancelled.has(keyOf(b)));
  }

  wanted(): Block[] {
    const missing = this.filler.missing();
    return this.cancelled.size === 0 ? missing : missing.filter((b) => !this.cancelled.has(keyOf(b)));
  }

  abort(): void {
    this.aborted = true;
    for (const stop of this.stops.splice(0)) stop();
  }
}
