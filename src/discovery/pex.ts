/**
 * Peer exchange (BEP 11, the `ut_pex` extended message): connected peers
 * tell each other whom else they are connected to, so clients that start
 * together find each other without waiting for the next tracker announce.
 *
 * Message (a bencoded dictionary, every key optional):
 *   added      compact IPv4 peers, 6 bytes each (address, port big-endian)
 *   added.f    one flag byte per added IPv4 peer
 *   dropped    compact IPv4 peers no longer connected
 *   added6, added6.f, dropped6    the same for IPv6 (18 bytes each)
 * Flags: 0x01 prefers encryption, 0x02 seed (upload only), 0x04 supports
 * uTP, 0x08 supports holepunch, 0x10 reachable (we connected out to it).
 *
 * Policy (PexSchedule): the first message to a peer goes right after its
 * extended handshake and holds everyone we are connected to (so peers that
 * start together meet within one round trip); after that, one message a
 * minute at most (BEP 11), each with at most MAX_PER_MESSAGE added and
 * dropped peers: the difference between what the peer was told and whom we
 * are connected to now.
 *
 * Pure: no sockets, no timers; the clock is passed in.
 */
import { isIP } from 'node:net';
import { IsosyncError } from '../errors.js';
import { decodeBencode } from '../torrent/bencode-decode.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { isDict } from '../torrent/fields.js';

export const UT_PEX = 'ut_pex';
/** BEP 11: at most 50 added and 50 dropped peers per message. */
export const MAX_PER_MESSAGE = 50;
/** BEP 11: at most one message a minute to each peer. */
export const PEX_INTERVAL_MS = 60_000;
/** A message with more entries than this (per list) is refused, not truncated: an honest peer sends 50. */
const MAX_ACCEPTED_ENTRIES = 200;

export const PexFlag = { encryption: 0x01, seed: 0x02, utp: 0x04, holepunch: 0x08, reachable: 0x10 } as const;

export interface PexPeer {
  readonly host: string;
  readonly port: number;
  readonly flags?: number;
}

export interface PexMessage {
  readonly added: readonly PexPeer[];
  readonly dropped: readonly PexPeer[];
}

export function encodePex(m: PexMessage): Uint8Array {
  const v4 = m.added.filter((p) => isIP(p.host) === 4);
  const v6 = m.added.filter((p) => isIP(p.host) === 6);
  const d4 = m.dropped.filter((p) => isIP(p.host) === 4);
  const d6 = m.dropped.filter((p) => isIP(p.host) === 6);
  return encodeBencode({
    added: compact(v4, 4),
    'added.f': new Uint8Array(v4.map((p) => p.flags ?? 0)),
    added6: v6.length > 0 ? compact(v6, 6) : undefined,
    'added6.f': v6.length > 0 ? new Uint8Array(v6.map((p) => p.flags ?? 0)) : undefined,
    dropped: compact(d4, 4),
    dropped6: d6.length > 0 ? compact(d6, 6) : undefined,
  });
}

/** Decodes a ut_pex payload; a malformed one throws IsosyncError('BAD_REPLY'). Port-0 entries are dropped. */
export function decodePex(payload: Uint8Array): PexMessage {
  const bad = (why: string): never => {
    throw new IsosyncError('BAD_REPLY', `Cannot read a ut_pex message: ${why}`);
  };
  let d;
  try {
    d = decodeBencode(payload).value;
  } catch (e) {
    return bad((e as Error).message);
  }
  if (!isDict(d)) return bad('it is not a dictionary');
  const list = (key: string, family: 4 | 6): PexPeer[] => {
    const v = d.get(key);
    if (v === undefined) return [];
    const size = family === 4 ? 6 : 18;
    if (!(v instanceof Uint8Array) || v.length % size !== 0) return bad(`${key} is not a multiple of ${size} bytes`);
    if (v.length / size > MAX_ACCEPTED_ENTRIES) return bad(`${key} lists ${v.length / size} peers, more than ${MAX_ACCEPTED_ENTRIES}`);
    const flagsValue = d.get(`${key}.f`);
    const flags = flagsValue instanceof Uint8Array ? flagsValue : undefined;
    const out: PexPeer[] = [];
    for (let i = 0; i < v.length / size; i++) {
      const entry = v.subarray(i * size, (i + 1) * size);
      const port = (entry[size - 2]! << 8) | entry[size - 1]!;
      if (port === 0) continue;
      out.push({ host: family === 4 ? entry.subarray(0, 4).join('.') : ipv6(entry.subarray(0, 16)), port, ...(flags && i < flags.length ? { flags: flags[i]! } : {}) });
    }
    return out;
  };
  return { added: [...list('added', 4), ...list('added6', 6)], dropped: [...list('dropped', 4), ...list('dropped6', 6)] };
}

function compact(peers: readonly PexPeer[], family: 4 | 6): Uint8Array {
  const size = family === 4 ? 6 : 18;
  const out = new Uint8Array(peers.length * size);
  peers.forEach((p, i) => {
    const at = i * size;
    if (family === 4) p.host.split('.').forEach((o, j) => (out[at + j] = Number(o)));
    else out.set(ipv6Bytes(p.host), at);
    out[at + size - 2] = p.port >> 8;
    out[at + size - 1] = p.port & 0xff;
  });
  return out;
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // The URL parser prints the canonical (RFC 5952) form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function ipv6Bytes(host: string): Uint8Array {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

const key = (p: { host: string; port: number }) => `${p.host}|${p.port}`;

/**
 * What to tell one connected peer, and when. `connected` is everyone we are
 * connected to in this swarm (the peer itself is left out here).
 */
export class PexSchedule {
  private told = new Map<string, PexPeer>();
  private lastSent: number | undefined;

  constructor(private readonly self: { host: string; port: number }) {}

  /** The message to send now, or undefined (nothing new, or sent less than a minute ago). */
  next(now: number, connected: readonly PexPeer[]): PexMessage | undefined {
    if (this.lastSent !== undefined && now - this.lastSent < PEX_INTERVAL_MS) return undefined;
    const current = new Map<string, PexPeer>();
    for (const p of connected) if (key(p) !== key(this.self)) current.set(key(p), p);
    const added: PexPeer[] = [];
    const dropped: PexPeer[] = [];
    for (const [k, p] of current) if (!this.told.has(k) && added.length < MAX_PER_MESSAGE) added.push(p);
    for (const [k, p] of this.told) if (!current.has(k) && dropped.length < MAX_PER_MESSAGE) dropped.push(p);
    if (added.length === 0 && dropped.length === 0) return undefined;
    for (const p of added) this.told.set(key(p), p);
    for (const p of dropped) this.told.delete(key(p));
    this.lastSent = now;
    return { added, dropped };
  }

  /** When next() may send again (for the caller's timer), or 0 when it may now. */
  waitMs(now: number): number {
    return this.lastSent === undefined ? 0 : Math.max(0, this.lastSent + PEX_INTERVAL_MS - now);
  }
}
