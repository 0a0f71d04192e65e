/**
 * Builds a single-file torrent from already computed piece hashes: BEP 3
 * (v1), BEP 52 (v2-only) or hybrid (both halves, one content).
 *
 * Layout written (keys sorted, canonical bencode):
 *   announce        first URL of the first tier (BEP 3)
 *   announce-list   every tier (BEP 12), only when there is a tracker
 *   comment         optional
 *   created by      "isosync <version>"
 *   creation date   seconds since 1970 (outside info: time-dependent)
 *   info            { collections?, file tree?, length?, meta version?, name, piece length, pieces?, private?, similar?, x-isosync? }
 *                   v1: length and pieces; v2: file tree {name: {"": {length, pieces root}}}
 *                   and meta version 2; hybrid: both
 *   piece layers    v2 and hybrid, when the image is longer than one piece: {pieces root: piece layer}
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
import { parseMetainfo, type Metainfo, type MetaVersion } from './metainfo.js';
import { SHA256_BYTES } from './merkle.js';
import { V2_MIN_PIECE_LENGTH } from './v2-info.js';
import { IsosyncError } from '../errors.js';

export const CREATED_BY = `isosync ${VERSION}`;

export interface CreateTorrentOptions {
  /** The file name clients save the image under (one path component). */
  readonly name: string;
  readonly length: number;
  readonly pieceLength: number;
  /** ceil(length / pieceLength) × 20 bytes of SHA-1 (unused for v2). */
  readonly pieces: Uint8Array;
  /** Default v1. v2 and hybrid need `v2` (hashPiecesV2) and a piece length of at least 16 KiB. */
  readonly version?: MetaVersion;
  /** BEP 52 hashes of the image: its piece layer (32 bytes per piece) and pieces root. */
  readonly v2?: { readonly pieceLayer: Uint8Array; readonly root: Uint8Array };
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
  const version = o.version ?? 'v1';
  const count = Math.ceil(o.length / o.pieceLength);
  if (version !== 'v2' && o.pieces.length !== count * SHA1_BYTES) {
    throw new IsosyncError('INTERNAL', `Internal error: createTorrent got ${o.pieces.length} bytes of piece hashes, which do not fit length ${o.length} at piece length ${o.pieceLength}`);
  }
  const v2 = version === 'v1' ? undefined : o.v2;
  if (version !== 'v1') {
    if (!v2 || v2.pieceLayer.length !== count * SHA256_BYTES || v2.root.length !== SHA256_BYTES) {
      throw new IsosyncError('INTERNAL', `Internal error: a ${version} torrent needs a piece layer of ${count} hashes and a pieces root`);
    }
    if (o.pieceLength < V2_MIN_PIECE_LENGTH) throw new IsosyncError('INTERNAL', `Internal error: piece length ${o.pieceLength} is below ${V2_MIN_PIECE_LENGTH}, the least of a v2 torrent`);
  }
  return {
    'file tree': v2 ? new Map([[latin1Key(o.name), new Map([['', { length: o.length, 'pieces root': v2.root }]])]]) : undefined,
    name: o.name,
    length: version === 'v2' ? undefined : o.length,
    'meta version': v2 ? 2 : undefined,
    'piece length': o.pieceLength,
    pieces: version === 'v2' ? undefined : o.pieces,
    private: o.private ? 1 : undefined,
    ...(o.isosync ? isosyncInfoEntries(o.isosync) : {}),
  };
}

/** Map keys are encoded as latin1 (one byte per char): spell a UTF-8 name that way. */
function latin1Key(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** BEP 52 `piece layers`: only files longer than one piece have one. */
function pieceLayers(o: CreateTorrentOptions): Map<string, Uint8Array> | undefined {
  if ((o.version ?? 'v1') === 'v1' || !o.v2 || o.length <= o.pieceLength) return undefined;
  return new Map([[Buffer.from(o.v2.root).toString('latin1'), o.v2.pieceLayer]]);
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
    'piece layers': pieceLayers(o),
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  };
  const bytes = encodeBencode(top);
  return { bytes, metainfo: parseMetainfo(bytes, o.name + '.torrent') };
}
