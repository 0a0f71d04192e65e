/**
 * Metainfo (.torrent) parsing and validation, BEP 3 with BEP 12
 * (announce-list), BEP 17 (httpseeds), BEP 19 (url-list), BEP 27 (private),
 * BEP 38 (collections, similar), BEP 47 (pad files), BEP 52 (v2 and hybrid
 * torrents, v2-info.ts) and isosync's own keys (isosync-keys.ts).
 *
 * Field table (BEP 3 §"metainfo files"), as validated here:
 *   announce        text                 tracker URL
 *   announce-list   list of list of text tiers (BEP 12)
 *   url-list        text | list of text  web seeds (BEP 19)
 *   httpseeds       list of text         HTTP seeds (BEP 17; Debian's BitTornado torrents)
 *   piece layers    dictionary           BEP 52, see v2-info.ts
 *   comment         text
 *   created by      text
 *   creation date   integer              seconds since 1970
 *   info            dictionary           hashed: the infohash is SHA-1 of its raw bytes
 *     name          text                 one path component: not empty, no "/", not "." or ".."
 *     piece length  integer              a positive power of two
 *     pieces        byte string          20-byte SHA-1 per piece (v1 and hybrid; absent in v2-only)
 *     meta version, file tree              BEP 52, see v2-info.ts
 *     length        integer >= 1         single-file torrents
 *     files         list of {length, path: list of text}   multi-file torrents (one of length/files)
 *     private       integer 0 | 1        BEP 27
 * The piece count must be ceil(total length / piece length).
 *
 * Versions: a v1 torrent has `pieces` only, a v2-only torrent `file tree`
 * only, a hybrid both (checked to describe the same files). `infoHash` is
 * the hash that goes on the wire: SHA-1 for v1 and hybrid, the SHA-256
 * truncated to 20 bytes for v2-only; `v2.infoHash` is the full SHA-256. A
 * v2-only multi-file torrent lists its files here with pad entries between
 * them (as a hybrid's v1 list would), so offsets are piece-aligned as in v2.
 *
 * The result is a frozen Metainfo, so later code never re-checks it. Any
 * defect throws IsosyncError('BAD_TORRENT') with one line naming the field and
 * its value: `Cannot read torrent "x.torrent": info.pieces length 59 is not a
 * multiple of 20`.
 *
 * Pure: no I/O (the caller reads the file).
 */
import { invariant, IsosyncError } from '../errors.js';
import { BencodeError, decodeBencode, type BDict } from './bencode-decode.js';
import {
  bad,
  FieldError,
  getBytes,
  getDict,
  getInt,
  getList,
  getText,
  isDict,
  isList,
  kindOf,
  required,
  showBytes,
  textOf,
  utf8OrUndefined,
} from './fields.js';
import { computeInfoHash, infoHashFromBytes, SHA1_BYTES, type InfoHash } from './info-hash.js';
import type { PieceIndex } from '../core/ids.js';
import { parseCollections, parseIsosyncInfo, parseSimilar, type IsosyncInfo } from './isosync-keys.js';
import { checkHybrid, hasV2, parseV2, type V2Info } from './v2-info.js';

/** v1: SHA-1 pieces only; v2: BEP 52 merkle trees only; hybrid: both, over the same files. */
export type MetaVersion = 'v1' | 'v2' | 'hybrid';

export interface FileEntry {
  /** Path components below the torrent's name. */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset of the file in the torrent's concatenated content. */
  readonly offset: number;
  /** BEP 47 attributes (e.g. "p" for a padding file), "" when absent. */
  readonly attr: string;
}

