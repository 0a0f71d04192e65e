/**
 * BEP 52 merkle hash messages: how a v2 peer gets the hashes it needs to
 * verify single 16 KiB blocks (the leaf layer) or pieces of a file whose
 * piece layer it lacks (a magnet).
 *
 *   id  message       payload
 *   21  hash request  pieces root (32) | base layer | index | length | proof layers
 *   22  hashes        the same 48 bytes | `length` hashes of the base layer | uncle hashes
 *   23  hash reject   the same 48 bytes as the request
 * (every number a big-endian uint32)
 *
 * The base layer is 0 for leaves, log2(pieceLength / 16 KiB) for the piece
 * layer. `length` is a power of two; `index` is a multiple of it. The uncle
 * hashes prove the requested run: the siblings of its subtree root on the
 * way up, nearest first. `proof layers` counts layers above the base layer
 * the reply proves the run through: it reaches layer base + proof layers + 1
 * (at most the root), so it carries max(0, proof layers + 1 - log2(length))
 * uncles (`uncleCount`), as libtorrent sends, asks and checks them (a reply
 * of another size is a protocol violation there). A run that covers one
 * whole piece at the leaf layer needs none once the piece layer is known.
 *
 * Pure: no I/O. Decoders throw IsosyncError('BAD_REPLY') on malformed input;
 * counts are bounded (MAX_HASHES_PER_REQUEST) so a reply stays small.
 */
import { IsosyncError } from '../errors.js';
import { log2Exact, nextPowerOfTwo, padHash, SHA256_BYTES, unclesFor, verifyNodes } from './merkle.js';

export const MSG_HASH_REQUEST = 21;
export const MSG_HASHES = 22;
export const MSG_HASH_REJECT = 23;
/** Hashes asked in one request at most (libtorrent's limit); 8192 leaves cover 128 MiB. */
export const MAX_HASHES_PER_REQUEST = 8192;
const HEADER_BYTES = SHA256_BYTES + 16;

export interface HashRequest {
  readonly piecesRoot: Uint8Array;
  readonly baseLayer: number;
  readonly index: number;
  readonly length: number;
  readonly proofLayers: number;
}

export interface HashesReply extends HashRequest {
  /** `length` concatenated 32-byte hashes of the base layer. */
  readonly hashes: Uint8Array;
  /** Uncle hashes, nearest first. */
  readonly uncles: readonly Uint8Array[];
}

/** Why a request is not well formed, or undefined when it is. */
export function requestProblem(r: HashRequest): string | undefined {
  if (r.piecesRoot.length !== SHA256_BYTES) return `pieces root is ${r.piecesRoot.length} bytes`;
  if (r.length < 1 || r.length > MAX_HASHES_PER_REQUEST || r.length !== nextPowerOfTwo(r.length)) return `length ${r.length} is not a power of two up to ${MAX_HASHES_PER_REQUEST}`;
  if (r.index % r.length !== 0) return `index ${r.index} is not a multiple of length ${r.length}`;
  if (r.baseLayer > 40 || r.proofLayers > 40) return `layer ${Math.max(r.baseLayer, r.proofLayers)} is past any file's tree`;
  return undefined;
}

/** The uncle hashes a `hashes` reply to `r` carries (see the module comment). */
export function uncleCount(r: Pick<HashRequest, 'length' | 'proofLayers'>): number {
  return Math.max(0, r.proofLayers + 1 - log2Exact(r.length));
}

function header(r: HashRequest): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(r.piecesRoot, 0);
  const v = new DataView(out.buffer);
  v.setUint32(32, r.baseLayer);
  v.setUint32(36, r.index);
  v.setUint32(40, r.length);
  v.setUint32(44, r.proofLayers);
  return out;
}

/** Payload of a hash request or hash reject (the message id is the wire's). */
export function encodeHashRequest(r: HashRequest): Uint8Array {
  const problem = requestProblem(r);
  if (problem) throw new IsosyncError('BAD_ARGUMENT', `Cannot send a hash request: ${problem}`);
  return header(r);
}

