/**
 * Blocks: the unit the engine asks for, of a BitTorrent peer and of a web
 * seed alike. A block is a byte range inside one piece, at most BLOCK_BYTES
 * long, never crossing a BLOCK_BYTES boundary (requestsFor). Requests
 * differ in size: a change of 100 bytes costs a 100-byte block, not a whole
 * 16 KiB one. Pure arithmetic.
 */
import { IsosyncError } from '../errors.js';
import type { PieceIndex } from '../core/ids.js';
import type { Span } from '../core/span.js';

/** BEP 3 request size every client accepts. */
export const BLOCK_BYTES = 16 * 1024;

export interface Block {
  readonly piece: PieceIndex;
  /** Offset inside the piece. */
  readonly offset: number;
  readonly length: number;
  /** keyOf, made once with the block (requestsFor): every book, queue and handle looks a block up by it, several times per block. */
  readonly key?: string;
}

/**
 * The requests that fetch exactly `ranges` (byte offsets inside the piece,
 * half-open; `pieceSize` is this piece's length, the last piece may be
 * short): each range cut at BLOCK_BYTES-aligned offsets, so no request is
 * longer than BLOCK_BYTES nor straddles two aligned blocks. BEP 3 lets a
 * request name any begin and length inside the piece; libtorrent,
 * Transmission and aria2 check only begin + length <= piece size and
 * length <= 16 KiB. A peer that answers only aligned blocks is asked the one
 * aligned block holding each request (`alignedBlockOf`).
 */
export function requestsFor(piece: PieceIndex, pieceSize: number, ranges: readonly Span[]): Block[] {
  const out: Block[] = [];
  for (const r of ranges) {
    if (r.start < 0 || r.end > pieceSize || r.end <= r.start) {
      throw new IsosyncError('INTERNAL', `Internal error: range ${r.start}-${r.end} is outside piece ${piece} of ${pieceSize} bytes`, { piece });
    }
    for (let a = r.start; a < r.end; ) {
      const e = Math.min(r.end, (Math.floor(a / BLOCK_BYTES) + 1) * BLOCK_BYTES);
      out.push({ piece, offset: a, length: e - a, key: `${piece}:${a}:${e - a}` });
      a = e;
    }
  }
  return out;
}

/** The BLOCK_BYTES-aligned block of the piece that holds request `b` (which never straddles two, see requestsFor). */
export function alignedBlockOf(b: Block, pieceSize: number): Block {
  const offset = Math.floor(b.offset / BLOCK_BYTES) * BLOCK_BYTES;
  return { piece: b.piece, offset, length: Math.min(BLOCK_BYTES, pieceSize - offset) };
}

/** Whether `b` is itself an aligned block (what every client asks and serves). */
export function isAlignedBlock(b: Block, pieceSize: number): boolean {
  return b.offset % BLOCK_BYTES === 0 && b.length === Math.min(BLOCK_BYTES, pieceSize - b.offset);
}

/** A request is named by piece, offset and length (two requests may start at one offset). */
export function keyOf(b: Block): string {
  return b.key ?? `${b.piece}:${b.offset}:${b.length}`;
}

/** The absolute byte span of block `b`. */
export function blockSpan(b: Block, pieceLength: number): Span {
  const start = b.piece * pieceLength + b.offset;
  return { start, end: start + b.length };
}
