/**
 * Plain HTTP file serving of one directory (RFC 9110): GET and HEAD, single
 * and multiple byte ranges (multipart/byteranges), a strong ETag and
 * Last-Modified, conditional requests (If-None-Match, If-Modified-Since,
 * If-Match, If-Unmodified-Since, If-Range), Content-Type from a small table,
 * an optional HTML directory listing. What a web seed (BEP 19) needs, and
 * what a browser or curl expects.
 *
 * Confinement: a URL path is split on "/" BEFORE percent-decoding, and a
 * segment that decodes to "", ".", "..", or contains "/", "\" or NUL is
 * refused, so %2e%2e and %2f cannot climb; dotfiles are hidden unless
 * allowed; the resolved real path (symlinks followed) must lie inside the
 * root's real path. Files are streamed with backpressure and the read stream
 * is destroyed when the client goes away, so a slow or vanished client costs
 * only its own connection; requests for one file share its open handle
 * (open-files.ts).
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { evaluatePreconditions, httpDate, ifRangeHolds, strongEtag } from './conditional.js';
import { contentTypeOf } from './content-type.js';
import { listDirectory, listingHtml } from './listing.js';
import { withOpenFile, type SharedFile } from './open-files.js';
import { parseRanges, type ByteRange } from './ranges.js';

export { parseRange, parseRanges } from './ranges.js';

export interface StaticStats {
  /** Body bytes handed to the network for file replies. */
  bytesSent: number;
  requests: number;
  /** Per served file (real path): body bytes sent, and whole-file GETs sent to the end. */
  readonly perFile?: Map<string, { bytes: number; whole: number }>;
}

function fileStats(stats: StaticStats, path: string): { bytes: number; whole: number } | undefined {
  if (!stats.perFile) return undefined;
  let f = stats.perFile.get(path);
  if (!f) stats.perFile.set(path, (f = { bytes: 0, whole: 0 }));
  return f;
}

export interface StaticOptions {
  /** Answer a directory URL with an HTML listing (default: 404). */
  readonly listing?: boolean;
  /** Whether the listing links a FILE.torrent for a file (the server makes torrents of big files). */
  readonly hasTorrent?: (st: Stats, name: string) => boolean;
  /** Serve names starting with "." (default: hidden, 404). */
  readonly dotfiles?: boolean;
}

/** What a request path names under the root. */
export type Resolved =
  | { kind: 'file'; path: string; stats: Stats; urlPath: string }
  | { kind: 'dir'; path: string; urlPath: string }
  | { kind: 'bad'; status: 400 | 404; why: string };

/**
 * Splits and decodes a request target's path: the segments, or why it is
 * refused. Absolute-form targets ("http://host/x") are reduced to their path.
 */
