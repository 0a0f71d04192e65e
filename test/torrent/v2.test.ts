/**
 * BEP 52 metadata without other tools: the v2 and hybrid layouts isosync
 * writes parse back; every defect of the v2 keys gives its one-line error;
 * the hashing pass gives the same piece layer on one thread and on many.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPiecesV2 } from '../../src/torrent/hash-pieces.js';
import { fileRoot, leafHashes, pieceLayerOf, sha256 } from '../../src/torrent/merkle.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';

const PL = 16384;
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();

/** A hybrid torrent of two files (a: 40000 bytes, b: 5 bytes) with a pad file between them, built by hand. */
function hybridParts() {
  const rng = new Rng(3);
  const a = rng.bytes(40_000);
  const b = rng.bytes(5);
  const leavesA = leafHashes(a);
  const layerA = pieceLayerOf(leavesA, PL);
  const rootA = fileRoot(a.length, PL, { pieceLayer: layerA });
  const rootB = fileRoot(b.length, PL, { leaves: leafHashes(b) });
  const padLen = 3 * PL - a.length;
  const content = Buffer.concat([a, new Uint8Array(padLen), b]);
  const pieces = Buffer.concat(Array.from({ length: 4 }, (_, i) => sha1(content.subarray(i * PL, (i + 1) * PL))));
  const info = new Map<string, unknown>([
    ['file tree', new Map([['a.iso', new Map([['', { length: a.length, 'pieces root': rootA }]])], ['b.txt', new Map([['', { length: b.length, 'pieces root': rootB }]])]])],
    ['files', [{ length: a.length, path: ['a.iso'] }, { attr: 'p', length: padLen, path: ['.pad', String(padLen)] }, { length: b.length, path: ['b.txt'] }]],
    ['meta version', 2],
    ['name', 'release'],
    ['piece length', PL],
    ['pieces', pieces],
  ]);
  const top = new Map<string, unknown>([['info', info], ['piece layers', new Map([[latin1(rootA), layerA]])]]);
  return { top, info, rootA, layerA };
}

function parse(top: Map<string, unknown>) {
  return parseMetainfo(encodeBencode(top), 'x.torrent');
}

