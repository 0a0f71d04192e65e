/**
 * BEP 52 merkle trees: the per-file SHA-256 hash trees of BitTorrent v2.
 *
 * Each file is cut into 16 KiB blocks (the last one may be shorter); a leaf
 * is the SHA-256 of one block. The leaf count is padded to a power of two
 * with zero leaves (32 zero bytes); a node is SHA-256(left || right). So a
 * padding node at height h is pad(h) = SHA-256(pad(h-1) || pad(h-1)), with
 * pad(0) = 32 zero bytes, never zero itself above the leaves.
 *
 *   pieces root    the root of a file's tree (files of length 0 have none)
 *   piece layer    the nodes at the height where one node covers one piece
 *                  (pieceLength / 16 KiB leaves); stored in `piece layers`
 *                  for files larger than one piece, one 32-byte hash per
 *                  piece of the file, with no padding entries
 *
 * A file no longer than one piece has no piece layer, and its root is taken
 * over its leaves padded to the next power of two (not to the piece length).
 *
 * Verification works at any height: a block is checked against its leaf
 * hash alone (SHA-256 of 16 KiB), so with a piece's leaf hashes in hand (from
 * peers, checked once against the piece layer) a wrong block costs 16 KiB,
 * not the piece. A leaf can also be checked against the root with the
 * sibling ("uncle") hashes on its path (`hashes` messages carry them).
 *
 * Pure: node:crypto only, no I/O. Loops are iterative; every size is bounded
 * by its caller's input.
 */
import { createHash } from 'node:crypto';
import { IsosyncError } from '../errors.js';

/** BEP 52: the leaf block size, 16 KiB. */
export const MERKLE_BLOCK_BYTES = 16 * 1024;
/** SHA-256 digest length (FIPS 180-4). */
export const SHA256_BYTES = 32;
/** Tree heights above this would mean files of 2^40 x 16 KiB: far past any real file, and it bounds the pad table. */
const MAX_HEIGHT = 52;

const padTable: Uint8Array[] = [new Uint8Array(SHA256_BYTES)];

/** The hash of an all-padding subtree of the given height (0 = a zero leaf). */
export function padHash(height: number): Uint8Array {
  if (!Number.isInteger(height) || height < 0 || height > MAX_HEIGHT) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot compute a merkle padding hash: height ${height} is out of range 0-${MAX_HEIGHT}`);
  }
  while (padTable.length <= height) {
    const below = padTable[padTable.length - 1]!;
    padTable.push(hashPair(below, below));
  }
  return padTable[height]!;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(left).update(right).digest());
}

/** The smallest power of two >= n (1 for n <= 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
export function log2Exact(n: number): number {
  return Math.round(Math.log2(n));
}

/** Number of 16 KiB leaves of a file of `length` bytes. */
export function leafCount(length: number): number {
  return Math.ceil(length / MERKLE_BLOCK_BYTES);
}

/** Leaf hashes of bytes in memory: SHA-256 of each 16 KiB block, concatenated. */
export function leafHashes(bytes: Uint8Array): Uint8Array {
  const n = leafCount(bytes.length);
  const out = new Uint8Array(n * SHA256_BYTES);
  for (let i = 0; i < n; i++) {
    out.set(sha256(bytes.subarray(i * MERKLE_BLOCK_BYTES, (i + 1) * MERKLE_BLOCK_BYTES)), i * SHA256_BYTES);
  }
  return out;
}

/**
 * The root of a tree whose bottom row is `nodes` (concatenated 32-byte
 * hashes at height `height`), padded to `width` nodes (a power of two, at
 * least the node count) with pad(height).
 */
export function rootOf(nodes: Uint8Array, width: number, height = 0): Uint8Array {
  const count = nodes.length / SHA256_BYTES;
  if (!Number.isInteger(count) || count > width || width !== nextPowerOfTwo(width)) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot compute a merkle root: ${nodes.length} bytes of hashes do not fit a row of ${width}`);
  }
  if (count === 0) return padHash(height + log2Exact(width));
  let row = nodes;
  let h = height;
  for (let w = width; w > 1; w /= 2) row = reduceRow(row, h++);
  return row.subarray(0, SHA256_BYTES);
}

/** Leaves per piece: pieceLength / 16 KiB (pieceLength is a power of two >= 16 KiB). */
export function leavesPerPiece(pieceLength: number): number {
  return pieceLength / MERKLE_BLOCK_BYTES;
}

/**
 * The piece-layer hash of one piece from its leaf hashes (at most
 * leavesPerPiece of them; the last piece of a file has fewer and is padded
 * with zero leaves).
 */
export function pieceNode(leaves: Uint8Array, pieceLength: number): Uint8Array {
  return rootOf(leaves, leavesPerPiece(pieceLength), 0);
}

/** The piece layer of a file from all its leaf hashes: one node per piece, no padding entries. */
export function pieceLayerOf(leaves: Uint8Array, pieceLength: number): Uint8Array {
  const per = leavesPerPiece(pieceLength) * SHA256_BYTES;
  const pieces = Math.ceil(leaves.length / per);
  const out = new Uint8Array(pieces * SHA256_BYTES);
  for (let p = 0; p < pieces; p++) out.set(pieceNode(leaves.subarray(p * per, (p + 1) * per), pieceLength), p * SHA256_BYTES);
  return out;
}

