/**
 * BitTorrent v2 metadata (BEP 52) and hybrid torrents: validation of the
 * v2 keys of a decoded metainfo file.
 *
 * Field table (BEP 52 §"metainfo files"), as validated here:
 *   info.meta version   integer 2            v2 (and hybrid) torrents
 *   info.file tree      dictionary           path components as nested keys; a
 *                                            file is a dictionary whose only key
 *                                            is "" -> { length, pieces root, attr? }
 *     length            integer >= 0
 *     pieces root       32 bytes             SHA-256 merkle root (merkle.ts);
 *                                            absent exactly when length is 0
 *   info.piece length   power of two >= 16 KiB
 *   piece layers        dictionary (outside info): pieces root -> concatenated
 *                       32-byte piece-layer hashes, for files longer than a piece
 *
 * A hybrid torrent also carries the v1 keys (`pieces`, `length` or `files`);
 * its v1 file list must name the same files in the same order, with BEP 47
 * pad files (attr "p") so that every file starts on a piece boundary. Both
 * infohashes then name one content.
 *
 * In v2 each file starts on a piece boundary, so a piece never spans two
 * files. The v2 layout here places the files like a hybrid's v1 list does:
 * in file-tree order, each at the next piece boundary.
 *
 * Pure: no I/O. Errors are FieldErrors (metainfo.ts prefixes the file name).
 * The file tree is walked with an explicit stack; its depth is bounded by the
 * decoder's nesting limit.
 */
import { createHash } from 'node:crypto';
import type { BDict } from './bencode-decode.js';
import { bad, getBytes, getDict, getInt, getText, isDict, kindOf, showBytes } from './fields.js';
import { fileRoot, leafCount, MERKLE_BLOCK_BYTES, SHA256_BYTES, equalBytes } from './merkle.js';

/** BEP 52: a v2 infohash is SHA-256 of the info dictionary; 64 lower-case hex digits here. */
export type InfoHashV2 = string & { readonly __brand: 'InfoHashV2' };

/** BEP 52: the smallest piece length of a v2 torrent is one 16 KiB block. */
export const V2_MIN_PIECE_LENGTH = MERKLE_BLOCK_BYTES;

export interface V2File {
  /** Path components below the torrent's name (single-file: [name]). */
  readonly path: readonly string[];
  readonly length: number;
  /** Absent for empty files. */
  readonly piecesRoot?: Uint8Array;
  readonly attr: string;
  /** Byte offset in the piece-aligned layout (a multiple of the piece length). */
  readonly offset: number;
  /** Index of the file's first piece in the torrent. */
  readonly firstPiece: number;
  readonly pieceCount: number;
}

export interface V2Info {
  readonly infoHash: InfoHashV2;
  /** The 32 bytes of the v2 infohash; its first 20 go on the wire (BEP 52 handshake, trackers, DHT). */
  readonly infoHashBytes: Uint8Array;
  readonly files: readonly V2File[];
  /** Piece layers from the .torrent, keyed by the hex pieces root; each was checked against its root. */
  readonly pieceLayers: ReadonlyMap<string, Uint8Array>;
  /** Whether every file longer than one piece has its piece layer (false for metadata from a magnet, or a torrent that left them out). */
  readonly layersComplete: boolean;
  /** End of the last file in the piece-aligned layout. */
  readonly alignedLength: number;
}

/** Whether the info dictionary says v2 (`meta version` present). */
export function hasV2(info: BDict): boolean {
  return info.has('meta version') || info.has('file tree');
}

