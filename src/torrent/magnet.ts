/**
 * Magnet links (BEP 9 §"magnet URI format", BEP 53 `so`): parsed into the
 * infohashes and hints a client needs to fetch the info dictionary.
 *
 *   xt=urn:btih:<40 hex | 32 base32>     v1 infohash (SHA-1)
 *   xt=urn:btmh:1220<64 hex>             v2 infohash (a multihash: sha2-256, 32 bytes)
 *   dn=<name>                            display name
 *   tr=<url>                             tracker (repeatable)
 *   ws=<url>                             web seed, BEP 19 (repeatable)
 *   x.pe=<host:port>                     a peer to contact (repeatable)
 *   xl=<bytes>                           exact length
 *   so=<i,j,k-l,...>                     BEP 53: select only these file indexes
 *
 * A hybrid torrent's magnet carries both xt. At least one is required; the
 * v1 hash is the wire infohash when present, else the v2 one cut to 20 bytes
 * (BEP 52). Unknown parameters are ignored (the format is open-ended);
 * trackers, web seeds and peers that are not usable URLs or addresses are
 * left out and listed in `ignored`, so one bad `tr` does not lose the link.
 *
 * Hostile input is bounded: at most MAX_MAGNET_CHARS characters and
 * MAX_PARAMS parameters, and `so` stays a list of spans, never expanded.
 * (The magnet-uri package expands `so` ranges into arrays and accepts any
 * 40 characters as a hash; see docs/LIBRARIES.md.)
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import { mergeSpans } from '../core/span.js';
import { parseInfoHash, infoHashFromBytes, type InfoHash } from './info-hash.js';
import { parseInfoHashV2, type InfoHashV2 } from './v2-info.js';

/** Longer links are refused: real ones are a few hundred characters; 64 KiB leaves room for many trackers. */
export const MAX_MAGNET_CHARS = 64 * 1024;
/** More parameters than this are refused. */
export const MAX_PARAMS = 1000;
/** BEP 53 entries beyond this are refused (each may be a range). */
export const MAX_SELECT_ENTRIES = 1000;

export interface MagnetPeer {
  readonly host: string;
  readonly port: number;
}

/** A half-open range of file indexes [start, end). */
export interface IndexSpan {
  readonly start: number;
  readonly end: number;
}

export interface MagnetLink {
  /** v1 infohash (urn:btih). */
  readonly infoHash?: InfoHash;
  /** v2 infohash (urn:btmh), 64 hex digits. */
  readonly infoHashV2?: InfoHashV2;
  /** What goes on the wire and to trackers and the DHT: v1, else v2 cut to 20 bytes. */
  readonly wireInfoHash: InfoHash;
  readonly name?: string;
  readonly trackers: readonly string[];
  readonly webSeeds: readonly string[];
  readonly peers: readonly MagnetPeer[];
  readonly exactLength?: number;
  /** BEP 53 file selection, as sorted, merged spans of file indexes; undefined when absent. */
  readonly selectOnly?: readonly IndexSpan[];
  /** Parameters left out, with the reason (for a warning). */
  readonly ignored: readonly string[];
}

export function isMagnet(s: string): boolean {
  return /^magnet:\?/i.test(s);
}

/** Whether file `index` is selected by `so` (every file when there is no `so`). */
export function magnetSelects(m: Pick<MagnetLink, 'selectOnly'>, index: number): boolean {
  return m.selectOnly === undefined || m.selectOnly.some((s) => index >= s.start && index < s.end);
}