/**
 * A file's pieces root. Files longer than one piece: from the piece layer
 * (padded to a power of two with the padding hash of the piece height).
 * Shorter files: from the leaves, padded to the next power of two.
 */
export function fileRoot(length: number, pieceLength: number, layers: { readonly leaves?: Uint8Array; readonly pieceLayer?: Uint8Array }): Uint8Array {
  if (length <= pieceLength) {
    const leaves = layers.leaves;
    if (!leaves) throw new IsosyncError('BAD_ARGUMENT', 'Cannot compute the root of a one-piece file without its leaf hashes');
    return rootOf(leaves, nextPowerOfTwo(leafCount(length)), 0);
  }
  const layer = layers.pieceLayer ?? (layers.leaves ? pieceLayerOf(layers.leaves, pieceLength) : undefined);
  if (!layer) throw new IsosyncError('BAD_ARGUMENT', 'Cannot compute a file root without its piece layer or leaves');
  return rootOf(layer, nextPowerOfTwo(layer.length / SHA256_BYTES), log2Exact(leavesPerPiece(pieceLength)));
}

/** Whether a 16 KiB block (or a file's shorter last block) has the given leaf hash. */
export function blockMatches(block: Uint8Array, leaf: Uint8Array): boolean {
  return block.length <= MERKLE_BLOCK_BYTES && equalBytes(sha256(block), leaf);
}

/**
 * Checks `count` consecutive nodes at height `height` starting at node
 * `index` (aligned to `count`, a power of two) against an ancestor hash:
 * hashes them up to one node, then climbs with the uncle hashes (nearest
 * first) and compares with `expected` at height height + log2(count) +
 * uncles. Returns whether they match. This is how a `hashes` reply is
 * checked against a known piece layer or root.
 */
export function verifyNodes(nodes: Uint8Array, index: number, height: number, uncles: readonly Uint8Array[], expected: Uint8Array): boolean {
  const count = nodes.length / SHA256_BYTES;
  if (!Number.isInteger(count) || count === 0 || count !== nextPowerOfTwo(count) || index % count !== 0) return false;
  let node = rootOf(nodes, count, height);
  let at = index / count;
  for (const uncle of uncles) {
    if (uncle.length !== SHA256_BYTES) return false;
    node = at % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node);
    at = Math.floor(at / 2);
  }
  return at === 0 && equalBytes(node, expected);
}

/**
 * The uncle hashes that prove `count` nodes starting at `index` of a row
 * (the row's nodes present, padded to `width` with pad(height)) up to the
 * row's root: the sibling of each ancestor, nearest first.
 */
export function unclesFor(row: Uint8Array, width: number, height: number, index: number, count: number): Uint8Array[] {
  const uncles: Uint8Array[] = [];
  let cur = row;
  let curWidth = width;
  let h = height;
  // Collapse the proven block to one node first: those levels need no uncles.
  let at = index;
  let span = 1;
  while (span < count) {
    cur = reduceRow(cur, h);
    curWidth /= 2;
    h++;
    span *= 2;
    at = Math.floor(at / 2);
  }
  while (curWidth > 1) {
    const present = cur.length / SHA256_BYTES;
    const sib = at ^ 1;
    uncles.push(sib < present ? cur.slice(sib * SHA256_BYTES, (sib + 1) * SHA256_BYTES) : padHash(h));
    cur = reduceRow(cur, h);
    curWidth /= 2;
    h++;
    at = Math.floor(at / 2);
  }
  return uncles;
}

/** The row one layer up: pairs of `row` (nodes at `height`) hashed, a missing right node taken as pad(height). */
export function reduceRow(row: Uint8Array, height: number): Uint8Array {
  const present = row.length / SHA256_BYTES;
  const nextCount = Math.ceil(present / 2);
  const next = new Uint8Array(nextCount * SHA256_BYTES);
  for (let i = 0; i < nextCount; i++) {
    const left = row.subarray(2 * i * SHA256_BYTES, (2 * i + 1) * SHA256_BYTES);
    const right = 2 * i + 1 < present ? row.subarray((2 * i + 1) * SHA256_BYTES, (2 * i + 2) * SHA256_BYTES) : padHash(height);
    next.set(hashPair(left, right), i * SHA256_BYTES);
  }
  return next;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Which 16 KiB blocks of a piece's bytes match their leaf hashes (trusted:
 * checked against the piece layer first). Local guesses are then kept or
 * dropped block by block, not piece by piece.
 */
export function blockVerdicts(pieceBytes: Uint8Array, leaves: Uint8Array): boolean[] {
  const n = leafCount(pieceBytes.length);
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const leaf = leaves.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES);
    out.push(leaf.length === SHA256_BYTES && blockMatches(pieceBytes.subarray(i * MERKLE_BLOCK_BYTES, (i + 1) * MERKLE_BLOCK_BYTES), leaf));
  }
  return out;
}
