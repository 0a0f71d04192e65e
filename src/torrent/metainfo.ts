/**
 * Metainfo (.torrent) parsing and validation, BEP 3 with BEP 12
 * (announce-list), BEP 19 (url-list), BEP 27 (private), BEP 38
 * (collections, similar) and isosync's own keys (isosync-keys.ts).
 *
 * Field table (BEP 3 §"metainfo files"), as validated here:
 *   announce        text                 tracker URL
 *   announce-list   list of list of text tiers (BEP 12)
 *   url-list        text | list of text  web seeds (BEP 19)
 *   comment         text
 *   created by      text
 *   creation date   integer              seconds since 1970
 *   info            dictionary           hashed: the infohash is SHA-1 of its raw bytes
 *     name          text                 one path component: not empty, no "/", not "." or ".."
 *     piece length  integer              a positive power of two
 *     pieces        byte string          20-byte SHA-1 per piece
 *     length        integer >= 1         single-file torrents
 *     files         list of {length, path: list of text}   multi-file torrents (one of length/files)
 *     private       integer 0 | 1        BEP 27
 * The piece count must be ceil(total length / piece length).
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
import { computeInfoHash, SHA1_BYTES, type InfoHash } from './info-hash.js';
import type { PieceIndex } from '../core/ids.js';
import { parseCollections, parseIsosyncInfo, parseSimilar, type IsosyncInfo } from './isosync-keys.js';

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
  /** File name (single-file) or directory name (multi-file). */
  readonly name: string;
  /** Total content length in bytes. */
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** pieceCount × 20 bytes of SHA-1. */
  readonly pieces: Uint8Array;
  readonly infoHash: InfoHash;
  readonly infoHashBytes: Uint8Array;
  readonly announce?: string;
  /** BEP 12 tiers; empty tiers dropped. */
  readonly announceList: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly urlList: readonly string[];
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
  const pieces = getBytes(info, 'pieces', 'info');
  if (pieces === undefined) {
    const v2 = info.has('meta version') || info.has('file tree');
    bad('info.pieces', `info.pieces is missing${v2 ? ' (a BitTorrent v2-only torrent; isosync reads v1 and hybrid torrents)' : ''}`);
  }
  if (pieces.length % SHA1_BYTES !== 0) {
    bad('info.pieces', `info.pieces length ${pieces.length} is not a multiple of ${SHA1_BYTES}`);
  }

  const { length, files } = contentLength(info);
  const pieceCount = pieces.length / SHA1_BYTES;
  const needed = Math.ceil(length / pieceLength);
  if (needed !== pieceCount) {
    const what = files ? 'the files\' total length' : 'info.length';
    bad(
      'info.pieces',
      `${what} ${length} needs ${needed} pieces of ${pieceLength} bytes, but info.pieces holds ${pieceCount}`,
    );
  }
  const priv = getInt(info, 'private', 'info');
  if (priv !== undefined && priv !== 0 && priv !== 1) bad('info.private', `info.private ${priv} is not 0 or 1`);

  const collections = parseCollections(info);
  const similar = parseSimilar(info);
  const isosync = parseIsosyncInfo(info);

  const creationDate = getInt(value, 'creation date', '');
  const hash = computeInfoHash(rawInfo);
  const m: Metainfo = {
    name,
    length,
    pieceLength,
    pieceCount,
    pieces,
    infoHash: hash.hex,
    infoHashBytes: hash.bytes,
    announceList: announceList(value),
    urlList: urlList(value),
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
  };
  return Object.freeze(m);
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
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

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
