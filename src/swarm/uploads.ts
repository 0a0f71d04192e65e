/**
 * Serving peers' requests: checks each request, queues it, and serves it
 * from the store through the serve read-window (serve-window.ts), for
 * verified pieces only. With an upload limit or share-first, requests wait
 * in the upload queue (upload-queue.ts decides the order) and leave as the
 * token bucket allows; otherwise each peer's are served in the order they
 * came, as fast as its connection takes them (SEND_AHEAD_BYTES).
 */
import { asIsosyncError, IsosyncError } from '../errors.js';
import type { PieceIndex } from '../core/ids.js';
import { sourceOf, type WarningSink } from '../core/warnings.js';
import type { PeerLink } from './peer-link.js';
import type { TokenBucket } from './rate-limit.js';
import { MAX_BLOCK_BYTES } from './safe-wire.js';
import { ServeWindows } from './serve-window.js';
import { UploadQueue, type Queued } from './upload-queue.js';

/**
 * Requests a peer may have queued with us (advertised as BEP 10 `reqq`;
 * libtorrent's default). Transmission asks up to reqq blocks per round of
 * its request timer: at 500 that capped its download from us near 8 MB per
 * round. Queued requests hold no data (see SEND_AHEAD_BYTES).
 */
export const MAX_PEER_REQUESTS = 2000;
/**
 * Reply bytes a peer's connection may hold in this process beyond what the
 * kernel took (being read, or written and not yet flushed). Past it,
 * requests wait in line: a cancel still finds them there (a reply already
 * written cannot be taken back), and a deep pipeline costs no memory.
 * libtorrent's send-buffer watermark is 500 KB.
 */
export const SEND_AHEAD_BYTES = 512 * 1024;
/**
 * Reply bytes a peer's requests may have waiting on reads from the store at
 * once, apart from SEND_AHEAD_BYTES: replies are views into the serve
 * windows (serve-window.ts), so this bounds reads in flight, not copies.
 * Counted inside SEND_AHEAD_BYTES, a loopback seed held 512 KiB in reads
 * with an empty socket most of the time (each read a thread-pool round
 * trip, slow on a loaded machine).
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/**
 * Requests past `reqq` a peer may send before it counts as a flood. Some
 * clients pipeline past the reqq they were told (rtorrent does, by tens to
 * hundreds): such a request is rejected when the peer speaks BEP 6 (it asks
 * again later), else it waits in line and is served in turn. Each one counts
 * until the peer's queue is back under reqq; past this many it is dropped.
 */
export const MAX_OVERFLOW_REQUESTS = 1500;

type Respond = (err: Error | null, block?: Uint8Array) => void;

interface Upload extends Queued<PeerLink> {
  readonly piece: PieceIndex;
  readonly respond: Respond;
}

export interface UploaderOptions {
  readonly have: readonly boolean[];
  /** `into`: a buffer of `length` bytes to read into, if the store can (serve-window.ts). */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** The same bytes at once, when the store can (serve-window.ts). */
  readNow?(offset: number, length: number, into?: Uint8Array): Uint8Array;
  readonly pieceLength: number;
  pieceSize(p: PieceIndex): number;
  /** How much of piece p a peer may ask for, when more than pieceSize (BEP 52 pad of the last piece, served as zeros). */
  askable?(p: PieceIndex): number;
  readonly up: TokenBucket;
  readonly shareWaitMs: number;
  now(): number;
  /** `n` bytes were sent to `link`. */
  sent(link: PeerLink, n: number): void;
  readonly warn: WarningSink;
}

/** A peer's requests waiting for room in its connection, and the reply bytes not yet in its socket. */
interface Line {
  readonly held: Upload[];
  /** Bytes of replies being read. */
  reading: number;
  /** Bytes of replies written this turn: the wire hands them to the socket a tick later, where `sendBacklog` sees them. */
  written: number;
  /** A settle is due (after this turn: `written` is then in the socket). */
  settling: boolean;
}

