/**
 * Plain HTTP file serving of one directory: GET and HEAD with a single byte
 * Range (RFC 9110 §14), the minimum a web seed (BEP 19) needs. Paths never
 * escape the root (no "..", no dotfiles, symlinks resolved and checked).
 * `isosync serve` (issue 6) grows this into the full server.
 */
import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';

export interface StaticStats {
  bytesSent: number;
  requests: number;
}

/** Resolves a URL path inside `root`, or undefined when it would escape it or names a dotfile. */
export async function resolveInside(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const parts = decoded.split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p === '..' || p.startsWith('.') || p.includes('\0') || p.includes('\\'))) return undefined;
  const realRoot = await realpath(root);
  try {
    const real = await realpath(join(realRoot, ...parts));
    return real === realRoot || real.startsWith(realRoot + sep) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Most ranges served in one multipart reply; more is a denial-of-service pattern (RFC 9110 §14.2). */
const MAX_RANGES = 64;

/**
 * Parses a `Range` header against a size (RFC 9110 §14): inclusive [start, end]
 * pairs, 'unsatisfiable', or undefined (malformed or too many: serve whole).
 */
export function parseRanges(header: string | undefined, size: number): [number, number][] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const parts = m[1]!.split(',');
  if (parts.length > MAX_RANGES) return undefined;
  const out: [number, number][] = [];
  for (const p of parts) {
    const r = parseRange(`bytes=${p.trim()}`, size);
    if (r === undefined) return undefined;
    if (r !== 'unsatisfiable') out.push(r);
  }
  return out.length > 0 ? out : 'unsatisfiable';
}

/** Parses one `bytes=a-b` range against a size: [start, end] inclusive, 'unsatisfiable', or undefined (serve whole). */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // multiple or malformed ranges: serve whole (allowed by RFC 9110)
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

/** Serves a GET/HEAD for a file under `root`. */
export async function serveFile(root: string, req: IncomingMessage, res: ServerResponse, stats: StaticStats): Promise<void> {
  stats.requests++;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const path = await resolveInside(root, new URL(req.url ?? '/', 'http://localhost').pathname);
  const st = path ? await stat(path).catch(() => undefined) : undefined;
  if (!path || !st?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  const ranges = parseRanges(req.headers.range, st.size);
  if (ranges === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${st.size}` }).end();
    return;
  }
  const type = path.endsWith('.torrent') ? 'application/x-bittorrent' : 'application/octet-stream';
  if (ranges && ranges.length > 1) {
    await serveMultipart(path, st.size, type, ranges, req, res, stats);
    return;
  }
  const range = ranges?.[0];
  const [start, end] = range ?? [0, st.size - 1];
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    'Content-Length': Math.max(0, end - start + 1),
    'Content-Type': type,
    'Last-Modified': st.mtime.toUTCString(),
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(path, { start, end });
  stream.on('data', (chunk) => {
    stats.bytesSent += chunk.length;
  });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Several ranges in one multipart/byteranges reply (RFC 9110 §14.6). */
async function serveMultipart(path: string, size: number, type: string, ranges: [number, number][], req: IncomingMessage, res: ServerResponse, stats: StaticStats): Promise<void> {
  const boundary = `isosync-${Math.random().toString(36).slice(2)}`;
  const heads = ranges.map(([a, b]) => Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = heads.reduce((n, h) => n + h.length, 0) + ranges.reduce((n, [a, b]) => n + b - a + 1, 0) + tail.length;
  res.writeHead(206, { 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': length, 'Accept-Ranges': 'bytes' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const handle = await open(path, 'r');
  try {
    for (let i = 0; i < ranges.length; i++) {
      const [a, b] = ranges[i]!;
      const buf = Buffer.allocUnsafe(b - a + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, a);
      res.write(heads[i]!);
      res.write(buf.subarray(0, bytesRead));
      stats.bytesSent += bytesRead;
    }
    res.end(tail);
  } finally {
    await handle.close();
  }
}