/** SHA-256 of the raw info bytes. */
export function computeInfoHashV2(rawInfo: Uint8Array): { hex: InfoHashV2; bytes: Uint8Array } {
  const bytes = new Uint8Array(createHash('sha256').update(rawInfo).digest());
  return { hex: Buffer.from(bytes).toString('hex') as InfoHashV2, bytes };
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parseInfoHashV2(s: string): InfoHashV2 | undefined {
  const lower = s.toLowerCase();
  return HEX64.test(lower) ? (lower as InfoHashV2) : undefined;
}

/**
 * Validates the v2 keys. `top` is the whole metainfo dictionary (for
 * `piece layers`); `componentName` validates one path component the same
 * way the v1 parser does.
 */
export function parseV2(
  top: BDict,
  info: BDict,
  rawInfo: Uint8Array,
  pieceLength: number,
  componentName: (b: Uint8Array, field: string) => string,
): V2Info {
  const version = getInt(info, 'meta version', 'info');
  if (version === undefined) bad('info.meta version', 'info.meta version is missing (info.file tree is present)');
  if (version !== 2) bad('info.meta version', `info.meta version ${version} is not 2 (BitTorrent v2)`);
  if (pieceLength < V2_MIN_PIECE_LENGTH) {
    bad('info.piece length', `info.piece length ${pieceLength} is below ${V2_MIN_PIECE_LENGTH}, the smallest of a v2 torrent`);
  }
  const tree = getDict(info, 'file tree', 'info');
  if (tree === undefined) bad('info.file tree', 'info.file tree is missing (info.meta version is 2)');
  const files = walkTree(tree, pieceLength, componentName);
  if (files.length === 0) bad('info.file tree', 'info.file tree holds no file');
  const last = files[files.length - 1]!;
  const alignedLength = last.offset + last.length;
  if (alignedLength === 0) bad('info.file tree', 'the files\' total length is 0');
  const { layers, complete } = pieceLayers(top, files, pieceLength);
  const hash = computeInfoHashV2(rawInfo);
  return Object.freeze({
    infoHash: hash.hex,
    infoHashBytes: hash.bytes,
    files: Object.freeze(files),
    pieceLayers: layers,
    layersComplete: complete,
    alignedLength,
  });
}

interface Frame {
  readonly dict: BDict;
  readonly path: readonly string[];
  readonly keys: readonly string[];
  next: number;
}

function walkTree(tree: BDict, pieceLength: number, componentName: (b: Uint8Array, field: string) => string): V2File[] {
  const files: V2File[] = [];
  let offset = 0;
  let piece = 0;
  const stack: Frame[] = [{ dict: tree, path: [], keys: [...tree.keys()], next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.keys.length) {
      stack.pop();
      continue;
    }
    const key = top.keys[top.next++]!;
    const at = `info.file tree/${[...top.path, key].join('/')}`;
    if (key === '') bad(at, `${at} has an empty path component`);
    const name = componentName(Buffer.from(key, 'latin1'), at);
    const node = top.dict.get(key)!;
    if (!isDict(node)) bad(at, `${at} is ${kindOf(node)}, expected a dictionary`);
    const path = [...top.path, name];
    if (!node.has('')) {
      if (node.size === 0) bad(at, `${at} is an empty directory`);
      stack.push({ dict: node, path, keys: [...node.keys()], next: 0 });
      continue;
    }
    if (node.size !== 1) bad(at, `${at} is both a file and a directory`);
    const leaf = node.get('')!;
    if (!isDict(leaf)) bad(at, `${at} is ${kindOf(leaf)}, expected a file dictionary`);
    const length = getInt(leaf, 'length', at);
    if (length === undefined) bad(`${at}.length`, `${at}.length is missing`);
    if (length < 0) bad(`${at}.length`, `${at}.length ${length} is negative`);
    const root = getBytes(leaf, 'pieces root', at);
    if (length > 0 && root === undefined) bad(`${at}.pieces root`, `${at}.pieces root is missing`);
    if (length === 0 && root !== undefined) bad(`${at}.pieces root`, `${at}.pieces root is present for an empty file`);
    if (root !== undefined && root.length !== SHA256_BYTES) {
      bad(`${at}.pieces root`, `${at}.pieces root ${showBytes(root)} is ${root.length} bytes, expected ${SHA256_BYTES}`);
    }
    const attr = getText(leaf, 'attr', at) ?? '';
    const pieceCount = Math.ceil(length / pieceLength);
    files.push(Object.freeze({ path: Object.freeze(path), length, attr, offset, firstPiece: piece, pieceCount, ...(root ? { piecesRoot: root } : {}) }));
    piece += pieceCount;
    offset += pieceCount * pieceLength;
    if (!Number.isSafeInteger(offset)) bad('info.file tree', 'the files\' total length is out of range');
  }
  return files;
}

function pieceLayers(top: BDict, files: readonly V2File[], pieceLength: number): { layers: Map<string, Uint8Array>; complete: boolean } {
  const dict = getDict(top, 'piece layers', '');
  const layers = new Map<string, Uint8Array>();
  let complete = true;
  for (const f of files) {
    if (f.length <= pieceLength || !f.piecesRoot) continue;
    const key = Buffer.from(f.piecesRoot).toString('latin1');
    const hex = Buffer.from(f.piecesRoot).toString('hex');
    const at = `piece layers[${hex.slice(0, 16)}...] (${f.path.join('/')})`;
    const layer = dict?.get(key);
    if (layer === undefined) {
      complete = false;
      continue;
    }
    if (!(layer instanceof Uint8Array)) bad(at, `${at} is ${kindOf(layer)}, expected a byte string`);
    if (layer.length !== f.pieceCount * SHA256_BYTES) {
      bad(at, `${at} is ${layer.length} bytes, expected ${f.pieceCount * SHA256_BYTES} (${f.pieceCount} pieces of 32 bytes)`);
    }
    if (!equalBytes(fileRoot(f.length, pieceLength, { pieceLayer: layer }), f.piecesRoot)) {
      bad(at, `${at} does not hash to the file's pieces root`);
    }
    layers.set(hex, layer);
  }
  return { layers, complete };
}

/** A v1 file as the hybrid check sees it. */
export interface V1FileView {
  readonly path: readonly string[];
  readonly length: number;
  readonly offset: number;
  readonly attr: string;
}

/**
 * Hybrid consistency: the v1 file list without pad files must be the v2
 * file list (same paths, lengths, order), and each non-empty file must start
 * on a piece boundary in the v1 layout. `v1Files` is the single file
 * ([name]) for a single-file v1 half.
 */
export function checkHybrid(v1Files: readonly V1FileView[], v2: V2Info, pieceLength: number, v1PieceCount: number): void {
  const real = v1Files.filter((f) => !isPadFile(f));
  if (real.length !== v2.files.length) {
    bad('info.files', `the v1 file list holds ${real.length} files but info.file tree holds ${v2.files.length} (hybrid torrent)`);
  }
  real.forEach((f, i) => {
    const g = v2.files[i]!;
    const p1 = f.path.join('/');
    const p2 = g.path.join('/');
    if (p1 !== p2) bad('info.files', `v1 file ${i} is ${JSON.stringify(p1)} but info.file tree has ${JSON.stringify(p2)} there (hybrid torrent)`);
    if (f.length !== g.length) bad('info.files', `${JSON.stringify(p1)} is ${f.length} bytes in v1 but ${g.length} in info.file tree (hybrid torrent)`);
    if (f.length > 0 && f.offset !== g.offset) {
      bad('info.files', `${JSON.stringify(p1)} starts at byte ${f.offset} in v1, not on its piece boundary ${g.offset} (hybrid torrents need pad files)`);
    }
  });
  const v2Pieces = Math.ceil(v2.alignedLength / pieceLength);
  if (v2Pieces !== v1PieceCount) {
    bad('info.pieces', `info.pieces holds ${v1PieceCount} pieces but info.file tree needs ${v2Pieces} (hybrid torrent)`);
  }
}

/** BEP 47: a pad file has "p" among its attributes. */
export function isPadFile(f: { readonly attr: string }): boolean {
  return f.attr.includes('p');
}

/** The number of 16 KiB leaves in piece `i` of a v2 file (the last piece may have fewer). */
export function leavesInPiece(f: V2File, pieceLength: number, i: number): number {
  const start = i * pieceLength;
  return leafCount(Math.min(pieceLength, f.length - start));
}
