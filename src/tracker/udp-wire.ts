/**
 * BEP 15 (UDP tracker protocol) messages, both directions. All integers are
 * big-endian. Field tables give [offset, size] in bytes.
 *
 * The client and the server share these encoders and decoders; decoders
 * return undefined or throw a plain Error for a packet that does not fit,
 * and the callers decide whether to warn (client) or ignore/answer with an
 * error action (server). Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import { COMPACT_V4_BYTES, COMPACT_V6_BYTES, decodeCompactPeers, type PeerAddress } from './compact-peers.js';

/** BEP 15: the magic constant a connect request carries in place of a connection id. */
export const PROTOCOL_ID = 0x41727101980n;

export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;

/** BEP 15 announce `event` field. */
export const UDP_EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | '';

export function eventToUdp(e: AnnounceEvent): number {
  return e === '' ? UDP_EVENT.none : UDP_EVENT[e];
}

/** Connect request, 16 bytes. */
const CONNECT_REQ = { protocolId: [0, 8], action: [8, 4], transactionId: [12, 4], size: 16 } as const;
/** Connect reply, 16 bytes. */
const CONNECT_RES = { action: [0, 4], transactionId: [4, 4], connectionId: [8, 8], size: 16 } as const;
/** Announce request, 98 bytes (BEP 41 options may follow; they are ignored). */
const ANNOUNCE_REQ = {
  connectionId: [0, 8], action: [8, 4], transactionId: [12, 4], infoHash: [16, 20], peerId: [36, 20],
  downloaded: [56, 8], left: [64, 8], uploaded: [72, 8], event: [80, 4], ip: [84, 4], key: [88, 4],
  numWant: [92, 4], port: [96, 2], size: 98,
} as const;
/** Announce reply header, 20 bytes, then compact peers (6 bytes each over IPv4, 18 over IPv6). */
const ANNOUNCE_RES = { action: [0, 4], transactionId: [4, 4], interval: [8, 4], leechers: [12, 4], seeders: [16, 4], size: 20 } as const;
/** Scrape request header, 16 bytes, then 20-byte infohashes. */
const SCRAPE_REQ = { connectionId: [0, 8], action: [8, 4], transactionId: [12, 4], size: 16 } as const;
/** Scrape reply header, 8 bytes, then per infohash seeders/completed/leechers (12 bytes). */
const SCRAPE_RES = { action: [0, 4], transactionId: [4, 4], size: 8, entry: 12 } as const;
/** Error reply: action 3, transaction id, then a message. */
const ERROR_RES = { action: [0, 4], transactionId: [4, 4], size: 8 } as const;

/** BEP 15: "up to about 74 torrents can be scraped at once" (a full scrape packet is ~1500 bytes). */
export const MAX_SCRAPE_HASHES = 74;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(v: DataView, at: number): bigint {
  return v.getBigUint64(at);
}

