/**
 * Plain HTTP file serving of one directory: GET and HEAD with a single byte
 * Range (RFC 9110 §14), the minimum a web seed (BEP 19) needs. Paths never
 * escape the root (no "..", no dotfiles, symlinks resolved and checked).
 * `isosync serve` (issue 6) grows this into the full server.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
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

/** Parses a single-range `Range` header against a size: [start, end] inclusive, 'unsatisfiable', or undefined (serve whole). */
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
  const range = parseRange(req.headers.range, st.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${st.size}` }).end();
    return;
  }
  const [start, end] = range ?? [0, st.size - 1];
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    'Content-Length': Math.max(0, end - start + 1),
    'Content-Type': path.endsWith('.torrent') ? 'application/x-bittorrent' : 'application/octet-stream',
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
