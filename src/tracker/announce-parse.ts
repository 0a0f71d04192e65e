/**
 * The query string of an HTTP announce (BEP 3 "Trackers"), read in one pass
 * by hand: the tracker parses thousands a second, and splitting into pairs,
 * a Map of arrays and a decoded string per value were most of its own work.
 *
 * The pass records where each known parameter's value lies and validates
 * every pair's percent-encoding; the values are then checked in a fixed
 * order, so a request with several defects always gets the same complaint.
 * Binary values (info_hash, peer_id) are decoded byte by byte, never as
 * UTF-8, and "+" is not a space (both would corrupt them). Bounds: at most
 * MAX_PARAMS pairs, MAX_VALUE_CHARS per value, 20 bytes per id; numbers by
 * digit count. A defect is a QueryFault with a stable code and the reason
 * the client is told.
 *
 * Pure: no I/O.
 */
import type { AnnounceEvent } from './udp-wire.js';

/** Values longer than this are refused: the longest legitimate one is a 20-byte id, 60 chars percent-encoded. */
export const MAX_VALUE_CHARS = 256;
/** Parameters per request: a real announce has about 12; more is abuse. */
export const MAX_PARAMS = 64;

/** The bytes of a percent-encoded string as a latin1 string (chars above 0xff keep their low byte), or undefined when an escape is malformed. */
export function percentDecode(s: string): string | undefined {
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
export function hexValue(c: number): number {
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
  /** The `ip` parameter; the tracker decides whether to believe it. */
  readonly ip?: string;
}

export type QueryFaultCode =
  | 'TOO_MANY_PARAMS'
  | 'VALUE_TOO_LONG'
  | 'BAD_ESCAPE'
  | 'MISSING'
  | 'REPEATED'
  | 'BAD_LENGTH'
  | 'BAD_NUMBER'
  | 'OUT_OF_RANGE'
  | 'BAD_EVENT'
  | 'BAD_FLAG';

/** Why an announce query was refused: `code` for programs, `reason` for the client's `failure reason`. */
export class QueryFault {
  constructor(
    readonly code: QueryFaultCode,
    readonly key: string,
    readonly reason: string,
  ) {}
}

/** The parameters read; their order is the order in which they are checked. */
const KEYS = ['info_hash', 'peer_id', 'port', 'uploaded', 'downloaded', 'left', 'numwant', 'event', 'compact', 'no_peer_id', 'ip'] as const;
const K = Object.fromEntries(KEYS.map((k, i) => [k, i])) as Record<(typeof KEYS)[number], number>;
/** BEP 20: ids are 20 bytes. */
const ID_BYTES = 20;
/** Decimal digits of a byte count: up to 2^63 - 1, which has 19 digits. */
const MAX_COUNTER_DIGITS = 19;
/** numwant digits: anything beyond 10 digits is not a count of peers (numwant=1e9 fails here, 1000000000 is capped). */
const MAX_NUMWANT_DIGITS = 10;
const PERCENT = 0x25;

/** Per call: where each known parameter's (last) value starts and ends, and how often it came. */
const starts = new Int32Array(KEYS.length);
const ends = new Int32Array(KEYS.length);
const counts = new Int32Array(KEYS.length);

/** The index in KEYS of the key in query[from, to), or -1. */
function keyAt(query: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (query.charCodeAt(i) === PERCENT) {
      const k = percentDecode(query.slice(from, to));
      return k === undefined ? -1 : KEYS.indexOf(k as (typeof KEYS)[number]);
    }
  }
  const n = to - from;
  for (let k = 0; k < KEYS.length; k++) if (KEYS[k]!.length === n && query.startsWith(KEYS[k]!, from)) return k;
  return -1;
}

/** Whether every "%" in query[from, to) is followed by two hex digits. */
function escapesValid(query: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (query.charCodeAt(i) !== PERCENT) continue;
    if (i + 2 >= to || hexValue(query.charCodeAt(i + 1)) < 0 || hexValue(query.charCodeAt(i + 2)) < 0) return false;
    i += 2;
  }
  return true;
}

/** The decoded text of a known parameter's value. */
function text(query: string, k: number): string {
  return percentDecode(query.slice(starts[k]!, ends[k]!))!;
}

function repeated(k: number): QueryFault {
  return new QueryFault('REPEATED', KEYS[k]!, `"${KEYS[k]}" given ${counts[k]} times`);
}

/** A 20-byte id, decoded straight from the escapes. */
function id(query: string, k: number): Buffer | QueryFault {
  const key = KEYS[k]!;
  if (counts[k] === 0) return new QueryFault('MISSING', key, `missing "${key}"`);
  if (counts[k]! > 1) return repeated(k);
  const out = Buffer.allocUnsafe(ID_BYTES);
  let n = 0;
  for (let i = starts[k]!, end = ends[k]!; i < end; i++, n++) {
    let c = query.charCodeAt(i);
    if (c === PERCENT) {
      c = (hexValue(query.charCodeAt(i + 1)) << 4) | hexValue(query.charCodeAt(i + 2));
      i += 2;
    }
    if (n < ID_BYTES) out[n] = c & 0xff;
  }
  if (n !== ID_BYTES) return new QueryFault('BAD_LENGTH', key, `invalid "${key}": ${n} bytes, expected ${ID_BYTES}`);
  return out;
}

