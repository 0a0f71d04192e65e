import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  blockMatches,
  blockVerdicts,
  fileRoot,
  leafHashes,
  MERKLE_BLOCK_BYTES,
  padHash,
  pieceLayerOf,
  rootOf,
  SHA256_BYTES,
  unclesFor,
  verifyNodes,
} from '../../src/torrent/merkle.js';
import { Rng } from '../helpers/random.js';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** A textbook reference: build the full padded tree level by level with plain arrays. */
function referenceRoot(leaves: Uint8Array[], width: number): Uint8Array {
  let row = [...leaves];
  while (row.length < width) row.push(new Uint8Array(32));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(sha(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

function split(hashes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < hashes.length; i += 32) out.push(hashes.subarray(i, i + 32));
  return out;
}

describe('BEP 52 merkle trees', () => {
  it('pads with zero leaves, and above them with hashes of padding', () => {
    assert.deepEqual(padHash(0), new Uint8Array(32));
    assert.deepEqual(padHash(1), sha(new Uint8Array(64)));
    assert.deepEqual(padHash(2), sha(padHash(1), padHash(1)));
    assert.throws(() => padHash(-1));
  });

  // [file length, piece length]: one leaf, a short last block, exactly one piece, one byte past, many pieces with a short last piece.
  const cases: [number, number][] = [
    [1, 16384],
    [16384, 16384],
    [16385, 16384],
    [50_000, 65536],
    [65536, 65536],
    [65537, 65536],
    [300_001, 65536],
    [1_000_000, 32768],
  ];
  for (const [length, pieceLength] of cases) {
    it(`gives the reference root for ${length} bytes at piece length ${pieceLength}`, () => {
      const data = new Rng(length).bytes(length);
      const leaves = leafHashes(data);
      assert.equal(leaves.length, Math.ceil(length / MERKLE_BLOCK_BYTES) * SHA256_BYTES);
      // The tree spans a power of two of leaves, and never less than one piece once past a piece.
      const n = leaves.length / 32;
      const perPiece = pieceLength / MERKLE_BLOCK_BYTES;
      let width = 1;
      while (width < n) width *= 2;
      if (length > pieceLength) width = Math.max(width, perPiece);
      const want = referenceRoot(split(leaves), width);
      assert.deepEqual(fileRoot(length, pieceLength, { leaves }), want);
      if (length > pieceLength) {
        const layer = pieceLayerOf(leaves, pieceLength);
        assert.equal(layer.length, Math.ceil(length / pieceLength) * 32);
        assert.deepEqual(fileRoot(length, pieceLength, { pieceLayer: layer }), want);
        // Each piece node is the padded root of that piece's leaves.
        split(layer).forEach((node, p) => assert.deepEqual(node, referenceRoot(split(leaves).slice(p * perPiece, (p + 1) * perPiece), perPiece)));
      }
    });
  }

  it('proves every leaf of a 13-leaf tree to its root, and refuses a wrong leaf, index or uncle', () => {
    const rng = new Rng(13);
    const leaves = leafHashes(rng.bytes(13 * MERKLE_BLOCK_BYTES - 100));
    const root = rootOf(leaves, 16, 0);
    assert.deepEqual(root, referenceRoot(split(leaves), 16));
    for (let i = 0; i < 13; i++) {
      const leaf = leaves.subarray(i * 32, (i + 1) * 32);
      const uncles = unclesFor(leaves, 16, 0, i, 1);
      assert.equal(uncles.length, 4);
      assert.ok(verifyNodes(leaf, i, 0, uncles, root), `leaf ${i}`);
      assert.ok(!verifyNodes(leaf, (i + 1) % 13, 0, uncles, root), `leaf ${i} at the wrong index`);
      const bad = leaf.slice();
      bad[0]! ^= 1;
      assert.ok(!verifyNodes(bad, i, 0, uncles, root), `corrupt leaf ${i}`);
      const badUncles = uncles.map((u) => u.slice());
      badUncles[2]![5]! ^= 1;
      assert.ok(!verifyNodes(leaf, i, 0, badUncles, root), `corrupt uncle for leaf ${i}`);
    }
    // A run of 4 aligned leaves proves with 2 uncles.
    const run = leaves.subarray(8 * 32, 12 * 32);
    assert.ok(verifyNodes(run, 8, 0, unclesFor(leaves, 16, 0, 8, 4), root));
    assert.ok(!verifyNodes(run, 6, 0, unclesFor(leaves, 16, 0, 8, 4), root), 'unaligned run');
  });

  it('checks a 16 KiB block against its leaf alone', () => {
    const data = new Rng(7).bytes(3 * MERKLE_BLOCK_BYTES + 5);
    const leaves = split(leafHashes(data));
    for (let b = 0; b < 4; b++) {
      const block = data.subarray(b * MERKLE_BLOCK_BYTES, (b + 1) * MERKLE_BLOCK_BYTES);
      assert.ok(blockMatches(block, leaves[b]!));
      const other = block.slice();
      other[other.length - 1]! ^= 0x80;
      assert.ok(!blockMatches(other, leaves[b]!));
    }
    assert.ok(!blockMatches(new Uint8Array(MERKLE_BLOCK_BYTES + 1), leaves[0]!), 'a block is at most 16 KiB');
  });

  it('keeps the good blocks of a piece with one wrong 16 KiB guess', () => {
    const piece = new Rng(8).bytes(4 * MERKLE_BLOCK_BYTES);
    const leaves = leafHashes(piece);
    const guessed = piece.slice();
    guessed[2 * MERKLE_BLOCK_BYTES + 100]! ^= 0xff;
    assert.deepEqual(blockVerdicts(guessed, leaves), [true, true, false, true]);
    assert.deepEqual(blockVerdicts(piece, leaves.subarray(0, 64)), [true, true, false, false], 'no leaf, no verdict of good');
  });
});
