/**
 * Identifiers that must not be mixed up with other numbers and strings:
 * branded types whose only ways in are the constructors below (they check
 * the value, so a PieceIndex is a non-negative integer and an InfoHash 40
 * lower-case hex digits wherever one is seen).
 *
 * PieceIndex: a piece of a torrent (BEP 3), 0-based. InfoHash: the v1
 * infohash (BEP 3: SHA-1 of the bencoded info dictionary) as hex; the 20 raw
 * bytes travel beside it where a protocol needs them.
 */
import { IsosyncError } from './errors.js';

export type PieceIndex = number & { readonly __brand: 'PieceIndex' };
export type InfoHash = string & { readonly __brand: 'InfoHash' };

/** SHA-1 digest length in bytes (FIPS 180-4): a v1 infohash and each piece hash. */
export const SHA1_BYTES = 20;

/** `n` as a piece index; throws INTERNAL unless it is a non-negative safe integer. */
export function pieceIndex(n: number): PieceIndex {
  if (!Number.isSafeInteger(n) || n < 0) throw new IsosyncError('INTERNAL', `Internal error: ${n} is not a piece index`);
  return n as PieceIndex;
}

/** The piece holding byte `offset`. */
export function pieceAt(offset: number, pieceLength: number): PieceIndex {
  return pieceIndex(Math.floor(offset / pieceLength));
}

/** Pieces 0 .. count-1, in order. */
export function* allPieces(count: number): Generator<PieceIndex> {
  for (let i = 0; i < count; i++) yield i as PieceIndex;
}

const HEX40 = /^[0-9a-f]{40}$/;

export function isInfoHash(s: string): s is InfoHash {
  return HEX40.test(s);
}

/** Accepts 40 hex digits in any case; undefined for anything else. */
export function parseInfoHash(s: string): InfoHash | undefined {
  const lower = s.toLowerCase();
  return isInfoHash(lower) ? lower : undefined;
}

/** Like parseInfoHash, but a value that is not an infohash throws (`what` names where it came from). */
export function toInfoHash(s: string, what = 'an infohash'): InfoHash {
  const h = parseInfoHash(s);
  if (h === undefined) throw new IsosyncError('BAD_ARGUMENT', `Cannot use ${what} ${JSON.stringify(s)}: not 40 hex digits`);
  return h;
}

export function infoHashFromBytes(b: Uint8Array): InfoHash {
  if (b.length !== SHA1_BYTES) throw new IsosyncError('INTERNAL', `Internal error: an infohash is ${SHA1_BYTES} bytes, got ${b.length}`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') as InfoHash;
}

export function infoHashBytes(h: InfoHash): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}
