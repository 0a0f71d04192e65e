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
import { IsosyncError } from '../errors.js';
import { bridgeSpans } from '../core/span.js';
import { sourceOf, type WarningSink } from '../core/warnings.js';
import { NO_CAPACITY, type ByteGate, type Capacity } from '../engine/handle.js';
import { MirrorHandle, type MirrorAsk, type MirrorHost, type MirrorLoad, type MirrorTransport } from '../webseed/mirror-handle.js';
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

/** An FTP mirror: the mirror handle (webseed/mirror-handle.ts) over FTP control connections. */
export class FtpPeer extends MirrorHandle {
  constructor(url: string, fileLength: number, pieceLength: number, opts: FtpPeerOptions = {}) {
    const endpoint = parseFtpUrl(url);
    super(url, sourceOf.webSeed(url), fileLength, pieceLength, (host) => new FtpTransfers(host, endpoint, opts), opts);
  }
}

class FtpTransfers implements MirrorTransport {
  private readonly path: string;
  private readonly idle: FtpControl[] = [];
  private readonly all = new Set<FtpControl>();
  private sized: Promise<void> | undefined;
  private readonly stallMs: number;
  private readonly slots: number;
  private readonly gate: ByteGate | undefined;

  constructor(
    private readonly host: MirrorHost,
    private readonly endpoint: ReturnType<typeof parseFtpUrl>,
    opts: FtpPeerOptions,
  ) {
    // RFC 1738: the URL path is relative to the login directory.
    this.path = endpoint.path.replace(/^\/+/, '');
    this.stallMs = opts.stallMs ?? STALL_MS;
    this.slots = Math.max(1, opts.connections ?? CONNECTIONS);
    this.gate = opts.gate;
  }

  capacity(load: MirrorLoad): Capacity {
    if (load.inFlight >= this.slots) return NO_CAPACITY;
    return { blocks: Infinity, bytes: REQUEST_BYTES, runs: MAX_RUNS };
  }

  close(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
  }

  /** A logged-in connection: an idle one, or a new one (the first checks the file's size). */
  private async connection(): Promise<FtpControl> {
    const { url, fileLength } = this.host;
    for (;;) {
      const c = this.idle.pop();
      if (!c) break;
      if (c.usable) return c;
      this.all.delete(c);
    }
    const c = await FtpControl.open(this.endpoint, url, this.stallMs);
    this.all.add(c);
    if (!this.host.alive) {
      c.close();
      throw new IsosyncError('CANCELLED', `FTP mirror ${url} was dropped`);
    }
    this.sized ??= c.size(this.path).then((n) => {
      if (n !== fileLength) throw new IsosyncError('BAD_REPLY', `FTP mirror ${url} failed: the file is ${n} bytes, the torrent says ${fileLength}`, { url, reason: `the file is ${n} bytes, the torrent says ${fileLength}` });
    });
    await this.sized;
    return c;
  }

  /** Each run a REST + RETR on one connection; the blocks still wanted and missing at the end go back. */
  async fetch(ask: MirrorAsk): Promise<void> {
    const host = this.host;
    const runs = bridgeSpans(ask.runs, READ_THROUGH_BYTES);
    const unwanted = () => ask.unwanted();
    let conn: FtpControl | undefined;
    try {
      conn = await this.connection();
      host.requests++;
      for (const r of runs) {
        if (!host.alive || unwanted()) break;
        let got = 0;
        await conn.retrieve(this.path, r.start, r.end, host.fileLength, (offset, bytes) => {
          got += bytes.length;
          host.received += bytes.length;
          ask.filler.put(offset, bytes);
        }, unwanted, this.gate);
        host.bytes += got;
      }
      if (host.alive && conn.usable) this.idle.push(conn);
    } catch (e) {
      if (conn) this.all.delete(conn);
      throw e;
    }
  }
}
