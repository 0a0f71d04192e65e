/**
 * The HTTP front end of `isosync tracker`: a small HTTP/1.1 server for the
 * one kind of request a tracker gets, a GET of a short URL with no body, on
 * Node's TCP handles (tcp-links.ts). node:http cost most of each announce
 * (a parser, an IncomingMessage, a ServerResponse and their streams per
 * request); here a request is one `indexOf` for the blank line, one header
 * scan and one write, and a connection closed after its reply is closed at
 * once unless the client may still be sending (then it lingers).
 *
 * What it implements (RFC 9112): request line and header fields; keep-alive
 * by default on HTTP/1.1, close on HTTP/1.0 unless asked, `Connection:
 * close` honoured; pipelined requests answered in order; a request body
 * (Content-Length) skipped; `Transfer-Encoding` (a body of unknown length)
 * answered, then the connection closed. Bounds: a request head over
 * MAX_HEAD_BYTES gets 431, a malformed one 400, and both close; a request
 * not complete within the headers timeout gets 408 and is closed, an idle
 * keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS. Timeouts are
 * checked by one timer for all connections (as node:http does), not one
 * timer per socket.
 */
import { ALLOWED_METHODS, type Tracker } from './server.js';
import { listenLinks, type Link, type LinkEvents, type Listening } from './tcp-links.js';

/** node:http's default limit on a request head; an announce is a few hundred bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Replies queued to a client that does not read them: beyond this, its requests wait (backpressure). */
const MAX_QUEUED_REPLY_BYTES = 1024 * 1024;
/** A body a tracker request might carry and we skip (a POST to a tracker path gets 405); more closes the connection. */
const MAX_SKIPPED_BODY_BYTES = 64 * 1024;

interface Conn {
  readonly link: Link;
  buf: Buffer | undefined;
  /** Bytes of a request body still to skip. */
  skip: number;
  /** When the connection is closed if nothing completes, or if a closing one lingers (ms since epoch). */
  deadline: number;
  /** Whether the pending deadline is a headers timeout (408) rather than an idle keep-alive timeout. */
  partial: boolean;
  closing: boolean;
}

export interface LeanHttpOptions {
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

const NOT_FOUND = Buffer.from('not a tracker path: use /announce or /scrape\n');
const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large',
};

/** One request head, parsed; `undefined` fields mean "absent". */
interface Head {
  readonly method: string;
  readonly target: string;
  readonly keepAlive: boolean;
  readonly contentLength: number;
  readonly chunked: boolean;
}

/** Parses `head` (without its final CRLF CRLF); returns undefined when it is not an HTTP/1.x request. */
export function parseHead(head: string): Head | undefined {
  const eol = head.indexOf('\r\n');
  const line = eol < 0 ? head : head.slice(0, eol);
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0) return undefined;
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return undefined;
  if (!/^[A-Z]+$/.test(method) || !/^[\x21-\x7e]+$/.test(target)) return undefined;
  let keepAlive = version === 'HTTP/1.1';
  let contentLength = 0;
  let chunked = false;
  let at = eol < 0 ? head.length : eol + 2;
  while (at < head.length) {
    let end = head.indexOf('\r\n', at);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', at);
    if (colon <= at || colon > end) return undefined;
    const name = head.slice(at, colon).toLowerCase();
    if (name.length > 0 && name.length <= 17) {
      const value = head.slice(colon + 1, end).trim().toLowerCase();
      if (name === 'connection') {
        const tokens = value.split(',').map((t) => t.trim());
        if (tokens.includes('close')) keepAlive = false;
        else if (tokens.includes('keep-alive')) keepAlive = true;
      } else if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return undefined;
        contentLength = Number(value);
      } else if (name === 'transfer-encoding') chunked = true;
    }
    at = end + 2;
  }
  return { method, target, keepAlive, contentLength, chunked };
}

