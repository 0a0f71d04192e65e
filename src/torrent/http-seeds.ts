/**
 * BEP 17 HTTP seeds (`httpseeds`, John Hoffman's and DeHackEd's protocol,
 * written by BitTornado's `btmakemetafile --httpseeds`), beside BEP 19 web
 * seeds (`url-list`).
 *
 * A BEP 17 seed is a script: the client asks for one piece, or byte ranges
 * inside it, and gets the bytes back concatenated:
 *
 *   <url>?info_hash=<20 bytes, percent-encoded>&piece=<i>[&ranges=<a>-<b>,...]
 *
 * Ranges are offsets inside the piece, both ends inclusive. The script
 * answers 200 with the bytes, or 503 with an ASCII number of seconds to wait
 * before asking again.
 *
 * Debian's torrents (made with BitTornado) put plain file URLs in
 * `httpseeds`, for example .../iso-cd/debian-12.5.0-amd64-netinst.iso: a
 * static file server ignores the query and would send the whole image. So a
 * URL whose last path component is the torrent's file name (or ends in .iso
 * or .img) is used as a BEP 19 web seed with Range requests; any other is a
 * BEP 17 script.
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';

export type HttpSeedKind = 'file' | 'script';

export interface ClassifiedSeeds {
  /** BEP 19 web seeds: url-list plus httpseeds that point at the file itself. */
  readonly webSeeds: readonly string[];
  /** BEP 17 scripts. */
  readonly scripts: readonly string[];
}

/** Whether an httpseeds URL is the file itself (Debian's use) or a BEP 17 script. */
export function classifyHttpSeed(url: string, torrentName: string): HttpSeedKind {
  let last: string;
  try {
    const u = new URL(url);
    if (u.search !== '') return 'script';
    last = decodeURIComponent(u.pathname.slice(u.pathname.lastIndexOf('/') + 1));
  } catch {
    return 'script';
  }
  return last === torrentName || /\.(iso|img)$/i.test(last) ? 'file' : 'script';
}

/** Web seeds and BEP 17 scripts of a torrent, without duplicates, in the torrent's order (url-list first). */
export function classifySeeds(m: { readonly name: string; readonly urlList: readonly string[]; readonly httpSeeds: readonly string[] }): ClassifiedSeeds {
  const webSeeds: string[] = [];
  const scripts: string[] = [];
  for (const u of m.urlList) if (!webSeeds.includes(u)) webSeeds.push(u);
  for (const u of m.httpSeeds) {
    const list = classifyHttpSeed(u, m.name) === 'file' ? webSeeds : scripts;
    if (!list.includes(u)) list.push(u);
  }
  return { webSeeds, scripts };
}

/** A half-open byte range inside a piece. */
export interface PieceRange {
  readonly start: number;
  readonly end: number;
}

/** The BEP 17 request URL for piece `piece` (all of it when `ranges` is empty). */
export function httpSeedUrl(base: string, infoHash: Uint8Array, piece: number, ranges: readonly PieceRange[] = []): string {
  if (infoHash.length !== 20) throw new IsosyncError('BAD_ARGUMENT', `Cannot build an HTTP seed request: an infohash is 20 bytes, got ${infoHash.length}`);
  let q = `info_hash=${percentBytes(infoHash)}&piece=${piece}`;
  if (ranges.length > 0) q += `&ranges=${ranges.map((r) => `${r.start}-${r.end - 1}`).join(',')}`;
  return `${base}${base.includes('?') ? '&' : '?'}${q}`;
}

/** Bytes a 200 answer must hold: the whole piece, or the ranges' total. */
export function expectedBytes(pieceLength: number, ranges: readonly PieceRange[]): number {
  return ranges.length === 0 ? pieceLength : ranges.reduce((n, r) => n + (r.end - r.start), 0);
}

/** Longest wait a 503 may ask for that is honoured: an hour; more is treated as "gone". */
export const MAX_RETRY_SECONDS = 3600;

/** A 503 body: seconds to wait, or undefined when it is not a sane number. */
export function retryAfterSeconds(body: string): number | undefined {
  const t = body.trim();
  if (!/^\d{1,6}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_RETRY_SECONDS ? n : undefined;
}

/** Percent-encodes every byte that is not unreserved (RFC 3986), as trackers expect for info_hash. */
function percentBytes(b: Uint8Array): string {
  let s = '';
  for (const byte of b) {
    const c = String.fromCharCode(byte);
    s += /[A-Za-z0-9.\-_~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}
