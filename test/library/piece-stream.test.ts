import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computeHintSets } from '../../src/delta/hints.js';
import { PieceStream } from '../../src/library/piece-stream.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { Rng } from '../helpers/random.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const OLD = join(ROOT, 'fixtures', 'releases', 'distro-1.00.iso');
const NEW = join(ROOT, 'fixtures', 'releases', 'distro-1.01.iso');

describe('piece stream', () => {
  it('gives the pieces hashPieces gives, whatever the slices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isosync-piece-stream-'));
    try {
      const bytes = new Rng(7).bytes(5 * 16384 + 1234);
      const path = join(dir, 'x.bin');
      writeFileSync(path, bytes);
      const want = await hashPieces(path, 16384, { workers: 0 });
      for (const slice of [1000, 16384, 50_000, bytes.length]) {
        const s = new PieceStream(bytes.length, 16384);
        for (let off = 0; off < bytes.length; off += slice) s.update(bytes.subarray(off, off + slice), off);
        assert.deepEqual(s.pieces(), want, `slices of ${slice}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up on bytes out of order, repeated, or missing', () => {
    const bytes = new Rng(8).bytes(40_000);
    const skip = new PieceStream(bytes.length, 16384);
    skip.update(bytes.subarray(0, 1000), 0);
    skip.update(bytes.subarray(2000), 2000);
    assert.equal(skip.pieces(), undefined);
    const again = new PieceStream(bytes.length, 16384);
    again.update(bytes.subarray(0, 1000), 0);
    again.update(bytes.subarray(0, 1000), 0);
    assert.equal(again.pieces(), undefined);
    const short = new PieceStream(bytes.length, 16384);
    short.update(bytes.subarray(0, 30_000), 0);
    assert.equal(short.pieces(), undefined);
  });

  it('hashes the pieces of the image the hint matcher reads, in the same pass', async (t) => {
    if (!existsSync(OLD) || !existsSync(NEW)) return t.skip('fixture releases missing (npm run fixtures)');
    for (const pieceLength of [16384, 262144, 4 * 1024 * 1024]) {
      const s = new PieceStream(statSync(NEW).size, pieceLength);
      const sets = await computeHintSets(NEW, [{ infoHash: 'ab'.repeat(20), release: '1.00', imagePath: OLD }], { onTargetBytes: s.update });
      assert.ok(sets.length > 0);
      assert.deepEqual(s.pieces(), await hashPieces(NEW, pieceLength), `piece length ${pieceLength}`);
    }
  });
});
