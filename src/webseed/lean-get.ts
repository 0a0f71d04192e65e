/**
 * A lean HTTP/1.1 GET for plain-http web seeds: each connection reads into
 * one reused buffer (node:net's `onread`), and a reply's body is handed on
 * as views of that buffer, valid only during the call (the caller copies
 * what it keeps: block-filler.ts with `transient`). node:http allocated a
 * 64 KiB buffer per socket read and then a copy of each body chunk (its
 * parser's on_body), both garbage for the collector: at a DVD sync's peak
 * ~19 MiB of its ~26 MiB of array buffers (heaptrack), and fragments of
 * glibc's heap after.
 *
 * What it speaks: one GET at a time per connection, keep-alive connections
 * kept per origin (unref'ed while idle, as node's agent does), replies
 * framed by Content-Length, chunked transfer coding or the connection's
 * end; 1xx replies skipped. A kept connection that closes before a byte of
 * its reply came is tried once more on a new one. Anything else (https, a
 * download limit) goes through node:http (web-peer.ts).
 */
import net from 'node:net';
import { IsosyncError } from '../errors.js';

/** A reply this client cannot read (reported to the caller as BAD_HTTP with its reason). */
const bad = (reason: string): IsosyncError => new IsosyncError('BAD_REPLY', reason, { reason });

/** Reply header bytes accepted at most. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Idle keep-alive connections kept per origin. */
const MAX_IDLE = 16;
/** Every connection reads into this (its reads are handled before the next one can land: one thread). */
const READ = Buffer.allocUnsafeSlow(64 * 1024);

export interface LeanReply {
  /** The status and the headers (names in lower case; repeated ones joined with ", "); false stops the request. */
  head(status: number, headers: ReadonlyMap<string, string>): boolean;
  /** Body bytes: a view valid only during the call. */
  body(bytes: Uint8Array): void;
  end(): void;
  /** A failure: `code` is a node-style error code (ECONNRESET, ...) or TIMEOUT, BAD_HTTP. */
  fail(code: string, message: string): void;
}

const enum Phase {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  UntilClose,
  Done,
}

class Conn {
  readonly socket: net.Socket;
  /** The request under way. */
  req: Req | undefined;
  /** Whether this connection served a reply before (a close before any byte of the next one is retried). */
  reused = false;
  gotBytes = false;
  private phase = Phase.Head;
  private head = Buffer.alloc(0);
  private left = 0;
  private keepAlive = true;
  private line = '';

