/**
 * Builds a BEP 3 single-file torrent from already computed piece hashes.
 *
 * Layout written (keys sorted, canonical bencode):
 *   announce        first URL of the first tier (BEP 3)
 *   announce-list   every tier (BEP 12), only when there is a tracker
 *   comment         optional
 *   created by      "isosync <version>"
 *   creation date   seconds since 1970 (outside info: time-dependent)
 *   info            { collections?, length, name, piece length, pieces, private?, similar?, x-isosync? }
 *   url-list        web seeds (BEP 19), only when there are some
 *
 * Everything inside info is a function of the image and the options, so the
 * same inputs give the same infohash. The result is parsed back through
 * parseMetainfo: what we write is exactly what we accept.
 *
 * Pure: no I/O (hashing is hash-pieces.ts).
 */
import { VERSION } from '../version.js';
import { encodeBencode, type Bencodable } from './bencode-encode.js';
import { SHA1_BYTES } from './info-hash.js';
import { isosyncInfoEntries, type IsosyncFields } from './isosync-keys.js';
import { parseMetainfo, type Metainfo } from './metainfo.js';
import { IsosyncError } from '../errors.js';

export const CREATED_BY = `isosync ${VERSION}`;

export interface CreateTorrentOptions {
  /** The file name clients save the image under (one path component). */
  readonly name: string;
  readonly length: number;
  readonly pieceLength: number;
  /** ceil(length / pieceLength) × 20 bytes of SHA-1. */
  readonly pieces: Uint8Array;
  /** Tracker tiers (BEP 12); the first URL becomes `announce`. */
  readonly trackers?: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly webSeeds?: readonly string[];
  readonly comment?: string;
  /** Seconds since 1970; default now. Outside info. */
  readonly creationDate?: number;
  /** Default "isosync <version>". */
  readonly createdBy?: string;
  readonly private?: boolean;
  /** Product, release, lineage, hints; omitted for a plain torrent. */
  readonly isosync?: IsosyncFields;
}

export interface CreatedTorrent {
  /** The .torrent file's bytes. */
  readonly bytes: Uint8Array;
  readonly metainfo: Metainfo;
}

export function buildInfoDict(o: CreateTorrentOptions): Record<string, Bencodable | undefined> {
  if (o.pieces.length !== Math.ceil(o.length / o.pieceLength) * SHA1_BYTES) {
    throw new IsosyncError('INTERNAL', `Internal error: createTorrent got ${o.pieces.length} bytes of piece hashes, which do not fit length ${o.length} at piece length ${o.pieceLength}`);
  }
  return {
    name: o.name,
    length: o.length,
    'piece length': o.pieceLength,
    pieces: o.pieces,
    private: o.private ? 1 : undefined,
    ...(o.isosync ? isosyncInfoEntries(o.isosync) : {}),
  };
}

export function createTorrent(o: CreateTorrentOptions): CreatedTorrent {
  const tiers = (o.trackers ?? []).map((t) => t.filter((u) => u.length > 0)).filter((t) => t.length > 0);
  const webSeeds = (o.webSeeds ?? []).filter((u) => u.length > 0);
  const top: Record<string, Bencodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 0 ? tiers : undefined,
    comment: o.comment,
    'created by': o.createdBy ?? CREATED_BY,
    'creation date': o.creationDate ?? Math.floor(Date.now() / 1000),
    info: buildInfoDict(o),
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  };
  const bytes = encodeBencode(top);
  return { bytes, metainfo: parseMetainfo(bytes, o.name + '.torrent') };
}
