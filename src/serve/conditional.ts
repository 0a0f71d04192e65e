/**
 * Validators and conditional requests (RFC 9110 §8.8, §13): a strong ETag
 * from the file's identity, and the decisions for If-None-Match,
 * If-Modified-Since, If-Match, If-Unmodified-Since and If-Range. Pure: no I/O.
 *
 * The ETag is strong: it changes whenever the bytes can have changed (size,
 * mtime to the nanosecond as the OS reports it, inode: a file replaced by
 * rename gets a new inode), so byte ranges may be combined across requests.
 */

export interface FileIdentity {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number | bigint;
}

/** `"<inode>-<size>-<mtime µs>"` in hex, quoted (a strong entity tag). */
export function strongEtag(f: FileIdentity): string {
  const micro = Math.round(f.mtimeMs * 1000);
  return `"${BigInt(f.ino).toString(16)}-${f.size.toString(16)}-${micro.toString(16)}"`;
}

/** Last-Modified as an HTTP date (seconds resolution, RFC 9110 §5.6.7). */
export function httpDate(mtimeMs: number): string {
  return new Date(mtimeMs).toUTCString();
}

/** Entity tags of a list header ("*" gives ['*']); weak tags keep their W/ prefix. */
function tagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

function parseDate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

export type Precondition = 'ok' | 'not-modified' | 'failed';

export interface RequestValidators {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: string;
  readonly ifUnmodifiedSince?: string;
}

/**
 * Evaluates preconditions in the order of RFC 9110 §13.2.2: If-Match (else
 * If-Unmodified-Since), then If-None-Match (else If-Modified-Since, only for
 * GET and HEAD). 'not-modified' means 304, 'failed' 412.
 */
export function evaluatePreconditions(h: RequestValidators, etag: string, mtimeMs: number): Precondition {
  const modifiedSec = Math.floor(mtimeMs / 1000) * 1000;
  if (h.ifMatch !== undefined) {
    const tags = tagList(h.ifMatch);
    if (!tags.includes('*') && !tags.includes(etag)) return 'failed'; // strong comparison
  } else {
    const since = parseDate(h.ifUnmodifiedSince);
    if (since !== undefined && modifiedSec > since) return 'failed';
  }
  if (h.ifNoneMatch !== undefined) {
    const tags = tagList(h.ifNoneMatch);
    if (tags.includes('*') || tags.some((t) => weakMatch(t, etag))) return 'not-modified';
  } else {
    const since = parseDate(h.ifModifiedSince);
    if (since !== undefined && modifiedSec <= since) return 'not-modified';
  }
  return 'ok';
}

/**
 * Whether a Range may be honoured under an If-Range header (RFC 9110 §13.1.5):
 * an entity tag must match strongly; a date must equal Last-Modified exactly.
 * Otherwise the full representation is sent (200).
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string, mtimeMs: number): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  const t = parseDate(v);
  return t !== undefined && t === Math.floor(mtimeMs / 1000) * 1000;
}