  constructor(
    private readonly pool: LeanPool,
    host: string,
    port: number,
  ) {
    this.socket = net.connect({ host, port, onread: { buffer: READ, callback: (n: number, buf: Uint8Array) => this.onRead(buf, n) } });
    this.socket.setNoDelay(true);
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.lost(e.code ?? 'ECONNRESET', e.message));
    this.socket.on('end', () => this.lost('ECONNRESET', 'socket hang up'));
    this.socket.on('close', () => this.lost('ECONNRESET', 'socket hang up'));
    this.socket.on('timeout', () => this.lost('TIMEOUT', 'timed out', true));
  }

  private get reply(): LeanReply | undefined {
    return this.req?.reply;
  }

  start(req: Req, stallMs: number): void {
    this.req = req;
    this.phase = Phase.Head;
    this.head = Buffer.alloc(0);
    this.gotBytes = false;
    this.socket.setTimeout(stallMs);
    this.socket.ref();
    this.socket.write(req.text, 'latin1');
  }

  /** Stops the request under way; the connection is not reused. */
  destroy(): void {
    this.req = undefined;
    this.socket.destroy();
  }

  private lost(code: string, message: string, timeout = false): void {
    const req = this.req;
    this.pool.forget(this);
    if (!req) return void this.socket.destroy();
    if (!timeout && this.phase === Phase.UntilClose) return this.finish(false);
    this.req = undefined;
    this.socket.destroy();
    if (!timeout && this.reused && !this.gotBytes) return this.pool.retry(req);
    req.reply.fail(code, message);
  }

  private onRead(buf: Uint8Array, n: number): boolean {
    this.gotBytes = true;
    let i = 0;
    try {
      while (i < n && this.reply) i = this.step(buf, i, n);
      if (i < n && this.phase === Phase.Done) throw bad('bytes after the reply');
    } catch (e) {
      const r = this.reply;
      this.req = undefined;
      this.pool.forget(this);
      this.socket.destroy();
      r?.fail('BAD_HTTP', (e as Error).message);
    }
    return true;
  }

  /** Handles bytes from `i`; returns where it stopped. */
  private step(buf: Uint8Array, i: number, n: number): number {
    switch (this.phase) {
      case Phase.Head: {
        const from = Math.max(0, this.head.length - 3);
        this.head = Buffer.concat([this.head, buf.subarray(i, n)]);
        const end = this.head.indexOf('\r\n\r\n', from, 'latin1');
        if (end < 0) {
          if (this.head.length > MAX_HEAD_BYTES) throw bad('reply header too long');
          return n;
        }
        const used = n - (this.head.length - end - 4);
        this.onHead(this.head.toString('latin1', 0, end));
        this.head = Buffer.alloc(0);
        return used;
      }
      case Phase.Fixed:
      case Phase.ChunkData:
      case Phase.UntilClose: {
        const take = this.phase === Phase.UntilClose ? n - i : Math.min(this.left, n - i);
        this.reply!.body(buf.subarray(i, i + take));
        if (!this.reply) return n; // stopped by its reader
        this.left -= take;
        if (this.left === 0 && this.phase === Phase.Fixed) this.finish(this.keepAlive);
        else if (this.left === 0 && this.phase === Phase.ChunkData) this.phase = Phase.ChunkDataEnd;
        return i + take;
      }
      default:
        return this.chunkLine(buf, i, n);
    }
  }

  /** A line of the chunked coding (a size, the CRLF after a chunk's data, a trailer). */
  private chunkLine(buf: Uint8Array, i: number, n: number): number {
    let j = i;
    while (j < n && buf[j] !== 0x0a) j++;
    this.line += Buffer.from(buf.buffer, buf.byteOffset + i, j - i).toString('latin1');
    if (this.line.length > 4096) throw bad('chunk line too long');
    if (j === n) return n;
    const line = this.line.replace(/\r$/, '');
    this.line = '';
    if (this.phase === Phase.ChunkDataEnd) {
      if (line !== '') throw bad('no CRLF after a chunk');
      this.phase = Phase.ChunkSize;
    } else if (this.phase === Phase.ChunkSize) {
      const m = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line);
      if (!m) throw bad('bad chunk size');
      this.left = parseInt(m[1]!, 16);
      this.phase = this.left === 0 ? Phase.Trailer : Phase.ChunkData;
    } else if (line === '') this.finish(this.keepAlive);
    return j + 1;
  }

  private onHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!m) throw bad('not an HTTP/1 reply');
    const status = Number(m[2]);
    const headers = new Map<string, string>();
    for (let k = 1; k < lines.length; k++) {
      const c = lines[k]!.indexOf(':');
      if (c <= 0) throw bad('bad header line');
      const name = lines[k]!.slice(0, c).trim().toLowerCase();
      const value = lines[k]!.slice(c + 1).trim();
      const had = headers.get(name);
      headers.set(name, had === undefined ? value : `${had}, ${value}`);
    }
    if (status >= 100 && status < 200) return; // 100 Continue and the like: the reply follows
    const conn = (headers.get('connection') ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const te = headers.get('transfer-encoding');
    const cl = headers.get('content-length');
    if (te !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(te)) throw bad(`unsupported Transfer-Encoding ${te}`);
      this.phase = Phase.ChunkSize;
    } else if (cl !== undefined) {
      if (!/^\d{1,16}$/.test(cl)) throw bad(`bad Content-Length ${cl}`);
      this.left = Number(cl);
      this.phase = Phase.Fixed;
    } else this.phase = status === 204 || status === 304 ? Phase.Fixed : Phase.UntilClose;
    if (status === 204 || status === 304) this.left = 0;
    if (!this.reply!.head(status, headers) || !this.reply) {
      this.destroy();
      this.pool.forget(this);
      return;
    }
    if (this.phase === Phase.Fixed && this.left === 0) this.finish(this.keepAlive);
  }

  private finish(keep: boolean): void {
    const r = this.reply!;
    this.req = undefined;
    this.phase = Phase.Done;
    if (keep) this.pool.idle(this);
    else {
      this.pool.forget(this);
      this.socket.destroy();
    }
    r.end();
  }
}

/** One GET: its request text, its reply, and the connection it is on. */
class Req {
  conn: Conn | undefined;
  constructor(
    readonly text: string,
    readonly reply: LeanReply,
  ) {}
}

/** Connections to one origin (host and port). */
export class LeanPool {
  private readonly free: Conn[] = [];
  private readonly busy = new Set<Conn>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly stallMs: number,
  ) {}

  /** Sends a GET of `path` with `headers`; returns how to stop it. */
  get(path: string, headers: Record<string, string>, reply: LeanReply): { destroy(): void } {
    let text = `GET ${path} HTTP/1.1\r\nHost: ${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}\r\nConnection: keep-alive\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    const req = new Req(`${text}\r\n`, reply);
    this.send(req, true);
    return {
      // Stopped by its caller: the connection goes, and the reply fails (as node:http's request does when destroyed).
      destroy: () => {
        const c = req.conn;
        req.conn = undefined;
        if (c?.req !== req) return;
        c.destroy();
        this.forget(c);
        reply.fail('ECONNRESET', 'aborted');
      },
    };
  }

  private send(req: Req, mayReuse: boolean): void {
    const conn = (mayReuse ? this.free.pop() : undefined) ?? new Conn(this, this.host, this.port);
    this.busy.add(conn);
    req.conn = conn;
    conn.start(req, this.stallMs);
  }

  /** A kept connection closed before its reply began: once more on a new connection. */
  retry(req: Req): void {
    if (req.conn) this.send(req, false);
  }

  idle(c: Conn): void {
    this.busy.delete(c);
    c.reused = true;
    c.socket.setTimeout(0);
    c.socket.unref();
    if (this.free.length >= MAX_IDLE) c.socket.destroy();
    else this.free.push(c);
  }

  forget(c: Conn): void {
    this.busy.delete(c);
    const i = this.free.indexOf(c);
    if (i >= 0) this.free.splice(i, 1);
  }

  close(): void {
    for (const c of [...this.free, ...this.busy]) c.destroy();
    this.free.length = 0;
    this.busy.clear();
  }
}
