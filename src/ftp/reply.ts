/**
 * FTP replies (RFC 959 §4.2) and the passive-mode addresses in them, read
 * from the control connection's bytes as they arrive. Pure: no sockets.
 *
 *   single line   "227 Entering Passive Mode (127,0,0,1,195,80)\r\n"
 *   multi-line    "211-Features:\r\n EPSV\r\n211 End\r\n": the first line has
 *                 "ddd-", the last "ddd " with the same code.
 *   PASV          227 ... (h1,h2,h3,h4,p1,p2)             RFC 959 §4.1.2
 *   EPSV          229 ... (|||port|)                       RFC 2428 §3
 *
 * A server is not trusted: lines and replies are bounded, and a reply that
 * does not parse is a BAD_REPLY error.
 */
import { IsosyncError } from '../errors.js';

/** One line of a reply, at most: RFC 959 has no limit; real servers send under 1 KiB. */
export const MAX_LINE_BYTES = 8192;
/** Lines of one multi-line reply, at most (a FEAT or HELP list). */
export const MAX_REPLY_LINES = 256;

export interface Reply {
  readonly code: number;
  /** The reply's text, lines joined with "\n", without the codes. */
  readonly text: string;
}

function bad(why: string): IsosyncError {
  return new IsosyncError('BAD_REPLY', `Cannot read the FTP server's reply: ${why}`, { reason: why });
}

/** Splits control-connection bytes into replies. */
export class ReplyReader {
  private partial = '';
  private lines: string[] = [];
  private code: number | undefined;

  constructor(private readonly onReply: (r: Reply) => void) {}

  /** Control-connection bytes (latin1: FTP replies are 7-bit text, RFC 959 §4.2). */
  push(chunk: Uint8Array): void {
    this.partial += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    for (;;) {
      const nl = this.partial.indexOf('\n');
      if (nl < 0) break;
      const line = this.partial.slice(0, nl).replace(/\r$/, '');
      this.partial = this.partial.slice(nl + 1);
      this.line(line);
    }
    if (this.partial.length > MAX_LINE_BYTES) throw bad(`a line longer than ${MAX_LINE_BYTES} bytes`);
  }

  private line(line: string): void {
    if (line.length > MAX_LINE_BYTES) throw bad(`a line longer than ${MAX_LINE_BYTES} bytes`);
    const m = /^(\d{3})([ -])(.*)$/.exec(line);
    if (this.code === undefined) {
      if (!m) throw bad(`${JSON.stringify(line.slice(0, 80))} does not start with a reply code`);
      const code = Number(m[1]);
      if (code < 100 || code > 599) throw bad(`reply code ${code} is not 1xx-5xx`);
      if (m[2] === ' ') return this.onReply({ code, text: m[3]! });
      this.code = code;
      this.lines = [m[3]!];
      return;
    }
    // Inside a multi-line reply: it ends with "ddd " of the same code.
    if (m && Number(m[1]) === this.code && m[2] === ' ') {
      this.lines.push(m[3]!);
      const r = { code: this.code, text: this.lines.join('\n') };
      this.code = undefined;
      this.lines = [];
      return this.onReply(r);
    }
    this.lines.push(line);
    if (this.lines.length > MAX_REPLY_LINES) throw bad(`a reply of more than ${MAX_REPLY_LINES} lines`);
  }
}

/** The data address of a 227 reply: `(h1,h2,h3,h4,p1,p2)`. */
export function parsePasv(text: string): { host: string; port: number } {
  const m = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(text);
  if (!m) throw bad(`227 without an address: ${JSON.stringify(text.slice(0, 80))}`);
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) throw bad(`227 with a number above 255: ${JSON.stringify(m[0])}`);
  const port = n[4]! * 256 + n[5]!;
  if (port === 0) throw bad('227 with port 0');
  return { host: n.slice(0, 4).join('.'), port };
}

/** The data port of a 229 reply: `(|||port|)` (any delimiter, RFC 2428 §3). */
export function parseEpsv(text: string): number {
  const m = /\((.)\1\1(\d{1,5})\1\)/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!(port > 0 && port < 65536)) throw bad(`229 without a port: ${JSON.stringify(text.slice(0, 80))}`);
  return port;
}

/** The size of a 213 reply to SIZE (RFC 3659 §4). */
export function parseSize(text: string): number {
  const m = /^\s*(\d{1,16})\s*$/.exec(text);
  if (!m) throw bad(`213 without a size: ${JSON.stringify(text.slice(0, 80))}`);
  return Number(m[1]);
}

/** FTP URL parts: host, port (default 21), path (decoded), user and password (default anonymous). */
export function parseFtpUrl(url: string): { host: string; port: number; path: string; user: string; password: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot use FTP mirror ${JSON.stringify(url)}: not a URL`, { url });
  }
  if (u.protocol !== 'ftp:') throw new IsosyncError('BAD_ARGUMENT', `Cannot use FTP mirror ${JSON.stringify(url)}: not an ftp:// URL`, { url });
  const path = decodeURIComponent(u.pathname);
  if (path === '' || path.endsWith('/')) throw new IsosyncError('BAD_ARGUMENT', `Cannot use FTP mirror ${JSON.stringify(url)}: it names a folder, not the image`, { url });
  if (/[\r\n]/.test(path)) throw new IsosyncError('BAD_ARGUMENT', `Cannot use FTP mirror ${JSON.stringify(url)}: a line break in its path`, { url });
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 21,
    path,
    user: u.username ? decodeURIComponent(u.username) : 'anonymous',
    password: u.password ? decodeURIComponent(u.password) : 'isosync@',
  };
}