export function parseMagnet(uri: string): MagnetLink {
  const fail: (why: string) => never = (why) => {
    const shown = uri.length > 80 ? `${uri.slice(0, 80)}...` : uri;
    throw new IsosyncError('BAD_ARGUMENT', `Cannot read magnet link ${JSON.stringify(shown)}: ${why}`, { magnet: shown });
  };
  if (uri.length > MAX_MAGNET_CHARS) fail(`it is longer than ${MAX_MAGNET_CHARS} characters`);
  if (!isMagnet(uri)) fail('it does not start with "magnet:?"');
  const query = uri.slice('magnet:?'.length);
  const params = query.length === 0 ? [] : query.split('&');
  if (params.length > MAX_PARAMS) fail(`it has more than ${MAX_PARAMS} parameters`);

  let v1: InfoHash | undefined;
  let v2: InfoHashV2 | undefined;
  let name: string | undefined;
  let exactLength: number | undefined;
  let selectOnly: IndexSpan[] | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: MagnetPeer[] = [];
  const ignored: string[] = [];

  for (const param of params) {
    if (param.length === 0) continue;
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).toLowerCase();
    const raw = eq < 0 ? '' : param.slice(eq + 1);
    const value = decode(key === 'dn' ? raw.replace(/\+/g, ' ') : raw) ?? fail(`parameter ${key} has a bad percent-escape`);
    switch (key) {
      case 'xt': {
        const m = /^urn:(btih|btmh):(.*)$/i.exec(value);
        if (!m) {
          ignored.push(`xt ${value}: not urn:btih or urn:btmh`);
          break;
        }
        if (m[1]!.toLowerCase() === 'btih') {
          const h = btih(m[2]!);
          if (!h) fail(`xt urn:btih:${m[2]} is not 40 hex digits or 32 base32 characters`);
          if (v1 !== undefined && v1 !== h) fail('it names two different v1 infohashes');
          v1 = h;
        } else {
          const h = btmh(m[2]!);
          if (!h) fail(`xt urn:btmh:${m[2]} is not a sha2-256 multihash (1220 and 64 hex digits)`);
          if (v2 !== undefined && v2 !== h) fail('it names two different v2 infohashes');
          v2 = h;
        }
        break;
      }
      case 'dn':
        name = value;
        break;
      case 'tr':
        if (usableUrl(value, ['http:', 'https:', 'udp:', 'ws:', 'wss:'])) pushOnce(trackers, value);
        else ignored.push(`tr ${value}: not an http, https, udp or ws tracker URL`);
        break;
      case 'ws':
        if (usableUrl(value, ['http:', 'https:'])) pushOnce(webSeeds, value);
        else ignored.push(`ws ${value}: not an http or https URL`);
        break;
      case 'x.pe': {
        const p = hostPort(value);
        if (p) peers.push(p);
        else ignored.push(`x.pe ${value}: not host:port`);
        break;
      }
      case 'xl':
        if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) fail(`xl ${JSON.stringify(value)} is not a byte count`);
        exactLength = Number(value);
        break;
      case 'so':
        selectOnly = mergeSpans([...(selectOnly ?? []), ...selection(value, fail)]);
        break;
      default:
        break;
    }
  }
  if (v1 === undefined && v2 === undefined) fail('it has no xt=urn:btih: or xt=urn:btmh: infohash');
  const wire = v1 ?? infoHashFromBytes(Buffer.from(v2!, 'hex').subarray(0, 20));
  return Object.freeze({
    wireInfoHash: wire,
    trackers,
    webSeeds,
    peers,
    ignored,
    ...(v1 !== undefined ? { infoHash: v1 } : {}),
    ...(v2 !== undefined ? { infoHashV2: v2 } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(exactLength !== undefined ? { exactLength } : {}),
    ...(selectOnly !== undefined ? { selectOnly } : {}),
  });
}

/** A magnet link for a torrent: both infohashes when it has them, its name, trackers and web seeds. */
export function formatMagnet(m: { infoHash?: string; infoHashV2?: string; name?: string; trackers?: readonly string[]; webSeeds?: readonly string[] }): string {
  const parts: string[] = [];
  if (m.infoHash) parts.push(`xt=urn:btih:${m.infoHash}`);
  if (m.infoHashV2) parts.push(`xt=urn:btmh:1220${m.infoHashV2}`);
  if (m.name !== undefined) parts.push(`dn=${encodeURIComponent(m.name)}`);
  for (const t of m.trackers ?? []) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const w of m.webSeeds ?? []) parts.push(`ws=${encodeURIComponent(w)}`);
  return `magnet:?${parts.join('&')}`;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function btih(s: string): InfoHash | undefined {
  if (s.length === 40) return parseInfoHash(s);
  if (s.length !== 32) return undefined;
  const out = new Uint8Array(20);
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >>> bits) & 0xff;
    }
  }
  return infoHashFromBytes(out);
}

function btmh(s: string): InfoHashV2 | undefined {
  // multihash: 0x12 = sha2-256, 0x20 = 32 bytes of digest.
  if (!/^1220/i.test(s)) return undefined;
  return parseInfoHashV2(s.slice(4));
}

function usableUrl(s: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(s).protocol);
  } catch {
    return false;
  }
}

function hostPort(s: string): MagnetPeer | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

function pushOnce(list: string[], v: string): void {
  if (!list.includes(v)) list.push(v);
}

/** BEP 53: "0,2,4-6" -> spans [0,1) [2,3) [4,7). */
function selection(value: string, fail: (why: string) => never): IndexSpan[] {
  const entries = value.split(',');
  if (entries.length > MAX_SELECT_ENTRIES) fail(`so has more than ${MAX_SELECT_ENTRIES} entries`);
  return entries.map((e) => {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(e);
    if (!m) fail(`so entry ${JSON.stringify(e)} is not an index or a range like 4-6`);
    const start = Number(m[1]);
    const last = m[2] === undefined ? start : Number(m[2]);
    if (last < start) fail(`so range ${JSON.stringify(e)} ends before it starts`);
    return { start, end: last + 1 };
  });
}

