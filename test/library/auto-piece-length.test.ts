/**
 * `publish --piece-length auto`: the chooser on block maps written as one
 * line (one character per 16 KiB block, `x` changed, `.` the same), and the
 * command on a remastered fixture, checked the way a stock client checks:
 * the old image's pieces verified against the new torrent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANGE_BLOCK_BYTES, choosePublishPieceLength, fetchAt, type ChangedBlocks } from '../../src/library/auto-piece-length.js';
import { verifyPieces } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, tempDir } from '../helpers/env.js';
import { HAVE_RELEASES, RELEASES } from '../sync/fixture-pair.js';

const K = 1024;

/** "x..x" -> blocks; the image ends `short` bytes before the last block's end. */
function map(line: string, short = 0): ChangedBlocks {
  const blocks = Uint8Array.from([...line].map((c) => (c === 'x' ? 1 : 0)));
  return { blocks, newBytes: blocks.length * CHANGE_BLOCK_BYTES - short };
}

describe('auto piece length: the chooser', () => {
  const cases: [line: string, largest: number, pieceLength: number, why: string][] = [
    ['................', 256 * K, 256 * K, 'nothing changed: the default'],
    ['xxxx............', 256 * K, 64 * K, 'one aligned 64 KiB run: 4 x the changes at 256 KiB, 2 x at 128 KiB'],
    ['xxxxxxxxxxxxxxxx', 256 * K, 256 * K, 'everything changed: any length fetches it all'],
    ['x.......x.......', 128 * K, 16 * K, 'scattered single blocks: only 16 KiB pieces stay within 1.05 x'],
    ['xxxx....xxxx....', 256 * K, 64 * K, 'aligned 64 KiB runs: 64 KiB'],
    ['..xxxx..........', 256 * K, 32 * K, 'a 64 KiB run across a 64 KiB border: 32 KiB'],
  ];
  for (const [line, largest, want, why] of cases) {
    test(`${line} from ${largest / K} KiB -> ${want / K} KiB (${why})`, () => {
      assert.equal(choosePublishPieceLength(map(line), largest).pieceLength, want);
    });
  }

  test('what a stock client fetches at each length, for one aligned 64 KiB run', () => {
    const c = map('xxxx............');
    assert.deepEqual([256, 128, 64, 32, 16].map((k) => fetchAt(c, k * K) / K), [256, 128, 64, 64, 64]);
  });

  test('fetch counts a short last piece by its own bytes', () => {
    const c = map('...x', 1000);
    assert.equal(fetchAt(c, 16 * K), 16 * K - 1000);
    assert.equal(fetchAt(c, 64 * K), 64 * K - 1000);
  });
});

describe('publish --piece-length auto', { skip: HAVE_RELEASES ? false : 'fixture releases missing' }, () => {
  test('on a remastered release: a smaller piece length, and the old image fails only pieces worth the reported fetch', async () => {
    const t = tempDir('isosync-auto-piece-');
    try {
      const home = join(t.dir, 'home');
      const base = join(t.dir, 'distro-1.00.iso');
      copyFileSync(join(RELEASES, 'distro-1.00.iso'), base);
      const tree = join(t.dir, 'tree');
      const x = cli(['extract', join(RELEASES, 'distro-1.01.iso'), '-o', tree]);
      assert.equal(x.status, 0, x.stderr);
      const image = join(t.dir, 'distro-1.01.iso');
      const r = cli(['remaster', base, tree, '-o', image, '--piece-length', '16K']);
      assert.equal(r.status, 0, r.stderr);
      const torrent = join(t.dir, 'distro-1.01.torrent');
      const p = cli(['publish', image, '--product', 'distro', '--release', '1.01', '--previous', base, '--piece-length', 'auto', '--home', home, '-o', torrent, '--json']);
      assert.equal(p.status, 0, p.stderr);
      const j = JSON.parse(p.stdout) as { pieceLength: number; autoPieceLength: { pieceLength: number; against: string; fetchBytes: number; changedBytes: number } };
      const m = parseMetainfo(readFileSync(torrent), torrent);
      assert.equal(j.autoPieceLength.pieceLength, m.pieceLength);
      assert.equal(j.autoPieceLength.against, 'distro-1.00', 'a previous image known by its bytes is named after its file');
      assert.ok(m.pieceLength < 256 * K, `remastered in place: smaller than the default (got ${m.pieceLength})`);
      assert.ok(j.autoPieceLength.fetchBytes <= 1.05 * j.autoPieceLength.changedBytes);
      // A stock client with the old image: every piece that fails is fetched whole.
      const v = await verifyPieces(base, m);
      let failed = 0;
      for (let i = 0; i < v.pieceCount; i++) if (!v.valid[i]) failed += Math.min(m.pieceLength, m.length - i * m.pieceLength);
      assert.equal(failed, j.autoPieceLength.fetchBytes);
    } finally {
      t.cleanup();
    }
  });

  test('without a previous image: refused, as bad input', () => {
    const t = tempDir('isosync-auto-piece-');
    try {
      const image = join(t.dir, 'distro-1.01.iso');
      copyFileSync(join(RELEASES, 'distro-1.01.iso'), image);
      const p = cli(['publish', image, '--product', 'distro', '--release', '1.01', '--piece-length', 'auto', '--home', join(t.dir, 'home')]);
      assert.equal(p.status, 2);
      assert.match(p.stderr, /--piece-length auto/);
    } finally {
      t.cleanup();
    }
  });
});