/** A whole number of at most maxDigits digits; undefined when absent or empty and not required. */
function integer(query: string, k: number, maxDigits: number, required: boolean): number | undefined | QueryFault {
  const key = KEYS[k]!;
  if (counts[k]! > 1) return repeated(k);
  const from = starts[k]!;
  const to = ends[k]!;
  if (counts[k] === 0 || from === to) return required ? new QueryFault('MISSING', key, `missing "${key}"`) : undefined;
  let n = 0;
  let digits = 0;
  let ok = true;
  for (let i = from; i < to && ok; i++) {
    let c = query.charCodeAt(i);
    if (c === PERCENT) {
      c = (hexValue(query.charCodeAt(i + 1)) << 4) | hexValue(query.charCodeAt(i + 2));
      i += 2;
    }
    ok = c >= 0x30 && c <= 0x39 && ++digits <= maxDigits;
    n = n * 10 + (c - 0x30);
  }
  if (!ok) return new QueryFault('BAD_NUMBER', key, `invalid "${key}" ${JSON.stringify(text(query, k).slice(0, 32))}: not a whole number of at most ${maxDigits} digits`);
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** A parameter given at most once, as text; undefined when absent. */
function single(query: string, k: number): string | undefined | QueryFault {
  if (counts[k] === 0) return undefined;
  if (counts[k]! > 1) return repeated(k);
  return text(query, k);
}

function flag(query: string, k: number): boolean | undefined | QueryFault {
  const s = single(query, k);
  if (s === undefined || s instanceof QueryFault) return s;
  if (s !== '0' && s !== '1') return new QueryFault('BAD_FLAG', KEYS[k]!, `invalid "${KEYS[k]}" ${JSON.stringify(s.slice(0, 32))}: must be 0 or 1`);
  return s === '1';
}

/** Validates an announce; returns the request or the fault to tell the client. */
export function parseAnnounceQuery(query: string): AnnounceRequest | QueryFault {
  counts.fill(0);
  let pieces = 0;
  for (let at = 0; at <= query.length && query.length > 0; ) {
    let amp = query.indexOf('&', at);
    if (amp < 0) amp = query.length;
    if (++pieces > MAX_PARAMS) {
      let all = pieces;
      for (let i = query.indexOf('&', amp); i >= 0; i = query.indexOf('&', i + 1)) all++;
      return new QueryFault('TOO_MANY_PARAMS', '', `too many parameters (${all}, at most ${MAX_PARAMS})`);
    }
    if (amp > at) {
      let eq = query.indexOf('=', at);
      if (eq < 0 || eq > amp) eq = amp;
      const valueFrom = Math.min(eq + 1, amp);
      if (amp - valueFrom > MAX_VALUE_CHARS) return new QueryFault('VALUE_TOO_LONG', '', `parameter ${JSON.stringify(query.slice(at, Math.min(eq, at + 32)))} is too long`);
      if (!escapesValid(query, at, amp)) return new QueryFault('BAD_ESCAPE', '', `malformed percent-encoding in ${JSON.stringify(query.slice(at, Math.min(amp, at + 64)))}`);
      const k = keyAt(query, at, eq);
      if (k >= 0) {
        counts[k]!++;
        starts[k] = valueFrom;
        ends[k] = amp;
      }
    }
    at = amp + 1;
  }
  const infoHash = id(query, K.info_hash);
  if (infoHash instanceof QueryFault) return infoHash;
  const peerId = id(query, K.peer_id);
  if (peerId instanceof QueryFault) return peerId;
  const port = integer(query, K.port, 5, true);
  if (port instanceof QueryFault) return port;
  if (port === undefined || port < 1 || port > 65535) return new QueryFault('OUT_OF_RANGE', 'port', `invalid "port" ${port}: must be 1-65535`);
  const uploaded = integer(query, K.uploaded, MAX_COUNTER_DIGITS, false);
  if (uploaded instanceof QueryFault) return uploaded;
  const downloaded = integer(query, K.downloaded, MAX_COUNTER_DIGITS, false);
  if (downloaded instanceof QueryFault) return downloaded;
  const left = integer(query, K.left, MAX_COUNTER_DIGITS, false);
  if (left instanceof QueryFault) return left;
  const numwant = integer(query, K.numwant, MAX_NUMWANT_DIGITS, false);
  if (numwant instanceof QueryFault) return numwant;
  const ev = single(query, K.event);
  if (ev instanceof QueryFault) return ev;
  const evText = ev ?? '';
  // BEP 3 names started, completed, stopped; "empty" is what some clients send for a regular announce, "paused" is BEP 21.
  const event: AnnounceEvent | undefined =
    evText === '' || evText === 'empty' || evText === 'paused' ? '' : evText === 'started' || evText === 'completed' || evText === 'stopped' ? evText : undefined;
  if (event === undefined) return new QueryFault('BAD_EVENT', 'event', `unknown "event" ${JSON.stringify(evText.slice(0, 32))}`);
  // BEP 23: compact is the default a tracker may pick; only compact=0 asks for the dictionary model.
  const compact = flag(query, K.compact);
  if (compact instanceof QueryFault) return compact;
  const noPeerId = flag(query, K.no_peer_id);
  if (noPeerId instanceof QueryFault) return noPeerId;
  const ip = single(query, K.ip);
  if (ip instanceof QueryFault) return ip;
  const out: { -readonly [F in keyof AnnounceRequest]: AnnounceRequest[F] } = {
    infoHash,
    peerId,
    port,
    uploaded: uploaded ?? 0,
    downloaded: downloaded ?? 0,
    // A client that omits "left" is treated as a leecher (it did not say it has everything).
    left: counts[K.left] === 0 ? Number.MAX_SAFE_INTEGER : left ?? 0,
    event,
    compact: compact !== false,
    noPeerId: noPeerId === true,
  };
  if (numwant !== undefined) out.numwant = numwant;
  if (ip !== undefined) out.ip = ip;
  return out;
}
