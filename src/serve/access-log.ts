/**
 * The request log of `isosync serve` in the combined log format that Apache
 * and nginx write (and log analysers read):
 *
 *   127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET /distro-1.01.iso HTTP/1.1" 206 1048576 "-" "isosync/0.1.0"
 *
 * combinedLine is pure; logWhenDone takes a request's fields when its reply
 * is done, and the caller writes the line where the user asked
 * (--access-log FILE, or stdout with -v).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface LoggedRequest {
  readonly remote: string;
  readonly time: Date;
  readonly method: string;
  readonly target: string;
  readonly httpVersion: string;
  readonly status: number;
  /** Body bytes sent; 0 is written "-". */
  readonly bytes: number;
  readonly referer?: string | undefined;
  readonly userAgent?: string | undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** [10/Oct/2026:13:55:36 +0000] in UTC. */
export function logTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
}

/** A field inside double quotes: quotes, backslashes and control bytes escaped as nginx does (\xHH). */
function quoted(s: string | undefined): string {
  if (s === undefined || s === '') return '"-"';
  // eslint-disable-next-line no-control-regex
  return `"${s.replace(/["\\\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)}"`;
}

export function combinedLine(r: LoggedRequest): string {
  const request = `${r.method} ${r.target} HTTP/${r.httpVersion}`;
  return `${r.remote || '-'} - - ${logTime(r.time)} ${quoted(request)} ${r.status} ${r.bytes > 0 ? r.bytes : '-'} ${quoted(r.referer)} ${quoted(r.userAgent)}`;
}

/** Logs the request once its reply is done (or the client went away): body bytes from the socket, less the header. */
export function logWhenDone(req: IncomingMessage, res: ServerResponse, log: (line: string) => void): void {
  const time = new Date();
  const socket = req.socket;
  const before = socket.bytesWritten;
  // Read now: a socket the client has closed by the time the reply is done no longer knows its peer.
  const remote = socket.remoteAddress ?? '-';
  let logged = false;
  const done = () => {
    if (logged) return;
    logged = true;
    const header = (res as unknown as { _header?: string | null })._header;
    const bytes = Math.max(0, socket.bytesWritten - before - (header ? Buffer.byteLength(header) : 0));
    log(
      combinedLine({
        remote,
        time,
        method: req.method ?? '-',
        target: req.url ?? '-',
        httpVersion: req.httpVersion,
        status: res.statusCode,
        bytes,
        referer: req.headers.referer,
        userAgent: req.headers['user-agent'],
      }),
    );
  };
  res.once('finish', done);
  res.once('close', done);
}
