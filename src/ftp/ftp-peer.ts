/**
 * An FTP mirror (`--mirror ftp://host/path/image.iso`, or an ftp:// URL in a
 * torrent's url-list) as a source of the one download engine, like an HTTP
 * web seed (webseed/web-peer.ts): a peer that has every piece, never chokes,
 * and has CONNECTIONS request slots, one control connection each (control.ts).
 *
 * One turn's asks leave as one request on one connection: their blocks
 * joined into ranges, each range a REST + RETR ended early. Blocks go to the
 * engine as their last byte arrives (webseed/block-filler.ts). The same
 * rules as an HTTP mirror: a file of another size than the torrent says, an
 * error reply, a closed or stalled connection, or bytes a piece hash proved
 * wrong (the engine convicts it) drop the mirror with a warning, and its
 * asks go to the other sources. Nothing here is trusted: pieces are verified
 * by the caller. With --download-limit, the bytes take from the one bucket
 * the peers and HTTP web seeds share (control.ts pauses the data
 * connection while they wait).
 */
import { asIsosyncError, IsosyncError } from '../errors.js';
import { bridgeSpans, mergeSpans } from '../core/span.js';
import { ignoreWarnings, sourceOf, type WarningSink } from '../core/warnings.js';
import { blockSpan, keyOf, type Block } from '../engine/block.js';
import { NO_CAPACITY, type ByteGate, type Capacity, type HandleSink, type PeerHandle } from '../engine/handle.js';
import { BlockFiller } from '../webseed/block-filler.js';
import { FtpControl } from './control.js';
import { parseFtpUrl } from './reply.js';

/** Control connections per FTP mirror: enough to fill a link, few enough for servers that limit clients per address. */
export const CONNECTIONS = 4;
/** Bytes one request asks at most (as an HTTP web seed's). */
export const REQUEST_BYTES = 4 * 1024 * 1024;
/** Ranges one request may hold: each is a REST + RETR on the same connection. */
export const MAX_RUNS = 16;
export const STALL_MS = 20_000;
/**
 * Ranges of one request closer than this are read as one transfer, the
 * bytes between them dropped: every transfer ended early costs what the
 * server had sent into the connection's buffers by then (on loopback
 * several MiB; on a real link about one bandwidth-delay product), so reading
 * through a short gap is cheaper than a new REST + RETR.
 */
export const READ_THROUGH_BYTES = 1024 * 1024;

export interface FtpPeerOptions {
  readonly stallMs?: number;
  readonly connections?: number;
  readonly onWarning?: WarningSink;
  /** The download limit, shared with the peers and the HTTP web seeds (engine/handle.ts ByteGate). */
  readonly gate?: ByteGate;
}

export class FtpPeer implements PeerHandle {
  readonly kind = 'web' as const;
  readonly complete = true;
  readonly id: string;
  /** Bytes of ranges that completed. */
  bytes = 0;
  /** Bytes received so far. */
  received = 0;
  requests = 0;
  alive = true;
  failure: string | undefined;
  private readonly endpoint: ReturnType<typeof parseFtpUrl>;
  private readonly path: string;
  private readonly idle: FtpControl[] = [];
  private readonly all = new Set<FtpControl>();
  private inFlight = 0;
  private sized: Promise<void> | undefined;
  private sink: HandleSink | undefined;
  private readonly cancelled = new Set<string>();
  private readonly stallMs: number;
  private readonly slots: number;
  private readonly warn: WarningSink;
  private readonly gate: ByteGate | undefined;

  constructor(
    readonly url: string,
    readonly fileLength: number,
    readonly pieceLength: number,
    opts: FtpPeerOptions = {},
  ) {
    this.endpoint = parseFtpUrl(url);
    // RFC 1738: the URL path is relative to the login directory.
    this.path = this.endpoint.path.replace(/^\/+/, '');
    this.id = sourceOf.webSeed(url);
    this.stallMs = opts.stallMs ?? STALL_MS;
    this.slots = Math.max(1, opts.connections ?? CONNECTIONS);
    this.warn = opts.onWarning ?? ignoreWarnings;
    this.gate = opts.gate;
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
    if (!this.alive || this.inFlight >= this.slots) return NO_CAPACITY;
    return { blocks: Infinity, bytes: REQUEST_BYTES, runs: MAX_RUNS };
  }

