/**
 * Wraps an info dictionary, byte for byte, into a metainfo file (BEP 3) with
 * this server's trackers (BEP 12) and web seeds (BEP 19). The info bytes are
 * spliced in unchanged, so the infohash is the info's own even when its
 * encoding is not canonical. Top-level keys stay sorted (announce,
 * announce-list, created by, creation date | info | piece layers, signatures, url-list).
 * A release's publisher signatures (src/feed/torrent-signature.ts) cover
 * only the info bytes and their own statement, so they carry over as they
 * are. A v2 or hybrid release's `piece layers` (BEP 52: outside the info,
 * needed to check a v2 piece) are carried the same way. Pure: no I/O.
 */
import { encodeBencode, type Bencodable } from '../torrent/bencode-encode.js';
import { CREATED_BY } from '../torrent/create.js';

export interface WrapOptions {
  /** Tracker tiers; the first URL becomes `announce`. */
  readonly trackers: readonly (readonly string[])[];
  readonly webSeeds: readonly string[];
  /** Seconds since 1970. */
  readonly creationDate?: number;
  /** The release torrent's `signatures` value, decoded, to carry over. */
  readonly signatures?: Bencodable;
  /** BEP 52 `piece layers` of a v2 or hybrid info, to carry over. */
  readonly pieceLayers?: Bencodable;
}

export function wrapInfo(info: Uint8Array, o: WrapOptions): Uint8Array {
  const tiers = o.trackers.map((t) => t.filter((u) => u.length > 0)).filter((t) => t.length > 0);
  const before: Record<string, Bencodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 0 ? tiers : undefined,
    'created by': CREATED_BY,
    'creation date': o.creationDate,
  };
  const after: Record<string, Bencodable | undefined> = { 'piece layers': o.pieceLayers, signatures: o.signatures, 'url-list': o.webSeeds.length > 0 ? [...o.webSeeds] : undefined };
  const head = encodeBencode(before);
  const tail = encodeBencode(after);
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), info, tail.subarray(1)]);
}
