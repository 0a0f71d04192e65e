/**
 * The query strings of HTTP tracker requests (BEP 3 "Trackers"), both ways.
 *
 * Client side: buildAnnounceUrl percent-encodes the binary infohash and peer
 * id byte by byte (a UTF-8 round trip would corrupt them); scrapeUrlOf
 * derives the scrape URL by the BEP 48 convention (the last path segment
 * "announce" becomes "scrape").
 *
 * Server side: parseScrapeQuery reads a raw query string into validated
 * infohashes, or returns the failure reason to send back (announces have
 * their own single-pass parser, announce-parse.ts).
 * URLSearchParams is not used: it decodes to UTF-8 text and turns "+" into a
 * space, both of which break binary values.
 *
 * Pure: no I/O.
 */
import { MAX_PARAMS, MAX_VALUE_CHARS, percentDecode } from './announce-parse.js';
import type { AnnounceEvent } from './udp-wire.js';

export { parseAnnounceQuery, QueryFault, type AnnounceRequest, type QueryFaultCode } from './announce-parse.js';

// ---- client side ----

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function percentEncodeBytes(b: Uint8Array): string {
  let s = '';
  for (const byte of b) {
    const c = String.fromCharCode(byte);
    s += byte < 0x80 && UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

export interface AnnounceUrlFields {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  readonly numwant: number;
  /** BEP 3 `key`: lets the tracker recognise us when our address changes. */
  readonly key: string;
  readonly trackerId?: Uint8Array;
}

export function buildAnnounceUrl(base: string, f: AnnounceUrlFields): string {
  const parts = [
    `info_hash=${percentEncodeBytes(f.infoHash)}`,
    `peer_id=${percentEncodeBytes(f.peerId)}`,
    `port=${f.port}`,
    `uploaded=${Math.max(0, Math.floor(f.uploaded))}`,
    `downloaded=${Math.max(0, Math.floor(f.downloaded))}`,
    `left=${Math.max(0, Math.floor(f.left))}`,
    'compact=1',
    `numwant=${f.numwant}`,
    `key=${f.key}`,
  ];
  if (f.event) parts.push(`event=${f.event}`);
  if (f.trackerId) parts.push(`trackerid=${percentEncodeBytes(f.trackerId)}`);
  return `${base}${base.includes('?') ? '&' : '?'}${parts.join('&')}`;
}

/** BEP 48: the scrape URL, or undefined when the announce URL's last segment does not start with "announce". */
export function scrapeUrlOf(announceUrl: string, infoHashes: readonly Uint8Array[]): string | undefined {
  const q = announceUrl.indexOf('?');
  const path = q < 0 ? announceUrl : announceUrl.slice(0, q);
  const slash = path.lastIndexOf('/');
  if (!path.slice(slash + 1).startsWith('announce')) return undefined;
  const base = `${path.slice(0, slash + 1)}scrape${path.slice(slash + 1 + 'announce'.length)}${q < 0 ? '' : announceUrl.slice(q)}`;
  const hashes = infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&');
  return `${base}${base.includes('?') ? '&' : '?'}${hashes}`;
}

// ---- server side ----

/**
 * Decodes the query into raw byte values (repeated keys kept in order), each a latin1 string
 * (one char per byte: a value without escapes is its own text, no copy), or returns a failure reason.
 */
export function decodeQuery(query: string): Map<string, string[]> | string {
  const out = new Map<string, string[]>();
  if (query === '') return out;
  const pairs = query.split('&');
  if (pairs.length > MAX_PARAMS) return `too many parameters (${pairs.length}, at most ${MAX_PARAMS})`;
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    if (rawValue.length > MAX_VALUE_CHARS) return `parameter ${JSON.stringify(rawKey.slice(0, 32))} is too long`;
    const k = percentDecode(rawKey);
    const value = percentDecode(rawValue);
    if (k === undefined || value === undefined) return `malformed percent-encoding in ${JSON.stringify(pair.slice(0, 64))}`;
    const list = out.get(k);
    if (list) list.push(value);
    else out.set(k, [value]);
  }
  return out;
}

/** Infohashes per HTTP scrape: enough for a client's whole session, bounded against abuse. */
export const MAX_HTTP_SCRAPE_HASHES = 100;

/** Validates a scrape; returns its 20-byte infohashes or a failure reason. A full scrape (no info_hash) is refused. */
export function parseScrapeQuery(query: string): Buffer[] | string {
  const q = decodeQuery(query);
  if (typeof q === 'string') return q;
  const hashes = q.get('info_hash') ?? [];
  if (hashes.length === 0) return 'full scrape is not supported: give info_hash';
  if (hashes.length > MAX_HTTP_SCRAPE_HASHES) return `scrape of ${hashes.length} torrents, at most ${MAX_HTTP_SCRAPE_HASHES}`;
  for (const h of hashes) if (h.length !== 20) return `invalid "info_hash": ${h.length} bytes, expected 20`;
  return hashes.map((h) => Buffer.from(h, 'latin1'));
}
