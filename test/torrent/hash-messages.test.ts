import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import {
  answerHashRequest,
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashRequest,
  uncleCount,
  verifyHashes,
} from '../../src/torrent/hash-messages.js';
import { fileRoot, leafHashes, MERKLE_BLOCK_BYTES, pieceLayerOf, SHA256_BYTES } from '../../src/torrent/merkle.js';
import { Rng } from '../helpers/random.js';

const PL = 4 * MERKLE_BLOCK_BYTES; // 4 leaves per piece: the piece layer is layer 2
const data = new Rng(21).bytes(10 * MERKLE_BLOCK_BYTES + 999); // 11 leaves, 3 pieces
const leaves = leafHashes(data);
const layer = pieceLayerOf(leaves, PL);
const root = fileRoot(data.length, PL, { pieceLayer: layer });
const node = (row: Uint8Array, i: number) => row.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES);

describe('BEP 52 hash request, hashes and hash reject', () => {
  it('round-trips the 48-byte header and the hashes with their uncles', () => {
    const req = { piecesRoot: root, baseLayer: 0, index: 4, length: 4, proofLayers: 0 };
    assert.equal(encodeHashRequest(req).length, 48);
    assert.deepEqual(decodeHashRequest(encodeHashRequest(req)), req);
    // Length 4 (subtree of 2 layers) proven through 3 layers above the leaves: up to the root, 2 uncles.
    const reply = answerHashRequest({ ...req, proofLayers: 3 }, leaves, 0, 16)!;
    assert.equal(reply.uncles.length, 2);
    assert.equal(uncleCount(reply), 2);
    assert.deepEqual(decodeHashes(encodeHashes(reply)), reply);
  });

  it("gives a piece's leaf hashes, which check against the piece layer with no uncles (a wrong guess then costs 16 KiB)", () => {
    for (let p = 0; p < 3; p++) {
      const reply = answerHashRequest({ piecesRoot: root, baseLayer: 0, index: p * 4, length: 4, proofLayers: 0 }, leaves, 0, 16)!;
      assert.ok(verifyHashes(reply, node(layer, p), 2), `piece ${p}`);
      assert.ok(!verifyHashes(reply, node(layer, (p + 1) % 3), 2), `piece ${p} against another piece`);
    }
    // The last piece has 4 leaves in the tree but 3 in the file: the fourth is the zero leaf.
    const last = answerHashRequest({ piecesRoot: root, baseLayer: 0, index: 8, length: 4, proofLayers: 0 }, leaves, 0, 16)!;
    assert.deepEqual(node(last.hashes, 3), new Uint8Array(32));
  });

  it('proves the piece layer (a magnet has none) up to the pieces root with uncles', () => {
    const reply = answerHashRequest({ piecesRoot: root, baseLayer: 2, index: 0, length: 2, proofLayers: 1 }, layer, 2, 4)!;
    assert.ok(verifyHashes(reply, root, 4));
    const forged = { ...reply, hashes: reply.hashes.slice() };
    forged.hashes[40]! ^= 1;
    assert.ok(!verifyHashes(forged, root, 4));
    assert.ok(!verifyHashes({ ...reply, uncles: [] }, root, 4), 'missing uncle');
  });

  it('proves a single leaf to the root', () => {
    for (let i = 0; i < 11; i++) {
      const reply = answerHashRequest({ piecesRoot: root, baseLayer: 0, index: i, length: 1, proofLayers: 3 }, leaves, 0, 16)!;
      assert.equal(reply.uncles.length, 4);
      assert.ok(verifyHashes(reply, root, 4), `leaf ${i}`);
    }
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['a short request', new Uint8Array(47), /is 47 bytes, expected 48/],
    ['length 3', encodeRaw(0, 0, 3, 0), /length 3 is not a power of two/],
    ['length 0', encodeRaw(0, 0, 0, 0), /length 0 is not a power of two/],
    ['an unaligned index', encodeRaw(0, 2, 4, 0), /index 2 is not a multiple of length 4/],
    ['a huge length', encodeRaw(0, 0, 16384, 0), /up to 8192/],
  ];
  for (const [name, payload, message] of malformed) {
    it(`refuses ${name}`, () => {
      assert.throws(() => decodeHashRequest(payload), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_REPLY' && message.test(e.message));
    });
  }

  it('refuses hashes with too few hashes or more uncles than asked, and answers nothing outside the tree', () => {
    const reply = answerHashRequest({ piecesRoot: root, baseLayer: 0, index: 0, length: 4, proofLayers: 2 }, leaves, 0, 16)!;
    assert.equal(reply.uncles.length, 1);
    const bytes = encodeHashes(reply);
    assert.throws(() => decodeHashes(bytes.subarray(0, bytes.length - 64)), /do not fit 4 requested and 1 uncles/);
    assert.throws(() => decodeHashes(new Uint8Array([...bytes, ...new Uint8Array(32)])), /do not fit 4 requested and 1 uncles/);
    // A proof past the root is not answered (libtorrent refuses such a request too).
    assert.equal(answerHashRequest({ piecesRoot: root, baseLayer: 0, index: 0, length: 4, proofLayers: 4 }, leaves, 0, 16), undefined);
    assert.equal(answerHashRequest({ piecesRoot: root, baseLayer: 0, index: 16, length: 4, proofLayers: 0 }, leaves, 0, 16), undefined);
    assert.equal(answerHashRequest({ piecesRoot: root, baseLayer: 1, index: 0, length: 4, proofLayers: 0 }, leaves, 0, 16), undefined);
  });
});

function encodeRaw(base: number, index: number, length: number, proof: number): Uint8Array {
  const out = new Uint8Array(48);
  const v = new DataView(out.buffer);
  v.setUint32(32, base);
  v.setUint32(36, index);
  v.setUint32(40, length);
  v.setUint32(44, proof);
  return out;
}
