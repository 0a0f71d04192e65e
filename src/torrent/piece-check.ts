/**
 * The one answer to "are these bytes piece p of the target?", for every
 * kind of torrent: a PieceCheck is built once from the metainfo and asked
 * by every caller that verifies a piece (assembly, the checked target, hint
 * probing, resume, seeding, subsets).
 *
 *   v1, hybrid   SHA-1 of the piece against `pieces` (BEP 3). A hybrid's v1
 *                and v2 halves name the same bytes (v2-info.ts checks the
 *                layout), and its v1 swarm is the one isosync joins.
 *   v2           BEP 52: the piece is cut at its file's end, its 16 KiB
 *                leaves hashed (SHA-256, the last leaf may be short), and the
 *                leaves hashed up to one node, padded with zero leaves:
 *                - a file longer than one piece: to pieceLength / 16 KiB
 *                  leaves, compared with the file's entry in `piece layers`;
 *                - a file of one piece or less: to the next power of two of
 *                  its own leaf count, compared with its `pieces root`.
 *                Bytes of the piece past the file's end are the padding
 *                that aligns the next file to a piece boundary: they must be
 *                zero (a v2-only multi-file torrent is laid out like a
 *                hybrid's v1 list, with pad files; metainfo.ts).
 *
 * `v2Piece` exposes where a piece sits in its file's tree, so per-block
 * (16 KiB leaf) verification can build on the same lookup.
 *
 * A v2 torrent whose piece layers are missing (metadata from a magnet, or a
 * torrent that left them out) cannot be checked from the metainfo alone:
 * pieceCheckOf refuses it with UNSUPPORTED instead of accepting anything.
 *
 * Pure: node:crypto only, no I/O.
 */
import { createHash } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import { SHA1_BYTES, type PieceIndex } from '../core/ids.js';
import { equalBytes, leafCount, leafHashes, leavesPerPiece, nextPowerOfTwo, rootOf, SHA256_BYTES } from './merkle.js';
import type { V2File, V2Info } from './v2-info.js';

/** What a check is built from: a Metainfo, or the v1 fields alone (version defaults to v1). */
export interface CheckSource {
  readonly name?: string;
  readonly version?: 'v1' | 'v2' | 'hybrid';
  readonly length: number;
  readonly pieceLength: number;
  /** 20 bytes of SHA-1 per piece; empty for a v2-only torrent. */
  readonly pieces: Uint8Array;
  readonly v2?: V2Info;
}

/** Where a piece sits in its file's merkle tree (v2 and hybrid). */
export interface V2Piece {
  readonly file: V2File;
  /** The piece's index among its file's pieces. */
  readonly indexInFile: number;
  /** Bytes of the piece that belong to the file; the rest (if any) is zero padding. */
  readonly dataBytes: number;
  /**
   * What the piece's leaves hash up to: the piece-layer node (file longer than
   * a piece, padded to `width` leaves) or the file's pieces root (one piece or
   * less, padded to `width` leaves, the next power of two of its leaf count).
   */
  readonly expected: Uint8Array;
  readonly against: 'piece layer' | 'pieces root';
  /** Leaves the piece's node spans, zero leaves included: a power of two. */
  readonly width: number;
}

export interface PieceCheck {
  /** The hashes the check compares with: 'sha1' (v1, hybrid) or 'merkle' (v2-only). */
  readonly kind: 'sha1' | 'merkle';
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Bytes that change whenever any expected hash changes: names the target in resume journals. */
  readonly fingerprint: Uint8Array;
  /** The length piece `p` has in the torrent's content (the last piece may be shorter). */
  size(p: PieceIndex): number;
  /** Whether `bytes` are exactly piece `p`. */
  matches(p: PieceIndex, bytes: Uint8Array): boolean;
  /** The piece's place in its file's tree; undefined for v1 torrents and pieces of no file. */
  v2Piece(p: PieceIndex): V2Piece | undefined;
}

const cache = new WeakMap<object, PieceCheck>();

/** The check for a target; built once per (frozen) metainfo object. */
export function pieceCheckOf(t: CheckSource): PieceCheck {
  let c = cache.get(t);
  if (!c) {
    c = build(t);
    cache.set(t, c);
  }
  return c;
}

