/**
 * Reading HTTP tracker replies (BEP 3 "Trackers", BEP 23 compact peers,
 * BEP 7 `peers6`, BEP 48 scrape), as the client sees them.
 *
 * An announce reply is a bencoded dictionary with either `failure reason`
 * (nothing else counts) or `interval` and `peers`, where `peers` is a
 * compact string (BEP 23) or a list of `{ip, port, peer id}` dictionaries
 * (the original "dictionary model"). Optional: `min interval`, `tracker id`,
 * `warning message`, `complete`/`incomplete` (seeders/leechers), `peers6`,
 * `external ip` (BEP 24).
 *
 * Every defect is an IsosyncError BAD_REPLY naming the field at fault (a
 * tracker's `failure reason` is a TrackerRefusal); the caller adds the
 * tracker's URL and turns it into a warning. A dictionary-model entry whose
 * address is not an IP address or a host name (`../../etc`) or whose port
 * is not 1-65535 is left out and counted, so nobody ever looks it up; the
 * rest of the reply still counts. Sizes are bounded only by the caller's
 * reply cap: 200,000 peers parse with no recursion or spread. Pure: no I/O.
 */
import { IsosyncError, TrackerRefusal, type ErrorFields } from '../errors.js';
import { decodeBencode, type BDict, type BValue } from '../torrent/bencode-decode.js';
import { decodeCompactPeers, isPeerHost, type PeerAddress } from './compact-peers.js';

export interface AnnounceReply {
  /** Seconds until the next regular announce. */
  readonly interval: number;
  /** Seconds the tracker asks us to wait at least between announces, when it says. */
  readonly minInterval?: number;
  readonly peers: PeerAddress[];
  /** Peer ids of the dictionary model, by "host:port", so a client can drop its own entry. */
  readonly peerIds: ReadonlyMap<string, Uint8Array>;
  /** Dictionary-model entries left out: no usable port, or an `ip` that is neither an IP address nor a host name (never looked up). */
  readonly skipped?: { readonly count: number; readonly first: string };
  readonly seeders?: number;
  readonly leechers?: number;
  readonly trackerId?: Uint8Array;
  readonly warning?: string;
  /** BEP 24: the address the tracker saw us at. */
  readonly externalIp?: string;
}

/** A malformed reply: `detail` says what is wrong, `fields` where. */
export function badReply(detail: string, fields: ErrorFields = {}, cause?: unknown): IsosyncError {
  return new IsosyncError('BAD_REPLY', `Cannot read the tracker's reply: ${detail}`, fields, cause === undefined ? undefined : { cause });
}

/** Longest host name (RFC 1035 §2.3.4: 253 characters) plus brackets around an IPv6 address. */
const MAX_HOST_BYTES = 255;

/** Longest text kept from a tracker (failure reason, warning), so one line stays one line. */
const MAX_TEXT_CHARS = 200;

export function text(b: BValue | undefined): string | undefined {
  if (!(b instanceof Uint8Array)) return undefined;
  const s = new TextDecoder('utf-8', { fatal: false }).decode(b).replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return s.length > MAX_TEXT_CHARS ? `${s.slice(0, MAX_TEXT_CHARS)}...` : s;
}

function dictOf(bytes: Uint8Array): BDict {
  let value: BValue;
  try {
    value = decodeBencode(bytes).value;
  } catch (e) {
    throw badReply(`it is not bencode (${(e as Error).message})`, { field: '' }, e);
  }
  if (!(value instanceof Map)) throw badReply('it is not a bencoded dictionary', { field: '' });
  return value;
}

function optionalCount(d: BDict, key: string): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < 0) throw badReply(`"${key}" is not a non-negative integer`, { field: key });
  return v;
}

