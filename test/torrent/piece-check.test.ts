/**
 * One piece check for v1, hybrid and v2-only torrents. The torrents are built
 * from whole files (roots and piece layers from all their leaves), and the
 * check is asked about pieces cut from the piece-aligned content, so a v2
 * piece that ends a file (short last leaf, zero leaves, pad bytes up to the
 * next file) must hash to the same node the whole-file tree holds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import type { PieceIndex } from '../../src/core/ids.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { fileRoot, leafHashes, pieceLayerOf } from '../../src/torrent/merkle.js';
import { parseMetainfo, type Metainfo } from '../../src/torrent/metainfo.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';
import { verifyPieces } from '../../src/torrent/hash-pieces.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';

const PL = 32768;
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();

/**
 * Three files at PL = 32 KiB: a.iso 70000 bytes (3 pieces, the last holding
 * one short leaf and 28304 pad bytes), b.txt 20000 bytes (one piece: checked
 * against its root over 2 leaves), c.bin 1 byte (the torrent's short last piece).
 */
function build(version: 'v2' | 'hybrid', opts: { layers?: boolean } = {}) {
  const rng = new Rng(7);
  const files = [
    { name: 'a.iso', data: rng.bytes(70_000) },
    { name: 'b.txt', data: rng.bytes(20_000) },
    { name: 'c.bin', data: rng.bytes(1) },
  ];
  const tree = new Map<string, unknown>();
  const layers = new Map<string, Uint8Array>();
  const v1Files: unknown[] = [];
  const chunks: Uint8Array[] = [];
  files.forEach((f, i) => {
    const leaves = leafHashes(f.data);
    const layer = f.data.length > PL ? pieceLayerOf(leaves, PL) : undefined;
    const root = layer ? fileRoot(f.data.length, PL, { pieceLayer: layer }) : fileRoot(f.data.length, PL, { leaves });
    tree.set(f.name, new Map([['', { length: f.data.length, 'pieces root': root }]]));
    if (layer) layers.set(latin1(root), layer);
    chunks.push(f.data);
    v1Files.push({ length: f.data.length, path: [f.name] });
    const pad = i < files.length - 1 ? (PL - (f.data.length % PL)) % PL : 0;
    if (pad > 0) {
      chunks.push(new Uint8Array(pad));
      v1Files.push({ attr: 'p', length: pad, path: ['.pad', String(pad)] });
    }
  });
  const content = Buffer.concat(chunks);
  const pieceCount = Math.ceil(content.length / PL);
  const info = new Map<string, unknown>([['file tree', tree], ['meta version', 2], ['name', 'release'], ['piece length', PL]]);
  if (version === 'hybrid') {
    info.set('files', v1Files);
    info.set('pieces', Buffer.concat(Array.from({ length: pieceCount }, (_, p) => sha1(content.subarray(p * PL, (p + 1) * PL)))));
  }
  const top = new Map<string, unknown>([['info', info]]);
  if (opts.layers !== false) top.set('piece layers', layers);
  return { m: parseMetainfo(encodeBencode(top), 'x.torrent'), content };
}

function v1Of(content: Uint8Array): Metainfo {
  const pieces = Buffer.concat(Array.from({ length: Math.ceil(content.length / PL) }, (_, p) => sha1(content.subarray(p * PL, (p + 1) * PL))));
  return parseMetainfo(encodeBencode({ info: { name: 'plain.iso', length: content.length, 'piece length': PL, pieces } }), 'plain.torrent');
}

type Cut = (piece: Uint8Array) => Uint8Array;
const asIs: Cut = (b) => b;
const flip = (at: number): Cut => (b) => {
  const c = new Uint8Array(b);
  c[at] = c[at]! ^ 1;
  return c;
};
const truncate = (n: number): Cut => (b) => b.subarray(0, n);

// [what, piece, cut, accepted]
const rows: [string, number, Cut, boolean][] = [
  ['a full piece of a.iso (piece layer)', 0, asIs, true],
  ['the middle piece of a.iso', 1, asIs, true],
  ['a.iso\'s last piece: one short leaf, zero leaves, then pad bytes', 2, asIs, true],
  ['a flipped byte in a full piece', 1, flip(30_000), false],
  ['a flipped byte in the short last leaf', 2, flip(4463), false],
  ['a non-zero pad byte after a.iso', 2, flip(4464), false],
  ['a.iso\'s last piece without its pad bytes', 2, truncate(4464), false],
  ['b.txt, one piece (pieces root over 2 leaves)', 3, asIs, true],
  ['b.txt with its second leaf changed', 3, flip(19_999), false],
  ['c.bin, the torrent\'s one-byte last piece', 4, asIs, true],
  ['c.bin changed', 4, flip(0), false],
];