export class Uploader {
  private readonly queue: UploadQueue<PeerLink, Upload>;
  private readonly lines = new Map<PeerLink, Line>();
  private readonly windows: ServeWindows;
  private seq = 0;
  private serving = false;
  /** A drain is due at the end of this turn (requestDrain). */
  private drainDue = false;
  private wake: NodeJS.Timeout | undefined;
  private wakeAt = 0;
  private closing = false;
  /** Requests past reqq each peer sent since its queue was last under it. */
  private readonly overflow = new WeakMap<PeerLink, number>();

  constructor(private readonly o: UploaderOptions) {
    this.queue = new UploadQueue(o.shareWaitMs);
    this.windows = new ServeWindows((a, n, into) => o.read(a, n, into), o.pieceLength, o.readNow, () => this.lines.size);
  }

  request(link: PeerLink, p: PieceIndex, offset: number, length: number, respond: Respond): void {
    if (length <= 0 || length > MAX_BLOCK_BYTES || offset + length > (this.o.askable?.(p) ?? this.o.pieceSize(p))) return link.wire.violation(`asked for ${length} bytes at ${offset} of piece ${p}`);
    if (link.wire.queuedRequests > MAX_PEER_REQUESTS) {
      const over = (this.overflow.get(link) ?? 0) + 1;
      this.overflow.set(link, over);
      if (over > MAX_OVERFLOW_REQUESTS) return link.wire.violation(`queued more than ${MAX_PEER_REQUESTS} requests, ${over} times over`);
      // BEP 6: a reject; the request is out of its queue at once.
      if (link.wire.hasFast) return respond(new IsosyncError('NETWORK', `Cannot serve piece ${p} now: more than ${MAX_PEER_REQUESTS} requests are queued`, { piece: p }));
    } else this.overflow.delete(link);
    if (!this.o.have[p]) return respond(new IsosyncError('NOT_FOUND', `Cannot serve piece ${p}: it is not verified here`, { piece: p }));
    const u: Upload = { peer: link, piece: p, offset, length, respond, seq: this.seq++, at: this.o.now() };
    if (this.o.up.unlimited && this.o.shareWaitMs <= 0) {
      const line = this.lineOf(link);
      line.held.push(u);
      return this.pump(link, line);
    }
    this.queue.push(u);
    this.requestDrain();
  }

  /**
   * One drain for all the requests of this turn: a drain scans the whole queue, and a peer's requests arrive many to a
   * read, so a drain per request cost the seed O(n²) (eight clients of one `isosync serve` queued ~3,000 held asks at
   * the end of an update, and the server's event loop stalled for seconds at a time).
   */
  private requestDrain(): void {
    if (this.drainDue) return;
    this.drainDue = true;
    setImmediate(() => {
      this.drainDue = false;
      void this.drain();
    });
  }

  cancel(link: PeerLink, p: number, offset: number, length: number): void {
    this.queue.cancel(link, p, offset, length);
    const held = this.lines.get(link)?.held;
    const i = held ? held.findIndex((u) => u.piece === p && u.offset === offset && u.length === length) : -1;
    if (i >= 0) held!.splice(i, 1);
  }

  /** A peer announced piece `p` (share first counts the wait of the others' asks from then). */
  announced(p: PieceIndex): void {
    if (this.o.shareWaitMs <= 0) return;
    this.queue.announced(p, this.o.now());
    if (this.queue.size > 0 && !this.serving) this.rearm();
  }

  /** `link` closed; a complete peer still counts as a holder for share-first. */
  left(link: PeerLink, complete: boolean): void {
    this.queue.left(link, complete, this.o.now());
    this.lines.delete(link);
    this.windows.trim();
  }

  /** `link`'s socket took all we wrote: its waiting requests may go. */
  drained(link: PeerLink): void {
    const line = this.lines.get(link);
    if (line) this.pump(link, line);
  }

  private lineOf(link: PeerLink): Line {
    let line = this.lines.get(link);
    if (!line) this.lines.set(link, (line = { held: [], reading: 0, written: 0, settling: false }));
    return line;
  }

