/**
 * The v1 infohash (BEP 3): SHA-1 of the bencoded `info` dictionary exactly as
 * it appears in the metainfo file. The InfoHash type and its constructors
 * live in core/ids.ts.
 */
import { createHash } from 'node:crypto';
import { infoHashFromBytes, type InfoHash } from '../core/ids.js';

export { infoHashBytes, infoHashFromBytes, isInfoHash, parseInfoHash, SHA1_BYTES, toInfoHash, type InfoHash } from '../core/ids.js';

/** SHA-1 of the raw bencoded info dictionary. */
export function computeInfoHash(rawInfo: Uint8Array): { hex: InfoHash; bytes: Uint8Array } {
  const bytes = new Uint8Array(createHash('sha1').update(rawInfo).digest());
  return { hex: infoHashFromBytes(bytes), bytes };
}
