/**
 * Piece length for isosync's torrents.
 *
 * Always a power of two and a multiple of 2048 (one ISO 9660 sector, so piece
 * borders fall on sector borders and an image's pieces line up with its
 * files). The default grows with the image so that the piece count stays at
 * most 16384 (a 320 KiB `pieces` string; small enough for every client's
 * metadata limit, fine-grained enough for deltas):
 *
 *   image size            default piece length
 *   up to 4 GiB           256 KiB   (what Debian, Ubuntu and Fedora use)
 *   up to 8 GiB           512 KiB
 *   up to 16 GiB          1 MiB
 *   up to 32 GiB          2 MiB
 *   ...                   doubling, up to 16 MiB (above 256 GiB the count passes 16384)
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import { isPowerOfTwo } from './metainfo.js';

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** Smallest default: Debian, Ubuntu and Fedora ISO torrents use 256 KiB pieces. */
export const DEFAULT_MIN_PIECE_LENGTH = 256 * KIB;
/** The default piece length doubles while the piece count would pass this. */
export const TARGET_MAX_PIECES = 16384;
/** Largest default, and largest --piece-length accepted: 16 MiB is the most libtorrent and Transmission create. */
export const MAX_PIECE_LENGTH = 16 * MIB;
/** Smallest --piece-length accepted: one ISO 9660 sector (ECMA-119 §6.1.2: 2048-byte logical sectors). */
export const MIN_PIECE_LENGTH = 2048;

export function defaultPieceLength(imageSize: number): number {
  let len = DEFAULT_MIN_PIECE_LENGTH;
  while (len < MAX_PIECE_LENGTH && Math.ceil(imageSize / len) > TARGET_MAX_PIECES) len *= 2;
  return len;
}

/**
 * Parses a --piece-length value: a whole number of bytes, or with a K/M
 * suffix (KiB, MiB). Must be a power of two from 2048 to 16 MiB.
 */
export function parsePieceLength(text: string): number {
  const m = /^(\d+)([kKmM](?:i?B)?)?$/.exec(text.trim());
  if (!m) throw new IsosyncError('BAD_ARGUMENT', `Invalid --piece-length ${JSON.stringify(text)}: not a number of bytes`);
  const unit = m[2]?.[0]?.toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? KIB : unit === 'm' ? MIB : 1);
  checkPieceLength(n, text);
  return n;
}

export function checkPieceLength(n: number, text: string = String(n)): void {
  if (!isPowerOfTwo(n) || n < MIN_PIECE_LENGTH || n > MAX_PIECE_LENGTH) {
    throw new IsosyncError(
      'BAD_ARGUMENT',
      `Invalid --piece-length ${JSON.stringify(text)}: must be a power of two from ${MIN_PIECE_LENGTH} to ${MAX_PIECE_LENGTH} bytes`,
    );
  }
}