export function encodeHashes(r: HashesReply): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + r.hashes.length + r.uncles.length * SHA256_BYTES);
  out.set(header(r), 0);
  out.set(r.hashes, HEADER_BYTES);
  r.uncles.forEach((u, i) => out.set(u, HEADER_BYTES + r.hashes.length + i * SHA256_BYTES));
  return out;
}

function bad(what: string, why: string): never {
  throw new IsosyncError('BAD_REPLY', `Cannot read a ${what} message: ${why}`);
}

/** Decodes a hash request or hash reject payload. */
export function decodeHashRequest(payload: Uint8Array, what = 'hash request'): HashRequest {
  if (payload.length !== HEADER_BYTES) bad(what, `it is ${payload.length} bytes, expected ${HEADER_BYTES}`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const r = { piecesRoot: payload.slice(0, 32), baseLayer: v.getUint32(32), index: v.getUint32(36), length: v.getUint32(40), proofLayers: v.getUint32(44) };
  const problem = requestProblem(r);
  if (problem) bad(what, problem);
  return r;
}

export function decodeHashes(payload: Uint8Array): HashesReply {
  if (payload.length < HEADER_BYTES) bad('hashes', `it is ${payload.length} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  const r = decodeHashRequest(payload.subarray(0, HEADER_BYTES), 'hashes');
  const rest = payload.length - HEADER_BYTES;
  if (rest % SHA256_BYTES !== 0) bad('hashes', `${rest} bytes of hashes are not a multiple of ${SHA256_BYTES}`);
  const count = rest / SHA256_BYTES;
  if (count !== r.length + uncleCount(r)) {
    bad('hashes', `${count} hashes do not fit ${r.length} requested and ${uncleCount(r)} uncles`);
  }
  const hashes = payload.slice(HEADER_BYTES, HEADER_BYTES + r.length * SHA256_BYTES);
  const uncles: Uint8Array[] = [];
  for (let i = r.length; i < count; i++) uncles.push(payload.slice(HEADER_BYTES + i * SHA256_BYTES, HEADER_BYTES + (i + 1) * SHA256_BYTES));
  return { ...r, hashes, uncles };
}

/**
 * The serving side: answers a request from a full row of the file's tree
 * (`row`: the nodes present at layer `rowLayer`, the tree `width` nodes wide
 * at that layer). Only requests at that layer are answered here; others
 * are rejected (undefined).
 */
export function answerHashRequest(r: HashRequest, row: Uint8Array, rowLayer: number, width: number): HashesReply | undefined {
  if (requestProblem(r) || r.baseLayer !== rowLayer) return undefined;
  const present = row.length / SHA256_BYTES;
  if (r.index >= width || r.index + r.length > width) return undefined;
  // The proof may reach the root at most (layer rowLayer + log2(width)).
  if (r.proofLayers + 1 > log2Exact(width)) return undefined;
  const hashes = new Uint8Array(r.length * SHA256_BYTES);
  const have = Math.max(0, Math.min(r.length, present - r.index));
  hashes.set(row.subarray(r.index * SHA256_BYTES, (r.index + have) * SHA256_BYTES), 0);
  if (have < r.length) {
    // Positions past the file's end hold the padding hash of this layer.
    const pad = padHash(rowLayer);
    for (let i = have; i < r.length; i++) hashes.set(pad, i * SHA256_BYTES);
  }
  const all = unclesFor(row, width, rowLayer, r.index, r.length);
  return { ...r, hashes, uncles: all.slice(0, uncleCount(r)) };
}

/**
 * Checks a reply against a hash we trust at layer `trustedLayer` (the
 * piece layer from the .torrent, or the pieces root): the requested run plus
 * its uncles must hash up to `trusted`, the node at that layer above the run.
 */
export function verifyHashes(reply: HashesReply, trusted: Uint8Array, trustedLayer: number): boolean {
  const climb = trustedLayer - reply.baseLayer - log2Exact(reply.length);
  if (climb < 0 || climb !== reply.uncles.length) return false;
  // The trusted node covers `span` nodes of the base layer; the run's place is relative to it.
  const span = reply.length * 2 ** climb;
  return verifyNodes(reply.hashes, reply.index % span, reply.baseLayer, reply.uncles, trusted);
}