describe('piece check', () => {
  const v2 = build('v2');
  const hybrid = build('hybrid');
  const v1 = v1Of(v2.content);
  for (const [what, p, cut, ok] of rows) {
    for (const [kind, t] of [['v2-only', v2], ['hybrid', hybrid], ['v1', { m: v1, content: v2.content }]] as const) {
      it(`${kind}: ${what} is ${ok ? 'accepted' : 'refused'}`, () => {
        const check = pieceCheckOf(t.m);
        const piece = t.content.subarray(p * PL, (p + 1) * PL);
        assert.equal(check.matches(p as PieceIndex, cut(piece)), ok);
      });
    }
  }

  it('uses SHA-1 for v1 and hybrid torrents and the merkle layers for v2-only ones', () => {
    assert.equal(pieceCheckOf(v1).kind, 'sha1');
    assert.equal(pieceCheckOf(hybrid.m).kind, 'sha1');
    assert.equal(pieceCheckOf(v2.m).kind, 'merkle');
    assert.equal(pieceCheckOf(v2.m), pieceCheckOf(v2.m), 'built once per metainfo');
  });

  it('refuses a piece index past the end and a piece of another index', () => {
    const check = pieceCheckOf(v2.m);
    assert.equal(check.pieceCount, 5);
    assert.equal(check.matches(5 as PieceIndex, v2.content.subarray(4 * PL)), false);
    assert.equal(check.matches(0 as PieceIndex, v2.content.subarray(PL, 2 * PL)), false);
  });

  it('says where each piece sits in its file tree (v2 and hybrid), nothing for v1', () => {
    const got = [0, 1, 2, 3, 4].map((p) => {
      const at = pieceCheckOf(hybrid.m).v2Piece(p as PieceIndex)!;
      return [at.file.path.join('/'), at.indexInFile, at.dataBytes, at.against, at.width];
    });
    assert.deepEqual(got, [
      ['a.iso', 0, PL, 'piece layer', 2],
      ['a.iso', 1, PL, 'piece layer', 2],
      ['a.iso', 2, 70_000 - 2 * PL, 'piece layer', 2],
      ['b.txt', 0, 20_000, 'pieces root', 2],
      ['c.bin', 0, 1, 'pieces root', 1],
    ]);
    assert.equal(pieceCheckOf(v1).v2Piece(0 as PieceIndex), undefined);
  });

  it('names the expected hashes in its fingerprint: other roots, other fingerprint', () => {
    assert.deepEqual(pieceCheckOf(v1).fingerprint, v1.pieces);
    assert.equal(pieceCheckOf(v2.m).fingerprint.length, 3 * 32);
  });

  it('refuses to build for a v2-only torrent without piece layers, rather than accept anything', () => {
    const { m } = build('v2', { layers: false });
    assert.throws(() => pieceCheckOf(m), (e: unknown) => e instanceof IsosyncError && e.code === 'UNSUPPORTED' && /piece layers are missing/.test(e.message));
    // A hybrid without them still checks by SHA-1.
    const h = build('hybrid', { layers: false });
    assert.equal(pieceCheckOf(h.m).matches(0 as PieceIndex, h.content.subarray(0, PL)), true);
  });

  it('verifies a v2-only image file the same way, on the calling thread and in the hashing pool', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const good = join(tmp.dir, 'good');
    writeFileSync(good, v2.content);
    const bad = join(tmp.dir, 'bad');
    const damaged = Buffer.from(v2.content);
    damaged[PL + 7] = damaged[PL + 7]! ^ 1; // a.iso's middle piece (a pool node)
    damaged[2 * PL + 5000] = 1; // a pad byte after a.iso (checked on this thread)
    writeFileSync(bad, damaged);
    const short = join(tmp.dir, 'short');
    writeFileSync(short, v2.content.subarray(0, 3 * PL + 100));
    for (const workers of [0, 2]) {
      assert.deepEqual((await verifyPieces(good, v2.m, { workers })).valid, [true, true, true, true, true], `workers ${workers}`);
      assert.deepEqual((await verifyPieces(bad, v2.m, { workers })).valid, [true, false, false, true, true], `workers ${workers}`);
      assert.deepEqual((await verifyPieces(short, v2.m, { workers })).valid, [true, true, true, false, false], `workers ${workers}`);
    }
  });
});