export interface Metainfo {
  readonly version: MetaVersion;
  /** File name (single-file) or directory name (multi-file). */
  readonly name: string;
  /** Total content length in bytes. */
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** pieceCount × 20 bytes of SHA-1; empty for a v2-only torrent (its pieces are checked with v2's merkle trees). */
  readonly pieces: Uint8Array;
  /** The wire infohash: v1 SHA-1 (v1, hybrid) or the v2 SHA-256 truncated to 20 bytes (v2-only). */
  readonly infoHash: InfoHash;
  readonly infoHashBytes: Uint8Array;
  /** BEP 52 metadata of v2 and hybrid torrents: the SHA-256 infohash, files with pieces roots, piece layers. */
  readonly v2?: V2Info;
  readonly announce?: string;
  /** BEP 12 tiers; empty tiers dropped. */
  readonly announceList: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly urlList: readonly string[];
  /** BEP 17 HTTP seeds (`httpseeds`), as written; http-seeds.ts tells script URLs from plain file URLs. */
  readonly httpSeeds: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since 1970. */
  readonly creationDate?: number;
  readonly private: boolean;
  /** Present for multi-file torrents only. */
  readonly files?: readonly FileEntry[];
  /** BEP 38. */
  readonly collections: readonly string[];
  readonly similar: readonly InfoHash[];
  /** isosync's product/release/lineage/hints; undefined for other torrents. */
  readonly isosync?: IsosyncInfo;
  /** The raw bencoded info dictionary, exactly as in the file. */
  readonly rawInfo: Uint8Array;
}

/** Largest piece length accepted when reading: 2^30 bytes (1 GiB), far above any real torrent (libtorrent caps at 128 MiB). */
export const MAX_PIECE_LENGTH_READ = 2 ** 30;

/**
 * Decodes and validates a metainfo file. `label` names the file in errors
 * (the path as the user gave it).
 */
export function parseMetainfo(bytes: Uint8Array, label: string): Metainfo {
  try {
    return validate(bytes);
  } catch (e) {
    if (e instanceof BencodeError) {
      throw new IsosyncError('BAD_TORRENT', `Cannot read torrent ${JSON.stringify(label)}: ${e.detail}`, {
        path: label,
        offset: e.offset,
      });
    }
    if (e instanceof FieldError) {
      throw new IsosyncError('BAD_TORRENT', `Cannot read torrent ${JSON.stringify(label)}: ${e.detail}`, {
        path: label,
        field: e.field,
      });
    }
    throw e;
  }
}

/** Tracker tiers (BEP 12): announce-list when present (it supersedes announce), else announce alone. */
export function trackerTiers(m: Pick<Metainfo, 'announce' | 'announceList'>): string[][] {
  if (m.announceList.length > 0) return m.announceList.map((t) => [...t]);
  return m.announce ? [[m.announce]] : [];
}

/** The 20-byte SHA-1 of piece `i` (a view into metainfo.pieces). */
export function pieceHash(m: Pick<Metainfo, 'pieces'>, i: PieceIndex): Uint8Array {
  return m.pieces.subarray(i * SHA1_BYTES, (i + 1) * SHA1_BYTES);
}

/** Length of piece `i`: pieceLength, except the last piece which may be shorter. */
export function pieceSize(m: Pick<Metainfo, 'length' | 'pieceLength'>, i: PieceIndex): number {
  return Math.min(m.pieceLength, m.length - i * m.pieceLength);
}

function validate(bytes: Uint8Array): Metainfo {
  const { value, infoSpan } = decodeBencode(bytes);
  if (!isDict(value)) bad('', `the top level is ${kindOf(value)}, expected a dictionary`);
  const info = required(getDict(value, 'info', ''), 'info');
  invariant(infoSpan, 'the bencode decoder lost the span of info');
  const rawInfo = bytes.subarray(infoSpan.start, infoSpan.end);

  const name = componentName(required(getBytes(info, 'name', 'info'), 'info.name'), 'info.name');
  const pieceLength = required(getInt(info, 'piece length', 'info'), 'info.piece length');
  if (!isPowerOfTwo(pieceLength)) bad('info.piece length', `info.piece length ${pieceLength} is not a positive power of two`);
  if (pieceLength > MAX_PIECE_LENGTH_READ) {
    bad('info.piece length', `info.piece length ${pieceLength} is above the limit ${MAX_PIECE_LENGTH_READ}`);
  }
  const v2 = hasV2(info) ? parseV2(value, info, rawInfo, pieceLength, componentName) : undefined;
  const v1 = v2 && !info.has('pieces') ? v2OnlyLayout(v2, pieceLength) : v1Layout(info, pieceLength, v2);
  const { pieces, length, files, pieceCount } = v1;
  const priv = getInt(info, 'private', 'info');
  if (priv !== undefined && priv !== 0 && priv !== 1) bad('info.private', `info.private ${priv} is not 0 or 1`);

  const collections = parseCollections(info);
  const similar = parseSimilar(info);
  const isosync = parseIsosyncInfo(info);

  const creationDate = getInt(value, 'creation date', '');
  const hash = v1.version === 'v2' ? truncatedV2(v2!) : computeInfoHash(rawInfo);
  const m: Metainfo = {
    version: v1.version,
    name,
    length,
    pieceLength,
    pieceCount,
    pieces,
    infoHash: hash.hex,
    infoHashBytes: hash.bytes,
    announceList: announceList(value),
    urlList: urlList(value),
    httpSeeds: httpSeeds(value),
    private: priv === 1,
    collections,
    similar,
    rawInfo,
    ...opt('announce', getText(value, 'announce', '')),
    ...opt('comment', getText(value, 'comment', '')),
    ...opt('createdBy', getText(value, 'created by', '')),
    ...opt('creationDate', creationDate),
    ...opt('files', files),
    ...opt('isosync', isosync),
    ...opt('v2', v2),
  };
  return Object.freeze(m);
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

interface Layout {
  readonly version: MetaVersion;
  readonly pieces: Uint8Array;
  readonly length: number;
  readonly files?: FileEntry[];
  readonly pieceCount: number;
}

/** v1 and hybrid: the v1 keys, checked against the v2 ones for a hybrid. */
function v1Layout(info: BDict, pieceLength: number, v2: V2Info | undefined): Layout {
  const pieces = required(getBytes(info, 'pieces', 'info'), 'info.pieces');
  if (pieces.length % SHA1_BYTES !== 0) {
    bad('info.pieces', `info.pieces length ${pieces.length} is not a multiple of ${SHA1_BYTES}`);
  }
  const { length, files } = contentLength(info);
  const pieceCount = pieces.length / SHA1_BYTES;
  const needed = Math.ceil(length / pieceLength);
  if (needed !== pieceCount) {
    const what = files ? 'the files\' total length' : 'info.length';
    bad('info.pieces', `${what} ${length} needs ${needed} pieces of ${pieceLength} bytes, but info.pieces holds ${pieceCount}`);
  }
  if (v2) {
    const name = textOf(info.get('name')!, 'info.name');
    checkHybrid(files ?? [{ path: [name], length, offset: 0, attr: '' }], v2, pieceLength, pieceCount);
  }
  return { version: v2 ? 'hybrid' : 'v1', pieces, length, pieceCount, ...opt('files', files) };
}

/** v2-only: one file, or the files at their piece-aligned offsets with pad entries between them. */
function v2OnlyLayout(v2: V2Info, pieceLength: number): Layout {
  const only = v2.files.length === 1 && v2.files[0]!.path.length === 1 ? v2.files[0]! : undefined;
  const pieceCount = Math.ceil(v2.alignedLength / pieceLength);
  const base = { version: 'v2' as const, pieces: new Uint8Array(0), length: v2.alignedLength, pieceCount };
  if (only) return base;
  const files: FileEntry[] = [];
  let end = 0;
  for (const f of v2.files) {
    if (f.offset > end) files.push(Object.freeze({ path: Object.freeze(['.pad', String(f.offset - end)]), length: f.offset - end, offset: end, attr: 'p' }));
    files.push(Object.freeze({ path: f.path, length: f.length, offset: f.offset, attr: f.attr }));
    end = f.offset + f.length;
  }
  return { ...base, files };
}

/** BEP 52: a v2-only torrent is known on the wire by its SHA-256 infohash cut to 20 bytes. */
export function truncatedV2(v2: V2Info): { hex: InfoHash; bytes: Uint8Array } {
  const bytes = v2.infoHashBytes.slice(0, SHA1_BYTES);
  return { hex: infoHashFromBytes(bytes), bytes };
}

function contentLength(info: BDict): { length: number; files?: FileEntry[] } {
  const single = getInt(info, 'length', 'info');
  const list = getList(info, 'files', 'info');
  if (single !== undefined && list !== undefined) bad('info.files', 'info has both length and files');
  if (list === undefined) {
    if (single === undefined) bad('info.length', 'info.length is missing');
    if (single < 0) bad('info.length', `info.length ${single} is negative`);
    if (single === 0) bad('info.length', 'info.length 0 is not positive');
    return { length: single };
  }
  if (list.length === 0) bad('info.files', 'info.files is an empty list');
  const files: FileEntry[] = [];
  let offset = 0;
  list.forEach((entry, i) => {
    const at = `info.files[${i}]`;
    if (!isDict(entry)) bad(at, `${at} is ${kindOf(entry)}, expected a dictionary`);
    const len = required(getInt(entry, 'length', at), `${at}.length`);
    if (len < 0) bad(`${at}.length`, `${at}.length ${len} is negative`);
    const parts = required(getList(entry, 'path', at), `${at}.path`);
    if (parts.length === 0) bad(`${at}.path`, `${at}.path is an empty list`);
    const path = parts.map((p, j) => {
      if (!(p instanceof Uint8Array)) bad(`${at}.path[${j}]`, `${at}.path[${j}] is ${kindOf(p)}, expected a byte string`);
      return componentName(p, `${at}.path[${j}]`);
    });
    const attr = getText(entry, 'attr', at) ?? '';
    files.push(Object.freeze({ path: Object.freeze(path), length: len, offset, attr }));
    offset += len;
    if (!Number.isSafeInteger(offset)) bad('info.files', 'the files\' total length is out of range');
  });
  if (offset === 0) bad('info.files', 'the files\' total length is 0');
  return { length: offset, files };
}

/** A single path component: valid UTF-8, not empty, no "/" or NUL, not "." or "..". */
function componentName(b: Uint8Array, name: string): string {
  const s = utf8OrUndefined(b);
  if (s === undefined) bad(name, `${name} ${showBytes(b)} is not valid UTF-8`);
  if (s.length === 0) bad(name, `${name} is empty`);
  if (s.includes('/')) bad(name, `${name} ${JSON.stringify(s)} contains "/"`);
  if (s.includes('\0')) bad(name, `${name} ${showBytes(b)} contains a NUL byte`);
  if (s === '.' || s === '..') bad(name, `${name} ${JSON.stringify(s)} is not a file name`);
  return s;
}

function announceList(top: BDict): string[][] {
  const list = getList(top, 'announce-list', '') ?? [];
  const tiers: string[][] = [];
  list.forEach((tier, i) => {
    const at = `announce-list[${i}]`;
    if (!isList(tier)) bad(at, `${at} is ${kindOf(tier)}, expected a list`);
    const urls = tier.map((u, j) => textOf(u, `${at}[${j}]`)).filter((u) => u.length > 0);
    if (urls.length > 0) tiers.push(urls);
  });
  return tiers;
}

function urlList(top: BDict): string[] {
  const v = top.get('url-list');
  if (v === undefined) return [];
  if (v instanceof Uint8Array) {
    const s = textOf(v, 'url-list');
    return s.length > 0 ? [s] : [];
  }
  if (!isList(v)) bad('url-list', `url-list is ${kindOf(v)}, expected a byte string or a list`);
  return v.map((u, i) => textOf(u, `url-list[${i}]`)).filter((u) => u.length > 0);
}

/** BEP 17: `httpseeds` is a list of URLs (a single string is accepted, as for url-list). */
function httpSeeds(top: BDict): string[] {
  const v = top.get('httpseeds');
  if (v === undefined) return [];
  if (v instanceof Uint8Array) {
    const s = textOf(v, 'httpseeds');
    return s.length > 0 ? [s] : [];
  }
  if (!isList(v)) bad('httpseeds', `httpseeds is ${kindOf(v)}, expected a list`);
  return v.map((u, i) => textOf(u, `httpseeds[${i}]`)).filter((u) => u.length > 0);
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