function build(t: CheckSource): PieceCheck {
  const pieceCount = Math.ceil(t.length / t.pieceLength);
  const version = t.version ?? 'v1';
  const files = t.v2 ? fileIndex(t.v2) : undefined;
  const size = (p: PieceIndex) => Math.min(t.pieceLength, t.length - p * t.pieceLength);
  const v2Piece = (p: PieceIndex) => (t.v2 && files ? locate(t.v2, files, t.pieceLength, p) : undefined);
  if (version !== 'v2') {
    if (t.pieces.length !== pieceCount * SHA1_BYTES) {
      throw new IsosyncError('INTERNAL', `Internal error: ${t.pieces.length} bytes of piece hashes do not fit length ${t.length} at piece length ${t.pieceLength}`);
    }
    return Object.freeze({
      kind: 'sha1',
      length: t.length,
      pieceLength: t.pieceLength,
      pieceCount,
      fingerprint: t.pieces,
      size,
      v2Piece,
      matches: (p: PieceIndex, bytes: Uint8Array) =>
        p < pieceCount && bytes.length === size(p) && Buffer.compare(createHash('sha1').update(bytes).digest(), t.pieces.subarray(p * SHA1_BYTES, (p + 1) * SHA1_BYTES)) === 0,
    } as const);
  }
  const v2 = t.v2;
  if (!v2) throw new IsosyncError('INTERNAL', 'Internal error: a v2-only target came without its v2 metadata');
  if (!v2.layersComplete) {
    throw new IsosyncError('UNSUPPORTED', `Cannot verify the pieces of ${JSON.stringify(t.name ?? 'the torrent')}: its BEP 52 piece layers are missing from the torrent`, { ...(t.name ? { path: t.name } : {}) });
  }
  return Object.freeze({
    kind: 'merkle',
    length: t.length,
    pieceLength: t.pieceLength,
    pieceCount,
    fingerprint: fingerprintV2(v2),
    size,
    v2Piece,
    matches: (p: PieceIndex, bytes: Uint8Array) => {
      if (p >= pieceCount || bytes.length !== size(p)) return false;
      const at = v2Piece(p);
      // Every piece of a BEP 52 layout lies in a file; a piece of none is no piece of this torrent.
      if (!at) return false;
      return isZero(bytes.subarray(at.dataBytes)) && equalBytes(nodeOf(bytes.subarray(0, at.dataBytes), at.width), at.expected);
    },
  } as const);
}

/** The node `width` leaves wide over a piece's data bytes: the value V2Piece.expected names. */
export function nodeOf(data: Uint8Array, width: number): Uint8Array {
  return rootOf(leafHashes(data), width, 0);
}

/** Files that hold pieces, by first piece (ascending): a binary search finds a piece's file. */
function fileIndex(v2: V2Info): V2File[] {
  return v2.files.filter((f) => f.pieceCount > 0);
}

function locate(v2: V2Info, files: readonly V2File[], pieceLength: number, p: PieceIndex): V2Piece | undefined {
  let lo = 0;
  let hi = files.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid]!;
    if (p < f.firstPiece) hi = mid - 1;
    else if (p >= f.firstPiece + f.pieceCount) lo = mid + 1;
    else {
      const j = p - f.firstPiece;
      const dataBytes = Math.min(pieceLength, f.length - j * pieceLength);
      if (f.length > pieceLength) {
        const layer = v2.pieceLayers.get(Buffer.from(f.piecesRoot!).toString('hex'));
        if (!layer) return undefined;
        return { file: f, indexInFile: j, dataBytes, expected: layer.subarray(j * SHA256_BYTES, (j + 1) * SHA256_BYTES), against: 'piece layer', width: leavesPerPiece(pieceLength) };
      }
      return { file: f, indexInFile: 0, dataBytes, expected: f.piecesRoot!, against: 'pieces root', width: nextPowerOfTwo(leafCount(f.length)) };
    }
  }
  return undefined;
}

/** The pieces roots in file order: every piece hash is under one of them. */
function fingerprintV2(v2: V2Info): Uint8Array {
  const roots = v2.files.flatMap((f) => (f.piecesRoot ? [f.piecesRoot] : []));
  return new Uint8Array(Buffer.concat(roots));
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
