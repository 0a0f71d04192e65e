/**
 * The ut_metadata extension (BEP 9): the info dictionary sent between peers
 * in 16 KiB pieces, so a magnet link is enough to start. A pure codec and
 * assembler; the wire and its timers live with the peer handles.
 *
 * Extended handshake (BEP 10): `m: {ut_metadata: <id>}` and
 * `metadata_size: <bytes>`. Messages are a bencoded dictionary, followed by
 * the piece's bytes for `data`:
 *
 *   msg_type  piece  total_size   trailing bytes
 *   0 request  i       -            none
 *   1 data     i       size         piece i: 16 KiB, the last one shorter
 *   2 reject   i       -            none
 *
 * Checks on the receiving side: the declared size is positive and at most
 * MAX_METADATA_BYTES (a hostile peer cannot make us allocate more); every
 * data message names a piece in range, repeats the size from the handshake,
 * and carries exactly that piece's length. The assembled bytes are the info
 * dictionary only if their SHA-1 is the v1 infohash or their SHA-256 the v2
 * one; anything else is thrown away whole and counted against the peer.
 *
 * Pure: node:crypto only.
 */
import { createHash } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import { BencodeError, decodeBencodePrefix } from './bencode-decode.js';
import { encodeBencode } from './bencode-encode.js';
import { isDict } from './fields.js';

/** BEP 9: metadata travels in 16 KiB pieces. */
export const METADATA_PIECE_BYTES = 16 * 1024;
/** Largest info dictionary accepted from a peer: 32 MiB, above libtorrent's default limit and any ISO torrent's. */
export const MAX_METADATA_BYTES = 32 * 1024 * 1024;
export const UT_METADATA = 'ut_metadata';

export type MetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: 'reject'; readonly piece: number };

const TYPE_CODES = { request: 0, data: 1, reject: 2 } as const;

export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  const head = encodeBencode({ msg_type: TYPE_CODES[m.type], piece: m.piece, ...(m.type === 'data' ? { total_size: m.totalSize } : {}) });
  if (m.type !== 'data') return head;
  const out = new Uint8Array(head.length + m.data.length);
  out.set(head, 0);
  out.set(m.data, head.length);
  return out;
}

/** Decodes one ut_metadata payload; a malformed one throws IsosyncError('BAD_REPLY'). */
export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage {
  const bad = (why: string): never => {
    throw new IsosyncError('BAD_REPLY', `Cannot read a ut_metadata message: ${why}`);
  };
  let head;
  try {
    head = decodeBencodePrefix(payload);
  } catch (e) {
    if (e instanceof BencodeError) bad(e.detail);
    throw e;
  }
  const d = head.value;
  if (!isDict(d)) return bad('it is not a dictionary');
  const type = d.get('msg_type');
  const piece = d.get('piece');
  if (typeof piece !== 'number' || piece < 0) return bad(`piece ${String(piece)} is not a non-negative integer`);
  const rest = payload.subarray(head.end);
  if (type === 0 || type === 2) {
    if (rest.length > 0) bad(`a ${type === 0 ? 'request' : 'reject'} carries ${rest.length} trailing bytes`);
    return { type: type === 0 ? 'request' : 'reject', piece };
  }
  if (type !== 1) return bad(`msg_type ${String(type)} is not 0, 1 or 2`);
  const totalSize = d.get('total_size');
  if (typeof totalSize !== 'number' || totalSize <= 0) return bad(`total_size ${String(totalSize)} is not a positive integer`);
  return { type: 'data', piece, totalSize, data: rest };
}

/** Number of 16 KiB pieces of an info dictionary of `size` bytes. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_BYTES);
}

/** The serving side: the answer to a request for piece `piece` of `rawInfo`. */
export function answerMetadataRequest(rawInfo: Uint8Array, piece: number): MetadataMessage {
  if (!Number.isInteger(piece) || piece < 0 || piece >= metadataPieceCount(rawInfo.length)) return { type: 'reject', piece };
  const data = rawInfo.subarray(piece * METADATA_PIECE_BYTES, (piece + 1) * METADATA_PIECE_BYTES);
  return { type: 'data', piece, totalSize: rawInfo.length, data };
}