function response(status: number, body: Uint8Array, keepAlive: boolean, headOnly: boolean, extra = ''): Buffer {
  const head =
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
    `${status === 200 ? 'Cache-Control: no-store\r\n' : ''}${extra}Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
  if (headOnly) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, 'latin1');
  out.set(body, head.length);
  return out;
}

export class LeanHttpServer implements LinkEvents<Conn> {
  private readonly conns = new Set<Conn>();
  private readonly timer: NodeJS.Timeout;
  private listening: Listening | undefined;

  constructor(
    private readonly tracker: Tracker,
    private readonly opts: LeanHttpOptions,
  ) {
    // Node checks its own HTTP timeouts on such a period; a short one makes slow clients go promptly.
    this.timer = setInterval(() => this.sweep(Date.now()), Math.min(1000, opts.headersTimeoutMs));
    this.timer.unref();
  }

  /** Listens on host:port (0: any free port); returns the port. `useNet`: node:net rather than Node's TCP handles (tcp-links.ts). */
  async listen(port: number, host: string, useNet = false): Promise<number> {
    this.listening = await listenLinks(host, port, this, useNet);
    return this.listening.port;
  }

  /** Stops accepting, drops every connection (replies in flight are cut, as node:http's closeAllConnections). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const c of [...this.conns]) c.link.destroy();
    this.conns.clear();
    await this.listening?.close();
  }

  opened(link: Link): Conn {
    const c: Conn = { link, buf: undefined, skip: 0, deadline: Date.now() + this.opts.keepAliveTimeoutMs, partial: false, closing: false };
    this.conns.add(c);
    return c;
  }

  drained(c: Conn): void {
    c.link.resume();
  }

  closed(c: Conn): void {
    this.conns.delete(c);
  }

  private sweep(now: number): void {
    for (const c of this.conns) {
      if (c.deadline === 0 || now < c.deadline) continue;
      if (c.closing) c.link.destroy();
      else if (c.partial) this.finish(c, response(408, new Uint8Array(0), false, false), true);
      else c.link.destroy();
    }
  }

  /** Sends the last reply; `linger` when the client may still be sending (a reset could lose the reply). */
  private finish(c: Conn, reply: Buffer, linger: boolean): void {
    c.closing = true;
    c.buf = undefined;
    // A lingering connection waits for the client to close, within the headers timeout.
    c.deadline = Date.now() + this.opts.headersTimeoutMs;
    c.link.end(reply, linger);
  }

  received(c: Conn, d: Buffer): void {
    if (c.closing) return;
    let buf = d;
    if (c.skip > 0) {
      const n = Math.min(c.skip, buf.length);
      c.skip -= n;
      buf = buf.subarray(n);
    }
    if (c.buf !== undefined) buf = Buffer.concat([c.buf, buf]);
    let at = 0;
    const replies: Buffer[] = [];
    let keepAlive = true;
    let chunked = false;
    while (at < buf.length && keepAlive) {
      const end = buf.indexOf('\r\n\r\n', at, 'latin1');
      if (end < 0) {
        if (buf.length - at > MAX_HEAD_BYTES) return this.finishAll(c, replies, response(431, new Uint8Array(0), false, false));
        break;
      }
      if (end - at > MAX_HEAD_BYTES) return this.finishAll(c, replies, response(431, new Uint8Array(0), false, false));
      const head = parseHead(buf.toString('latin1', at, end));
      if (!head) return this.finishAll(c, replies, response(400, new Uint8Array(0), false, false));
      at = end + 4;
      if (head.contentLength > MAX_SKIPPED_BODY_BYTES) return this.finishAll(c, replies, response(413, new Uint8Array(0), false, false));
      chunked = head.chunked;
      keepAlive = head.keepAlive && !chunked;
      const headOnly = head.method === 'HEAD';
      const a = this.tracker.answer(head.method, head.target, c.link.remoteAddress);
      replies.push(
        !a ? response(404, NOT_FOUND, keepAlive, headOnly)
          : a.status === 405 ? response(405, a.body, keepAlive, headOnly, `Allow: ${ALLOWED_METHODS}\r\n`)
            : response(200, a.body, keepAlive, headOnly),
      );
      const body = Math.min(head.contentLength, buf.length - at);
      at += body;
      c.skip = head.contentLength - body;
    }
    // Closing after a request read to its end (the usual announce): nothing more is coming, no need to linger.
    if (!keepAlive) return this.finishAll(c, replies, undefined, at < buf.length || c.skip > 0 || chunked);
    c.buf = at < buf.length ? Buffer.from(buf.subarray(at)) : undefined;
    // A request begun and not finished must complete within the headers timeout; an idle connection within the keep-alive one.
    const now = Date.now();
    const partial = c.buf !== undefined || c.skip > 0;
    if (partial !== c.partial || replies.length > 0) {
      c.partial = partial;
      c.deadline = now + (partial ? this.opts.headersTimeoutMs : this.opts.keepAliveTimeoutMs);
    }
    if (replies.length === 1) c.link.write(replies[0]!);
    else if (replies.length > 1) c.link.write(Buffer.concat(replies));
    if (c.link.queued > MAX_QUEUED_REPLY_BYTES) c.link.pause();
  }

  private finishAll(c: Conn, replies: Buffer[], last?: Buffer, linger = true): void {
    if (last) replies.push(last);
    this.finish(c, replies.length === 1 ? replies[0]! : Buffer.concat(replies), linger);
  }
}