  request(blocks: readonly Block[]): void {
    if (!this.alive || blocks.length === 0) return;
    this.inFlight++;
    void this.fetchBlocks(blocks).finally(() => {
      this.inFlight--;
      if (this.alive) this.sink?.changed(this);
    });
  }

  cancel(blocks: readonly Block[]): void {
    // Bytes on their way are dropped when they arrive; a range nobody wants any more ends early.
    for (const b of blocks) this.cancelled.add(keyOf(b));
  }

  drop(why: string): void {
    if (!this.alive) return;
    this.failure = why;
    this.warn({ code: 'WEB_SEED_DROPPED', source: this.id, detail: `dropped: ${why}` });
    this.close(why);
  }

  close(why = 'closed'): void {
    if (!this.alive) return;
    this.alive = false;
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
    this.sink?.closed(this, why);
  }

  /** A logged-in connection: an idle one, or a new one (the first checks the file's size). */
  private async connection(): Promise<FtpControl> {
    for (;;) {
      const c = this.idle.pop();
      if (!c) break;
      if (c.usable) return c;
      this.all.delete(c);
    }
    const c = await FtpControl.open(this.endpoint, this.url, this.stallMs);
    this.all.add(c);
    if (!this.alive) {
      c.close();
      throw new IsosyncError('CANCELLED', `FTP mirror ${this.url} was dropped`);
    }
    this.sized ??= c.size(this.path).then((n) => {
      if (n !== this.fileLength) throw new IsosyncError('BAD_REPLY', `FTP mirror ${this.url} failed: the file is ${n} bytes, the torrent says ${this.fileLength}`, { url: this.url, reason: `the file is ${n} bytes, the torrent says ${this.fileLength}` });
    });
    await this.sized;
    return c;
  }

  private async fetchBlocks(blocks: readonly Block[]): Promise<void> {
    const items = blocks.map((block) => ({ block, span: blockSpan(block, this.pieceLength) }));
    const filler = new BlockFiller(items, (b, bytes) => {
      if (this.cancelled.delete(keyOf(b)) || !this.alive) return;
      this.sink?.block(this, b, bytes);
    });
    const runs = bridgeSpans(mergeSpans(items.map((i) => i.span)), READ_THROUGH_BYTES);
    const unwanted = () => filler.missing().every((b) => this.cancelled.has(keyOf(b)));
    let conn: FtpControl | undefined;
    let missing: Block[] = [];
    try {
      conn = await this.connection();
      this.requests++;
      for (const r of runs) {
        if (!this.alive || unwanted()) break;
        let got = 0;
        await conn.retrieve(this.path, r.start, r.end, this.fileLength, (offset, bytes) => {
          got += bytes.length;
          this.received += bytes.length;
          filler.put(offset, bytes);
        }, unwanted, this.gate);
        this.bytes += got;
      }
      if (this.alive && conn.usable) this.idle.push(conn);
      // Ranges ended because nobody wanted them any more are no failure; blocks still wanted and missing go back.
      missing = filler.missing().filter((b) => !this.cancelled.has(keyOf(b)));
    } catch (e) {
      if (conn) this.all.delete(conn);
      if (!this.alive) return;
      const err = asIsosyncError(e, 'NETWORK', { url: this.url });
      this.drop(typeof err.fields['reason'] === 'string' ? err.fields['reason'] : err.message);
      return;
    } finally {
      for (const b of blocks) this.cancelled.delete(keyOf(b));
    }
    if (missing.length > 0 && this.alive) this.sink?.failed(this, missing, 'error');
  }
}