export function pathSegments(target: string, dotfiles = false): { segments: string[]; trailingSlash: boolean } | { status: 400 | 404; why: string } {
  let raw = target;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(raw);
  if (abs) raw = raw.slice(abs[0].length) || '/';
  raw = raw.split(/[?#]/, 1)[0]!;
  if (!raw.startsWith('/')) return { status: 400, why: 'path does not start with "/"' };
  const parts = raw.split('/').slice(1);
  const trailingSlash = parts.length > 0 && parts[parts.length - 1] === '';
  const segments: string[] = [];
  for (const [i, p] of parts.entries()) {
    if (p === '' && (i === parts.length - 1 || i === 0)) continue;
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      return { status: 400, why: `bad percent-encoding in ${JSON.stringify(p)}` };
    }
    if (d.includes('\0')) return { status: 400, why: 'NUL in path' };
    if (d === '' || d === '.' || d === '..' || d.includes('/') || d.includes('\\')) return { status: 404, why: `segment ${JSON.stringify(p)} is not a plain name` };
    if (!dotfiles && d.startsWith('.')) return { status: 404, why: 'dotfiles are hidden' };
    segments.push(d);
  }
  return { segments, trailingSlash };
}

/** Resolves a request target to a file or directory inside `root` (real paths; see the module comment). */
export async function resolveRequest(root: string, target: string, opts: StaticOptions = {}): Promise<Resolved> {
  const p = pathSegments(target, opts.dotfiles);
  if ('status' in p) return { kind: 'bad', status: p.status, why: p.why };
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(join(realRoot, p.segments.join('/'))); // segments hold no "/" (pathSegments)
  } catch {
    return { kind: 'bad', status: 404, why: 'no such file' };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return { kind: 'bad', status: 404, why: 'outside the served directory' };
  const rel = relative(realRoot, real);
  if (!opts.dotfiles && rel.split(sep).some((s) => s.startsWith('.'))) return { kind: 'bad', status: 404, why: 'dotfiles are hidden' };
  const st = await stat(real).catch(() => undefined);
  const urlPath = '/' + p.segments.map(encodeURIComponent).join('/');
  if (st?.isFile()) return { kind: 'file', path: real, stats: st, urlPath };
  if (st?.isDirectory()) return { kind: 'dir', path: real, urlPath: urlPath === '/' ? '/' : `${urlPath}/` };
  return { kind: 'bad', status: 404, why: 'not a regular file' };
}

/** Methods this server answers; anything else is 405 with this Allow. */
export const ALLOWED_METHODS = 'GET, HEAD';

export function sendStatus(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** Serves a GET/HEAD for a file or directory under `root`. */
export async function serveFile(root: string, req: IncomingMessage, res: ServerResponse, stats: StaticStats, opts: StaticOptions = {}): Promise<void> {
  stats.requests++;
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendStatus(res, 405, 'method not allowed', { Allow: ALLOWED_METHODS });
  const r = await resolveRequest(root, req.url ?? '/', opts);
  if (r.kind === 'bad') return sendStatus(res, r.status, r.status === 400 ? 'bad request' : 'not found');
  if (r.kind === 'dir') return serveDirectory(root, r.path, r.urlPath, req, res, opts);
  return sendFile(r.path, r.stats, req, res, stats);
}

async function serveDirectory(root: string, path: string, urlPath: string, req: IncomingMessage, res: ServerResponse, opts: StaticOptions): Promise<void> {
  const raw = (req.url ?? '/').split(/[?#]/, 1)[0]!;
  if (!raw.endsWith('/')) return sendStatus(res, 301, 'moved', { Location: urlPath });
  if (!opts.listing) return sendStatus(res, 404, 'not found');
  const entries = await listDirectory(path, (name) => resolveRequest(root, `${urlPath}${encodeURIComponent(name)}`, opts), opts.hasTorrent);
  const html = listingHtml(decodeURIComponent(urlPath), entries);
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html), 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : html);
}

/** Bytes [start, end] of the file, counted as they pass (in all, and for the file). */
async function* counted(f: SharedFile, start: number, end: number, stats: StaticStats, file: { bytes: number } | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of f.range(start, end)) {
    stats.bytesSent += chunk.length;
    if (file) file.bytes += chunk.length;
    yield chunk;
  }
}

/**
 * Sends a regular file (its Stats taken by the caller) with validators,
 * conditionals and ranges. `headers` are added to every reply (e.g. Vary).
 */
export async function sendFile(path: string, st: Stats, req: IncomingMessage, res: ServerResponse, stats: StaticStats, headers: Record<string, string> = {}): Promise<void> {
  const etag = strongEtag(st);
  const validators = { ETag: etag, 'Last-Modified': httpDate(st.mtimeMs), 'Accept-Ranges': 'bytes', ...headers };
  const h = req.headers;
  const pre = evaluatePreconditions(
    {
      ...(h['if-match'] !== undefined ? { ifMatch: h['if-match'] } : {}),
      ...(h['if-none-match'] !== undefined ? { ifNoneMatch: h['if-none-match'] } : {}),
      ...(h['if-modified-since'] !== undefined ? { ifModifiedSince: h['if-modified-since'] } : {}),
      ...(h['if-unmodified-since'] !== undefined ? { ifUnmodifiedSince: h['if-unmodified-since'] } : {}),
    },
    etag,
    st.mtimeMs,
  );
  if (pre === 'not-modified') {
    res.writeHead(304, validators).end();
    return;
  }
  if (pre === 'failed') return sendStatus(res, 412, 'precondition failed', validators);
  const type = contentTypeOf(path);
  const ranges = ifRangeHolds(h['if-range'] as string | undefined, etag, st.mtimeMs) ? parseRanges(h.range, st.size) : undefined;
  if (ranges === 'unsatisfiable') return sendStatus(res, 416, 'range not satisfiable', { ...validators, 'Content-Range': `bytes */${st.size}` });
  if (ranges && ranges.length > 1) return sendMultipart(path, st, type, ranges, req, res, stats, validators);
  const range = ranges?.[0];
  const [start, end] = range ?? [0, st.size - 1];
  res.writeHead(range ? 206 : 200, {
    ...validators,
    'Content-Type': type,
    'Content-Length': Math.max(0, end - start + 1),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}),
  });
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  const file = fileStats(stats, path);
  const whole = !range && start === 0 && end === st.size - 1;
  await withOpenFile(path, st, (f) => pipeline(Readable.from(counted(f, start, end, stats, file)), res)).then(
    () => {
      if (whole && file) file.whole++;
    },
    () => res.destroy(),
  );
}

/** Several ranges in one multipart/byteranges reply (RFC 9110 §14.6), streamed part by part. */
async function sendMultipart(path: string, st: Stats, type: string, ranges: ByteRange[], req: IncomingMessage, res: ServerResponse, stats: StaticStats, validators: Record<string, string>): Promise<void> {
  const size = st.size;
  const boundary = `isosync-${Math.random().toString(36).slice(2)}`;
  const heads = ranges.map(([a, b]) => Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = heads.reduce((n, x) => n + x.length, 0) + ranges.reduce((n, [a, b]) => n + b - a + 1, 0) + tail.length;
  res.writeHead(206, { ...validators, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': length });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const file = fileStats(stats, path);
  async function* parts(f: SharedFile) {
    for (let i = 0; i < ranges.length; i++) {
      const [a, b] = ranges[i]!;
      yield heads[i]!;
      yield* counted(f, a, b, stats, file);
    }
    yield tail;
  }
  await withOpenFile(path, st, (f) => pipeline(Readable.from(parts(f)), res)).catch(() => res.destroy());
}
