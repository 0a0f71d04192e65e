/**
 * The seeding side of BEP 52 hash requests (torrent/hash-server.ts): every
 * answer is compared with the one computed from the file's whole tree (all
 * its leaves in memory), for every layer, run and proof depth a peer may
 * ask; requests outside the tree, or that would read too much, are rejected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerHashRequest, verifyHashes, type HashRequest } from '../../src/torrent/hash-messages.js';
import { HashServer } from '../../src/torrent/hash-server.js';
import { fileRoot, leafCount, leafHashes, log2Exact, MERKLE_BLOCK_BYTES, nextPowerOfTwo, pieceLayerOf, reduceRow } from '../../src/torrent/merkle.js';
import type { V2Info } from '../../src/torrent/v2-info.js';
import { Rng } from '../helpers/random.js';

function fixture(length: number, pieceLength: number) {
  const data = new Rng(length).bytes(length);
  const leaves = leafHashes(data);
  const pieceCount = Math.ceil(length / pieceLength);
  const layer = length > pieceLength ? pieceLayerOf(leaves, pieceLength) : undefined;
  const root = fileRoot(length, pieceLength, layer ? { pieceLayer: layer } : { leaves });
  const file = { path: ['f'], length, attr: '', offset: 0, firstPiece: 0, pieceCount, piecesRoot: root };
  const v2 = { files: [file], pieceLayers: new Map(layer ? [[Buffer.from(root).toString('hex'), layer]] : []) } as unknown as V2Info;
  let reads = 0;
  const server = new HashServer({ pieceLength, v2 }, async (o, n) => {
    reads += n;
    return data.subarray(o, o + n);
  });
  const width = nextPowerOfTwo(leafCount(length));
  const rows = [leaves];
  for (let h = 0; h < log2Exact(width); h++) rows.push(reduceRow(rows[h]!, h));
  return { server, root, rows, width, reads: () => reads };
}

describe('answering BEP 52 hash requests from the trees we seed', () => {
  for (const [name, length, pl] of [
    ['a file of many pieces, the last one short', 37 * MERKLE_BLOCK_BYTES + 5, 4 * MERKLE_BLOCK_BYTES],
    ['a file of 16 KiB pieces (the piece layer is the leaves)', 9 * MERKLE_BLOCK_BYTES + 1, MERKLE_BLOCK_BYTES],
    ['a file of one piece (only its root above the leaves)', 5 * MERKLE_BLOCK_BYTES + 77, 8 * MERKLE_BLOCK_BYTES],
  ] as const) {
    it(`answers every well-formed request as the whole tree would, for ${name}`, async () => {
      const f = fixture(length, pl);
      const top = log2Exact(f.width);
      let answered = 0;
      for (let base = 0; base < top; base++) {
        const layerWidth = f.width >> base;
        for (let len = 1; len <= layerWidth; len *= 2) {
          for (let index = 0; index < layerWidth; index += len) {
            for (let proofLayers = 0; base + proofLayers + 1 <= top; proofLayers++) {
              const r: HashRequest = { piecesRoot: f.root, baseLayer: base, index, length: len, proofLayers };
              const want = answerHashRequest(r, f.rows[base]!, base, layerWidth);
              const got = await f.server.answer(r);
              assert.deepEqual(got, want, JSON.stringify({ base, index, len, proofLayers }));
              if (got && base + proofLayers + 1 === top) assert.ok(verifyHashes(got, f.root, top), 'proven to the root');
              answered++;
            }
          }
        }
      }
      assert.ok(answered > 0);
    });
  }

  it('rejects what is outside the tree, another root, a proof past the root, and reads no more than the pieces under the run', async () => {
    const f = fixture(37 * MERKLE_BLOCK_BYTES + 5, 4 * MERKLE_BLOCK_BYTES);
    const r = { piecesRoot: f.root, baseLayer: 0, index: 0, length: 4, proofLayers: 0 };
    assert.equal(await f.server.answer({ ...r, index: 64 }), undefined);
    assert.equal(await f.server.answer({ ...r, baseLayer: 6 }), undefined);
    assert.equal(await f.server.answer({ ...r, proofLayers: 6 }), undefined);
    assert.equal(await f.server.answer({ ...r, piecesRoot: new Uint8Array(32) }), undefined);
    const before = f.reads();
    assert.ok(await f.server.answer({ ...r, index: 8 }));
    assert.equal(f.reads() - before, 4 * MERKLE_BLOCK_BYTES, 'one piece read for its leaves');
    const piecesOnly = f.reads();
    assert.ok(await f.server.answer({ ...r, baseLayer: 2, index: 0, length: 16, proofLayers: 3 }));
    assert.equal(f.reads(), piecesOnly, 'the piece layer needs no read');
  });
});