export type AssembleOutcome =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'complete'; readonly rawInfo: Uint8Array; readonly version: 'v1' | 'v2' }
  /** The pieces did not hash to the infohash: everything was discarded. */
  | { readonly kind: 'hash-mismatch' }
  /** The message broke the rules above; the peer should be dropped. */
  | { readonly kind: 'bad-piece'; readonly why: string };

export interface ExpectedHashes {
  /** 20-byte v1 infohash (SHA-1 of the info dictionary). */
  readonly v1?: Uint8Array;
  /** 32-byte v2 infohash (SHA-256 of the info dictionary). */
  readonly v2?: Uint8Array;
}

/**
 * Collects the pieces of one info dictionary. The size comes from a peer's
 * extended handshake; pieces may come from several peers advertising the
 * same size. Call nextPiece() for what to request, accept() for each data
 * message.
 */
export class MetadataAssembler {
  readonly size: number;
  readonly pieceCount: number;
  private readonly buf: Uint8Array;
  private readonly have: boolean[];
  private readonly asked: boolean[];
  private haveCount = 0;

  constructor(size: number, private readonly expected: ExpectedHashes) {
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_BYTES) {
      throw new IsosyncError('BAD_REPLY', `Cannot fetch metadata: a peer declared metadata_size ${size}, outside 1-${MAX_METADATA_BYTES}`, { size });
    }
    if (!expected.v1 && !expected.v2) throw new IsosyncError('BAD_ARGUMENT', 'Cannot fetch metadata without an infohash to check it against');
    this.size = size;
    this.pieceCount = metadataPieceCount(size);
    this.buf = new Uint8Array(size);
    this.have = new Array<boolean>(this.pieceCount).fill(false);
    this.asked = new Array<boolean>(this.pieceCount).fill(false);
  }

  /** A piece nobody was asked for yet, else one still missing (to ask another peer), else undefined. */
  nextPiece(): number | undefined {
    let missing: number | undefined;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have[i]) continue;
      if (!this.asked[i]) {
        this.asked[i] = true;
        return i;
      }
      missing ??= i;
    }
    return missing;
  }

  /** A request went unanswered or was rejected: the piece may be asked of someone else first. */
  release(piece: number): void {
    if (piece >= 0 && piece < this.pieceCount && !this.have[piece]) this.asked[piece] = false;
  }

  get missingCount(): number {
    return this.pieceCount - this.haveCount;
  }

  accept(piece: number, totalSize: number, data: Uint8Array): AssembleOutcome {
    if (totalSize !== this.size) return { kind: 'bad-piece', why: `total_size ${totalSize} differs from metadata_size ${this.size}` };
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) return { kind: 'bad-piece', why: `piece ${piece} is out of range 0-${this.pieceCount - 1}` };
    const want = Math.min(METADATA_PIECE_BYTES, this.size - piece * METADATA_PIECE_BYTES);
    if (data.length !== want) return { kind: 'bad-piece', why: `piece ${piece} has ${data.length} bytes, expected ${want}` };
    if (!this.have[piece]) {
      this.buf.set(data, piece * METADATA_PIECE_BYTES);
      this.have[piece] = true;
      this.haveCount++;
    }
    if (this.haveCount < this.pieceCount) return { kind: 'need-more' };
    const version = matches(this.buf, this.expected);
    if (version) return { kind: 'complete', rawInfo: this.buf, version };
    this.have.fill(false);
    this.asked.fill(false);
    this.haveCount = 0;
    return { kind: 'hash-mismatch' };
  }
}

function matches(info: Uint8Array, e: ExpectedHashes): 'v1' | 'v2' | undefined {
  if (e.v1 && Buffer.compare(createHash('sha1').update(info).digest(), e.v1) === 0) return 'v1';
  if (e.v2 && Buffer.compare(createHash('sha256').update(info).digest(), e.v2) === 0) return 'v2';
  return undefined;
}