describe('v2 and hybrid metadata', () => {
  it('reads a hand-made hybrid of two files: pad file, piece layers, both infohashes', () => {
    const { top, rootA } = hybridParts();
    const m = parse(top);
    assert.equal(m.version, 'hybrid');
    assert.equal(m.pieceCount, 4);
    assert.equal(m.length, 3 * PL + 5);
    assert.equal(m.v2?.layersComplete, true);
    assert.deepEqual(m.v2?.files.map((f) => [f.path.join('/'), f.offset, f.firstPiece, f.pieceCount]), [['a.iso', 0, 0, 3], ['b.txt', 3 * PL, 3, 1]]);
    assert.deepEqual(m.v2?.files[0]?.piecesRoot, rootA);
    assert.equal(m.v2?.infoHash, Buffer.from(sha256(m.rawInfo)).toString('hex'));
    assert.equal(m.infoHash, createHash('sha1').update(m.rawInfo).digest('hex'));
  });

  it('reads the same files as v2-only, with pad entries in the file list and the truncated SHA-256 as the wire infohash', () => {
    const { top, info } = hybridParts();
    info.delete('files');
    info.delete('pieces');
    const m = parse(top);
    assert.equal(m.version, 'v2');
    assert.equal(m.pieces.length, 0);
    assert.equal(m.infoHash, m.v2!.infoHash.slice(0, 40));
    assert.deepEqual(m.files?.map((f) => [f.path.join('/'), f.offset, f.length, f.attr]), [['a.iso', 0, 40_000, ''], ['.pad/9152', 40_000, 9152, 'p'], ['b.txt', 3 * PL, 5, '']]);
  });

  it('accepts a torrent without piece layers (as from a magnet) and says they are missing', () => {
    const { top } = hybridParts();
    top.delete('piece layers');
    assert.equal(parse(top).v2?.layersComplete, false);
  });

  const defects: [string, (p: ReturnType<typeof hybridParts>) => void, RegExp][] = [
    ['meta version 3', (p) => p.info.set('meta version', 3), /info\.meta version 3 is not 2/],
    ['file tree without meta version', (p) => p.info.delete('meta version'), /info\.meta version is missing/],
    ['meta version without file tree', (p) => p.info.delete('file tree'), /info\.file tree is missing/],
    ['piece length below 16 KiB', (p) => p.info.set('piece length', 8192), /below 16384, the smallest of a v2 torrent/],
    [
      'pieces root of 31 bytes',
      (p) => (p.info.get('file tree') as Map<string, Map<string, Record<string, unknown>>>).get('b.txt')!.set('', { length: 5, 'pieces root': new Uint8Array(31) }),
      /b\.txt\.pieces root .* is 31 bytes, expected 32/,
    ],
    [
      'non-empty file without pieces root',
      (p) => (p.info.get('file tree') as Map<string, Map<string, Record<string, unknown>>>).get('b.txt')!.set('', { length: 5 }),
      /b\.txt\.pieces root is missing/,
    ],
    ['empty directory', (p) => (p.info.get('file tree') as Map<string, unknown>).set('c', new Map()), /info\.file tree\/c is an empty directory/],
    [
      'a file that is also a directory',
      (p) => (p.info.get('file tree') as Map<string, Map<string, unknown>>).get('b.txt')!.set('x', new Map()),
      /b\.txt is both a file and a directory/,
    ],
    ['piece layer of the wrong length', (p) => p.top.set('piece layers', new Map([[latin1(p.rootA), p.layerA.subarray(32)]])), /is 64 bytes, expected 96/],
    [
      'piece layer that does not hash to the root',
      (p) => {
        const bad = p.layerA.slice();
        bad[0]! ^= 1;
        p.top.set('piece layers', new Map([[latin1(p.rootA), bad]]));
      },
      /does not hash to the file's pieces root/,
    ],
    ['hybrid without the pad file', (p) => p.info.set('files', [{ length: 40_000, path: ['a.iso'] }, { length: 5, path: ['b.txt'] }, { attr: 'p', length: 4 * PL - 40_005, path: ['.pad', 'x'] }]), /starts at byte 40000 in v1, not on its piece boundary 49152/],
    [
      'hybrid whose v1 list names another file',
      (p) => p.info.set('files', [{ length: 40_000, path: ['a.iso'] }, { attr: 'p', length: 9152, path: ['.pad', '9152'] }, { length: 5, path: ['c.txt'] }]),
      /v1 file 1 is "c\.txt" but info\.file tree has "b\.txt"/,
    ],
    ['hybrid whose v1 list has a file more', (p) => (p.info.get('files') as unknown[]).push({ length: 1, path: ['d'] }), /v1 file list holds 3 files but info\.file tree holds 2/],
  ];
  for (const [name, mutate, message] of defects) {
    it(`refuses ${name} with one line`, () => {
      const p = hybridParts();
      mutate(p);
      assert.throws(
        () => parse(p.top),
        (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_TORRENT' && message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }

  it('hashes the piece layer alike on one thread and on a pool of workers', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const data = new Rng(9).bytes(20 * 1024 * 1024 + 12345);
    const path = join(tmp.dir, 'big.iso');
    writeFileSync(path, data);
    const want = pieceLayerOf(leafHashes(data), 262144);
    for (const workers of [0, 2]) {
      const h = await hashPiecesV2(path, 262144, { workers });
      assert.deepEqual(h.pieceLayer, want, `${workers} workers`);
      assert.deepEqual(h.root, fileRoot(data.length, 262144, { pieceLayer: want }));
    }
  });

  it('writes v2 and hybrid torrents that parse back with the same hashes', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const data = new Rng(11).bytes(100_000);
    const path = join(tmp.dir, 'small.iso');
    writeFileSync(path, data);
    const h = await hashPiecesV2(path, PL);
    for (const version of ['v2', 'hybrid'] as const) {
      const { metainfo: m } = createTorrent({ name: 'small.iso', length: data.length, pieceLength: PL, pieces: h.pieces, version, v2: h });
      assert.equal(m.version, version);
      assert.deepEqual(m.v2?.files[0]?.piecesRoot, h.root);
      assert.deepEqual(m.v2?.pieceLayers.get(Buffer.from(h.root).toString('hex')), h.pieceLayer);
      assert.equal(m.v2?.layersComplete, true);
    }
    assert.throws(() => createTorrent({ name: 'small.iso', length: data.length, pieceLength: PL, pieces: h.pieces, version: 'v2' }), (e: unknown) => e instanceof IsosyncError && e.code === 'INTERNAL');
  });
});