  /** Serves `link`'s waiting requests in order while its connection holds less than SEND_AHEAD_BYTES. */
  private pump(link: PeerLink, line: Line): void {
    if (this.lines.get(link) !== line) return;
    if (link.closed || link.wire.amChoking || this.closing) {
      line.held.length = 0; // choking dropped (or rejected) its requests
      return;
    }
    let served = 0;
    while (served < line.held.length && link.sendBacklog + line.written < SEND_AHEAD_BYTES && line.reading < READ_AHEAD_BYTES) {
      const u = line.held[served++]!;
      this.queue.sent(link, u.piece);
      const ready = u.offset + u.length <= this.o.pieceSize(u.piece) ? this.windows.peek(u.piece, this.o.pieceSize(u.piece), u.offset, u.length) : undefined;
      if (ready) {
        this.answer(u, ready);
        line.written += u.length;
        this.settle(link, line);
        continue;
      }
      line.reading += u.length;
      void this.serve(u).finally(() => {
        line.reading -= u.length;
        line.written += u.length;
        this.settle(link, line);
      });
    }
    if (served > 0) line.held.splice(0, served);
  }

  /** After this turn, the replies written in it are in the socket's backlog: the line may go on. */
  private settle(link: PeerLink, line: Line): void {
    if (line.settling) return;
    line.settling = true;
    setImmediate(() => {
      line.settling = false;
      line.written = 0;
      this.pump(link, line);
    });
  }

  tick(): void {
    this.queue.expire(this.o.now());
  }

  /**
   * Serves queued requests, choosing each time the best one: one at a time
   * as the upload limit allows, or, unlimited, all that may go now. Requests
   * held back by share-first wake the loop when their wait ends.
   */
  private async drain(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      const live = (l: PeerLink) => !l.closed && !l.wire.amChoking;
      if (this.o.up.unlimited && !this.closing) for (const u of this.queue.takeReady(this.o.now(), live, (l) => !l.closed)) void this.serve(u);
      else
        for (let u = this.queue.next(this.o.now(), live, (l) => !l.closed); u && !this.closing; u = this.queue.next(this.o.now(), live, (l) => !l.closed)) {
          await this.o.up.take(u.length);
          await this.serve(u);
        }
    } finally {
      this.serving = false;
    }
    this.rearm();
  }

  /** Wakes the loop when the first held-back request may go (sooner than planned: a peer announced its piece). */
  private rearm(): void {
    const due = this.queue.nextWake();
    if (this.closing || due === undefined || (this.wake && this.wakeAt <= due)) return;
    if (this.wake) clearTimeout(this.wake);
    this.wakeAt = due;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      void this.drain();
    }, Math.max(1, due - this.o.now()));
    this.wake.unref();
  }

  private async serve(u: Upload): Promise<void> {
    const { peer: link, piece: p, offset, length } = u;
    try {
      const size = this.o.pieceSize(p);
      const real = Math.max(0, Math.min(length, size - offset));
      const content = real > 0 ? await this.windows.bytes(p, size, offset, real) : new Uint8Array(0);
      // Past the content (the BEP 52 pad of a v2-only torrent's last piece): zeros.
      this.answer(u, real === length ? content : padded(content, length));
    } catch (e) {
      const error = asIsosyncError(e, 'IO', { piece: p });
      this.o.warn({ code: 'SERVE_FAILED', source: sourceOf.peer(link.address), detail: `cannot serve piece ${p}: ${error.message}`, error });
      try {
        u.respond(error);
      } catch (e2) {
        link.wire.violation(`caused an internal error (${(e2 as Error).message})`);
      }
    }
  }

  /** Sends `bytes` for `u`, unless the peer no longer waits for them. */
  private answer(u: Upload, bytes: Uint8Array): void {
    const link = u.peer;
    if (link.closed || link.wire.amChoking || !link.wire.isQueued(u.piece, u.offset, u.length)) return;
    u.respond(null, bytes);
    this.o.sent(link, u.length);
  }

  close(): void {
    this.closing = true;
    this.lines.clear();
    if (this.wake) clearTimeout(this.wake);
    this.o.up.close();
  }
}

function padded(content: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(content);
  return out;
}