export function parseAnnounceReply(bytes: Uint8Array): AnnounceReply {
  const d = dictOf(bytes);
  const failure = d.get('failure reason');
  if (failure !== undefined) throw new TrackerRefusal(text(failure) ?? 'failure (reason is not a string)');
  const interval = d.get('interval');
  if (typeof interval !== 'number' || interval < 0) throw badReply('it has no valid "interval"', { field: 'interval' });
  const minInterval = optionalCount(d, 'min interval');
  let peers: PeerAddress[] = [];
  const peerIds = new Map<string, Uint8Array>();
  const skipped: { count: number; first?: string } = { count: 0 };
  const p = d.get('peers');
  if (p instanceof Uint8Array) peers = decodeCompactPeers(p, 4);
  else if (Array.isArray(p)) {
    for (const entry of p as BValue[]) {
      if (!(entry instanceof Map)) throw badReply('an entry of the "peers" list is not a dictionary', { field: 'peers' });
      const ip = entry.get('ip');
      const port = entry.get('port');
      // The raw bytes, unaltered: an address is checked as sent, and a bad one is skipped, not repaired.
      const raw = ip instanceof Uint8Array && ip.length <= MAX_HOST_BYTES ? Buffer.from(ip).toString('latin1') : undefined;
      const host = raw?.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
      if (host === undefined || !isPeerHost(host) || typeof port !== 'number' || port < 1 || port > 65535) {
        skipped.count++;
        skipped.first ??= `${ip instanceof Uint8Array ? text(ip) ?? '' : '(no ip)'}:${typeof port === 'number' ? port : '(no port)'}`;
        continue;
      }
      peers.push({ host, port });
      const id = entry.get('peer id');
      if (id instanceof Uint8Array) peerIds.set(`${host}:${port}`, id);
    }
  } else if (p !== undefined) throw badReply('"peers" is neither a string nor a list', { field: 'peers' });
  const p6 = d.get('peers6');
  if (p6 !== undefined) {
    if (!(p6 instanceof Uint8Array)) throw badReply('"peers6" is not a string', { field: 'peers6' });
    for (const peer of decodeCompactPeers(p6, 6)) peers.push(peer);
  }
  const out: {
    -readonly [K in keyof AnnounceReply]: AnnounceReply[K];
  } = { interval, peers, peerIds };
  if (minInterval !== undefined) out.minInterval = minInterval;
  if (skipped.first !== undefined) out.skipped = { count: skipped.count, first: skipped.first };
  const seeders = optionalCount(d, 'complete');
  const leechers = optionalCount(d, 'incomplete');
  if (seeders !== undefined) out.seeders = seeders;
  if (leechers !== undefined) out.leechers = leechers;
  const tid = d.get('tracker id');
  if (tid instanceof Uint8Array && tid.length > 0) out.trackerId = tid;
  const warning = text(d.get('warning message'));
  if (warning) out.warning = warning;
  const ext = d.get('external ip');
  if (ext instanceof Uint8Array && (ext.length === 4 || ext.length === 16)) out.externalIp = externalIpToString(ext);
  return out;
}

function externalIpToString(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const padded = new Uint8Array(18);
  padded.set(b, 0);
  padded[17] = 1;
  return decodeCompactPeers(padded, 6)[0]!.host;
}

export interface ScrapeCounts {
  /** Seeders. */
  readonly complete: number;
  /** Leechers. */
  readonly incomplete: number;
  /** Completed downloads the tracker has seen. */
  readonly downloaded: number;
}

/** BEP 48: `files` maps each 20-byte infohash to its counts. Returns the entry of `infoHash`, or undefined when absent. */
export function parseScrapeReply(bytes: Uint8Array, infoHash: Uint8Array): ScrapeCounts | undefined {
  const d = dictOf(bytes);
  const failure = d.get('failure reason');
  if (failure !== undefined) throw new TrackerRefusal(text(failure) ?? 'failure (reason is not a string)');
  const files = d.get('files');
  if (!(files instanceof Map)) throw badReply('the scrape reply has no "files" dictionary', { field: 'files' });
  const entry = files.get(Buffer.from(infoHash).toString('latin1'));
  if (entry === undefined) return undefined;
  if (!(entry instanceof Map)) throw badReply('the scrape entry is not a dictionary', { field: 'files' });
  return {
    complete: optionalCount(entry, 'complete') ?? 0,
    incomplete: optionalCount(entry, 'incomplete') ?? 0,
    downloaded: optionalCount(entry, 'downloaded') ?? 0,
  };
}