/** A 64-bit counter, clamped to a safe integer (nobody transfers 9 PB per torrent). */
function counter(v: DataView, at: number): number {
  const n = v.getBigUint64(at);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

// ---- client side: requests out, replies in ----

export function encodeConnect(transactionId: number): Uint8Array {
  const b = new Uint8Array(CONNECT_REQ.size);
  const v = view(b);
  v.setBigUint64(CONNECT_REQ.protocolId[0], PROTOCOL_ID);
  v.setUint32(CONNECT_REQ.action[0], ACTION.connect);
  v.setUint32(CONNECT_REQ.transactionId[0], transactionId);
  return b;
}

export interface UdpAnnounceFields {
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly downloaded: number;
  readonly left: number;
  readonly uploaded: number;
  readonly event: AnnounceEvent;
  /** 0 = the sender's address. */
  readonly ip: number;
  readonly key: number;
  /** -1 = the tracker's default. */
  readonly numWant: number;
  readonly port: number;
}

export function encodeAnnounce(f: UdpAnnounceFields): Uint8Array {
  const b = new Uint8Array(ANNOUNCE_REQ.size);
  const v = view(b);
  v.setBigUint64(ANNOUNCE_REQ.connectionId[0], f.connectionId);
  v.setUint32(ANNOUNCE_REQ.action[0], ACTION.announce);
  v.setUint32(ANNOUNCE_REQ.transactionId[0], f.transactionId);
  b.set(f.infoHash, ANNOUNCE_REQ.infoHash[0]);
  b.set(f.peerId, ANNOUNCE_REQ.peerId[0]);
  v.setBigUint64(ANNOUNCE_REQ.downloaded[0], BigInt(Math.max(0, Math.floor(f.downloaded))));
  v.setBigUint64(ANNOUNCE_REQ.left[0], BigInt(Math.max(0, Math.floor(f.left))));
  v.setBigUint64(ANNOUNCE_REQ.uploaded[0], BigInt(Math.max(0, Math.floor(f.uploaded))));
  v.setUint32(ANNOUNCE_REQ.event[0], eventToUdp(f.event));
  v.setUint32(ANNOUNCE_REQ.ip[0], f.ip >>> 0);
  v.setUint32(ANNOUNCE_REQ.key[0], f.key >>> 0);
  v.setInt32(ANNOUNCE_REQ.numWant[0], f.numWant);
  v.setUint16(ANNOUNCE_REQ.port[0], f.port);
  return b;
}

export function encodeScrape(connectionId: bigint, transactionId: number, infoHashes: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(SCRAPE_REQ.size + 20 * infoHashes.length);
  const v = view(b);
  v.setBigUint64(SCRAPE_REQ.connectionId[0], connectionId);
  v.setUint32(SCRAPE_REQ.action[0], ACTION.scrape);
  v.setUint32(SCRAPE_REQ.transactionId[0], transactionId);
  infoHashes.forEach((h, i) => b.set(h, SCRAPE_REQ.size + 20 * i));
  return b;
}

/** The action and transaction id every reply starts with, or undefined for a packet shorter than 8 bytes. */
export function replyHeader(b: Uint8Array): { action: number; transactionId: number } | undefined {
  if (b.length < 8) return undefined;
  const v = view(b);
  return { action: v.getUint32(0), transactionId: v.getUint32(4) };
}

export function decodeConnectReply(b: Uint8Array): bigint {
  if (b.length < CONNECT_RES.size) throw new IsosyncError('BAD_REPLY', `Cannot read the tracker's connect reply: it has ${b.length} bytes, expected ${CONNECT_RES.size}`, { bytes: b.length });
  return u64(view(b), CONNECT_RES.connectionId[0]);
}

export interface UdpAnnounceReply {
  readonly interval: number;
  readonly leechers: number;
  readonly seeders: number;
  readonly peers: PeerAddress[];
}

/** `family` is the address family the request went over: it decides the peer entry size (BEP 15 "IPv6"). */
export function decodeAnnounceReply(b: Uint8Array, family: 4 | 6): UdpAnnounceReply {
  if (b.length < ANNOUNCE_RES.size) throw new IsosyncError('BAD_REPLY', `Cannot read the tracker's announce reply: it has ${b.length} bytes, below the minimum ${ANNOUNCE_RES.size}`, { bytes: b.length });
  const v = view(b);
  return {
    interval: v.getUint32(ANNOUNCE_RES.interval[0]),
    leechers: v.getUint32(ANNOUNCE_RES.leechers[0]),
    seeders: v.getUint32(ANNOUNCE_RES.seeders[0]),
    peers: decodeCompactPeers(b.subarray(ANNOUNCE_RES.size), family),
  };
}

export function decodeScrapeReply(b: Uint8Array, count: number): { seeders: number; completed: number; leechers: number }[] {
  const want = SCRAPE_RES.size + SCRAPE_RES.entry * count;
  if (b.length < want) throw new IsosyncError('BAD_REPLY', `Cannot read the tracker's scrape reply: it has ${b.length} bytes, expected ${want} for ${count} torrents`, { bytes: b.length });
  const v = view(b);
  const out = [];
  for (let i = 0; i < count; i++) {
    const at = SCRAPE_RES.size + SCRAPE_RES.entry * i;
    out.push({ seeders: v.getUint32(at), completed: v.getUint32(at + 4), leechers: v.getUint32(at + 8) });
  }
  return out;
}

export function decodeErrorReply(b: Uint8Array): string {
  const raw = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(ERROR_RES.size));
  const s = raw.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}...` : s || '(no message)';
}

// ---- server side: requests in, replies out ----

export type UdpRequest =
  | { readonly action: 'connect'; readonly transactionId: number }
  | ({ readonly action: 'announce' } & UdpAnnounceFields)
  | { readonly action: 'scrape'; readonly connectionId: bigint; readonly transactionId: number; readonly infoHashes: Uint8Array[] };

/**
 * Decodes a request. Returns undefined for a packet too short to carry a
 * transaction id (nothing can be answered); throws an Error with a short
 * message (sent back as an error action) for any other defect.
 */
export function decodeRequest(b: Uint8Array): { transactionId: number; request?: UdpRequest; error?: string } | undefined {
  if (b.length < 16) return undefined;
  const v = view(b);
  const connectionId = u64(v, 0);
  const action = v.getUint32(8);
  const transactionId = v.getUint32(12);
  if (action === ACTION.connect) {
    if (connectionId !== PROTOCOL_ID) return { transactionId, error: 'bad protocol id' };
    return { transactionId, request: { action: 'connect', transactionId } };
  }
  if (action === ACTION.announce) {
    if (b.length < ANNOUNCE_REQ.size) return { transactionId, error: `announce has ${b.length} bytes, below ${ANNOUNCE_REQ.size}` };
    const ev = v.getUint32(ANNOUNCE_REQ.event[0]);
    const event = (['', 'completed', 'started', 'stopped'] as const)[ev];
    if (event === undefined) return { transactionId, error: `unknown event ${ev}` };
    return {
      transactionId,
      request: {
        action: 'announce',
        connectionId,
        transactionId,
        infoHash: b.slice(16, 36),
        peerId: b.slice(36, 56),
        downloaded: counter(v, ANNOUNCE_REQ.downloaded[0]),
        left: counter(v, ANNOUNCE_REQ.left[0]),
        uploaded: counter(v, ANNOUNCE_REQ.uploaded[0]),
        event,
        ip: v.getUint32(ANNOUNCE_REQ.ip[0]),
        key: v.getUint32(ANNOUNCE_REQ.key[0]),
        numWant: v.getInt32(ANNOUNCE_REQ.numWant[0]),
        port: v.getUint16(ANNOUNCE_REQ.port[0]),
      },
    };
  }
  if (action === ACTION.scrape) {
    const n = (b.length - SCRAPE_REQ.size) / 20;
    if (!Number.isInteger(n) || n < 1) return { transactionId, error: 'scrape must carry whole 20-byte infohashes' };
    if (n > MAX_SCRAPE_HASHES) return { transactionId, error: `scrape of more than ${MAX_SCRAPE_HASHES} torrents` };
    const infoHashes: Uint8Array[] = [];
    for (let i = 0; i < n; i++) infoHashes.push(b.slice(SCRAPE_REQ.size + 20 * i, SCRAPE_REQ.size + 20 * (i + 1)));
    return { transactionId, request: { action: 'scrape', connectionId, transactionId, infoHashes } };
  }
  return { transactionId, error: `unknown action ${action}` };
}

export function encodeConnectReply(transactionId: number, connectionId: bigint): Uint8Array {
  const b = new Uint8Array(CONNECT_RES.size);
  const v = view(b);
  v.setUint32(CONNECT_RES.action[0], ACTION.connect);
  v.setUint32(CONNECT_RES.transactionId[0], transactionId);
  v.setBigUint64(CONNECT_RES.connectionId[0], connectionId);
  return b;
}

export function encodeAnnounceReply(
  transactionId: number,
  r: { interval: number; leechers: number; seeders: number },
  compactPeers: readonly Uint8Array[],
): Uint8Array {
  const entry = compactPeers[0]?.length ?? COMPACT_V4_BYTES;
  if (entry !== COMPACT_V4_BYTES && entry !== COMPACT_V6_BYTES) throw new IsosyncError('INTERNAL', `Internal error: compact peers must be 6 or 18 bytes, got ${entry}`);
  const b = new Uint8Array(ANNOUNCE_RES.size + entry * compactPeers.length);
  const v = view(b);
  v.setUint32(ANNOUNCE_RES.action[0], ACTION.announce);
  v.setUint32(ANNOUNCE_RES.transactionId[0], transactionId);
  v.setUint32(ANNOUNCE_RES.interval[0], r.interval);
  v.setUint32(ANNOUNCE_RES.leechers[0], Math.min(r.leechers, 0xffffffff));
  v.setUint32(ANNOUNCE_RES.seeders[0], Math.min(r.seeders, 0xffffffff));
  compactPeers.forEach((p, i) => b.set(p, ANNOUNCE_RES.size + entry * i));
  return b;
}

export function encodeScrapeReply(transactionId: number, entries: readonly { seeders: number; completed: number; leechers: number }[]): Uint8Array {
  const b = new Uint8Array(SCRAPE_RES.size + SCRAPE_RES.entry * entries.length);
  const v = view(b);
  v.setUint32(SCRAPE_RES.action[0], ACTION.scrape);
  v.setUint32(SCRAPE_RES.transactionId[0], transactionId);
  entries.forEach((e, i) => {
    const at = SCRAPE_RES.size + SCRAPE_RES.entry * i;
    v.setUint32(at, e.seeders);
    v.setUint32(at + 4, e.completed);
    v.setUint32(at + 8, e.leechers);
  });
  return b;
}

export function encodeErrorReply(transactionId: number, message: string): Uint8Array {
  const msg = new TextEncoder().encode(message);
  const b = new Uint8Array(ERROR_RES.size + msg.length);
  const v = view(b);
  v.setUint32(ERROR_RES.action[0], ACTION.error);
  v.setUint32(ERROR_RES.transactionId[0], transactionId);
  b.set(msg, ERROR_RES.size);
  return b;
}
