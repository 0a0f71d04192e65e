/**
 * The v1 infohash (BEP 3): SHA-1 of the bencoded `info` dictionary exactly as
 * it appears in the metainfo file. As a value it is a branded lower-case hex
 * string (40 chars), so an infohash cannot be mixed up with any other string;
 * the 20 raw bytes travel beside it where a protocol needs them.
 */
import { createHash } from 'node:crypto';

export type InfoHash = string & { readonly __brand: 'InfoHash' };

/** SHA-1 digest length in bytes (FIPS 180-4), the size of a v1 infohash and of each piece hash. */
export const SHA1_BYTES = 20;

const HEX40 = /^[0-9a-f]{40}$/;

export function isInfoHash(s: string): s is InfoHash {
  return HEX40.test(s);
}

/** Accepts 40 hex digits in any case; returns undefined for anything else. */
export function parseInfoHash(s: string): InfoHash | undefined {
  const lower = s.toLowerCase();
  return isInfoHash(lower) ? lower : undefined;
}

export function infoHashFromBytes(b: Uint8Array): InfoHash {
  if (b.length !== SHA1_BYTES) throw new RangeError(`an infohash is ${SHA1_BYTES} bytes, got ${b.length}`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') as InfoHash;
}

export function infoHashBytes(h: InfoHash): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

/** SHA-1 of the raw bencoded info dictionary. */
export function computeInfoHash(rawInfo: Uint8Array): { hex: InfoHash; bytes: Uint8Array } {
  const bytes = new Uint8Array(createHash('sha1').update(rawInfo).digest());
  return { hex: infoHashFromBytes(bytes), bytes };
}
