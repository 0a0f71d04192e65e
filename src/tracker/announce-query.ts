/**
 * The query strings of HTTP tracker requests (BEP 3 "Trackers"), both ways.
 *
 * Client side: buildAnnounceUrl percent-encodes the binary infohash and peer
 * id byte by byte (a UTF-8 round trip would corrupt them); scrapeUrlOf
 * derives the scrape URL by the BEP 48 convention (the last path segment
 * "announce" becomes "scrape").
 *
 * Server side: parseAnnounceQuery and parseScrapeQuery read a raw query
 * string into validated values, or return the failure reason to send back.
 * URLSearchParams is not used: it decodes to UTF-8 text and turns "+" into a
 * space, both of which break binary values.
 *
 * Pure: no I/O.
 */
import type { AnnounceEvent } from './udp-wire.js';

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

/** Values longer than this are refused: the longest legitimate one is a 20-byte id, 60 chars percent-encoded. */
const MAX_VALUE_CHARS = 256;
/** Parameters per request: a real announce has about 12; more is abuse. */
const MAX_PARAMS = 64;

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

/** The bytes of a percent-encoded string as a latin1 string (chars above 0xff keep their low byte), or undefined when an escape is malformed. */
function percentDecode(s: string): string | undefined {
  let plain = true;
  for (let i = 0; i < s.length && plain; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c > 0xff) plain = false;
  }
  if (plain) return s;
  const out = Buffer.allocUnsafe(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.toString('latin1', 0, n);
}

/** The value of one hex digit's char code, or -1 (NaN, past the end, included). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

export interface AnnounceRequest {
  /** 20 bytes. */
  readonly infoHash: Buffer;
  /** 20 bytes. */
  readonly peerId: Buffer;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** As asked; undefined = the tracker's default. The tracker caps it. */
  readonly numwant?: number;
  readonly compact: boolean;
  readonly noPeerId: boolean;
  /** The `ip` parameter, only honoured for requests from loopback. */
  readonly ip?: string;
}

/** Decimal digits of a byte count: up to 2^63 - 1, which has 19 digits. */
const MAX_COUNTER_DIGITS = 19;
/** numwant digits: anything beyond 10 digits is not a count of peers (numwant=1e9 fails here, 1000000000 is capped). */
const MAX_NUMWANT_DIGITS = 10;

function single(q: Map<string, string[]>, key: string): string | undefined | { readonly error: string } {
  const v = q.get(key);
  if (v === undefined) return undefined;
  if (v.length > 1) return { error: `"${key}" given ${v.length} times` };
  return v[0];
}

function integer(q: Map<string, string[]>, key: string, maxDigits: number, required: boolean): number | undefined | string {
  const s = single(q, key);
  if (typeof s === 'object') return s.error;
  if (s === undefined || s.length === 0) return required ? `missing "${key}"` : undefined;
  if (s.length > maxDigits || !/^\d+$/.test(s)) return `invalid "${key}" ${JSON.stringify(s.slice(0, 32))}: not a whole number of at most ${maxDigits} digits`;
  return Math.min(Number(s), Number.MAX_SAFE_INTEGER);
}

function id20(q: Map<string, string[]>, key: string): Buffer | string {
  const v = single(q, key);
  if (typeof v === 'object') return v.error;
  if (v === undefined) return `missing "${key}"`;
  if (v.length !== 20) return `invalid "${key}": ${v.length} bytes, expected 20`;
  return Buffer.from(v, 'latin1');
}

/** Validates an announce; returns the request or a failure reason for the client. */
export function parseAnnounceQuery(query: string): AnnounceRequest | string {
  const q = decodeQuery(query);
  if (typeof q === 'string') return q;
  const infoHash = id20(q, 'info_hash');
  if (typeof infoHash === 'string') return infoHash;
  const peerId = id20(q, 'peer_id');
  if (typeof peerId === 'string') return peerId;
  const port = integer(q, 'port', 5, true);
  if (typeof port === 'string') return port;
  if (port === undefined || port < 1 || port > 65535) return `invalid "port" ${port}: must be 1-65535`;
  const counters: number[] = [];
  for (const key of ['uploaded', 'downloaded', 'left']) {
    const n = integer(q, key, MAX_COUNTER_DIGITS, false);
    if (typeof n === 'string') return n;
    counters.push(n ?? 0);
  }
  // A client that omits "left" is treated as a leecher (it did not say it has everything).
  const leftGiven = q.has('left');
  const numwant = integer(q, 'numwant', MAX_NUMWANT_DIGITS, false);
  if (typeof numwant === 'string') return numwant;
  const ev = single(q, 'event');
  if (typeof ev === 'object') return ev.error;
  const evText = ev ?? '';
  // BEP 3 names started, completed, stopped; "empty" is what some clients send for a regular announce, "paused" is BEP 21.
  const event: AnnounceEvent | undefined =
    evText === '' || evText === 'empty' || evText === 'paused' ? '' : evText === 'started' || evText === 'completed' || evText === 'stopped' ? evText : undefined;
  if (event === undefined) return `unknown "event" ${JSON.stringify(evText.slice(0, 32))}`;
  const flag = (key: string): boolean | string => {
    const s = single(q, key);
    if (typeof s === 'object') return s.error;
    if (s === undefined) return false;
    if (s !== '0' && s !== '1') return `invalid "${key}" ${JSON.stringify(s.slice(0, 32))}: must be 0 or 1`;
    return s === '1';
  };
  // BEP 23: compact is the default a tracker may pick; only compact=0 asks for the dictionary model.
  const compactFlag = single(q, 'compact');
  if (typeof compactFlag === 'object') return compactFlag.error;
  const compactText = compactFlag;
  if (compactText !== undefined && compactText !== '0' && compactText !== '1') return `invalid "compact" ${JSON.stringify(compactText.slice(0, 32))}: must be 0 or 1`;
  const noPeerId = flag('no_peer_id');
  if (typeof noPeerId === 'string') return noPeerId;
  const ip = single(q, 'ip');
  if (typeof ip === 'object') return ip.error;
  const out: { -readonly [K in keyof AnnounceRequest]: AnnounceRequest[K] } = {
    infoHash,
    peerId,
    port,
    uploaded: counters[0]!,
    downloaded: counters[1]!,
    left: leftGiven ? counters[2]! : Number.MAX_SAFE_INTEGER,
    event,
    compact: compactText !== '0',
    noPeerId,
  };
  if (numwant !== undefined) out.numwant = numwant;
  if (ip !== undefined) out.ip = ip;
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
