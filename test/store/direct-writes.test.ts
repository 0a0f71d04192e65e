/**
 * Verified pieces in page-aligned buffers go to the .part past the page cache
 * (store/aligned.ts, store/direct-writes.ts), on file systems that allow
 * O_DIRECT; any other buffer, and every buffer where O_DIRECT is refused, goes
 * through the page cache. Either way the bytes read back, and the .part
 * becomes the image only once every piece is written.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pieceIndex } from '../../src/core/ids.js';
import { ALIGN, alignedBytes, isAligned } from '../../src/store/aligned.js';
import { DirectWrites } from '../../src/store/direct-writes.js';
import { PartFile } from '../../src/store/part-file.js';
import { alignedPool, BufferPool } from '../../src/delta/piece-fill.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';

const PIECE = 64 * 1024;

/** Whether the file system under `dir` takes an aligned O_DIRECT write (tmpfs does not). */
function directWorks(dir: string): boolean {
  const buf = alignedBytes(ALIGN)!;
  try {
    const fd = openSync(join(dir, 'probe'), constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT);
    try {
      writeSync(fd, buf, 0, ALIGN, 0);
      return true;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function target(pieces: number, tail: number) {
  const bytes = new Rng(pieces).bytes(pieces * PIECE - tail);
  const hashes = new Uint8Array(pieces * 20);
  for (let p = 0; p < pieces; p++) hashes.set(createHash('sha1').update(bytes.subarray(p * PIECE, Math.min(bytes.length, (p + 1) * PIECE))).digest(), p * 20);
  return { bytes, t: { length: bytes.length, pieceLength: PIECE, pieces: hashes } };
}

describe('aligned buffers', () => {
  it('start on a page of aligned memory, stay aligned as the memory grows, and plain buffers are not aligned', () => {
    const a = alignedBytes(PIECE)!;
    const b = alignedBytes(100)!;
    const c = alignedBytes(PIECE)!;
    for (const x of [a, b, c]) assert.ok(isAligned(x));
    assert.equal(b.length, 100);
    assert.ok(b.byteOffset >= a.byteOffset + PIECE && c.byteOffset >= b.byteOffset + ALIGN, 'no two overlap');
    a.fill(7);
    assert.equal(b[0], 0);
    assert.ok(isAligned(a.subarray(ALIGN)));
    assert.ok(!isAligned(a.subarray(1)));
    assert.ok(!isAligned(new Uint8Array(PIECE)));
    assert.ok(!isAligned(Buffer.allocUnsafeSlow(PIECE)));
  });

  it('an aligned pool hands out aligned buffers and takes back short views of them', () => {
    const pool = new BufferPool(PIECE, true);
    const a = pool.take(PIECE);
    const short = pool.take(1000);
    assert.ok(isAligned(a) && isAligned(short));
    pool.give(short);
    const again = pool.take(PIECE);
    assert.equal(again.byteOffset, short.byteOffset, 'the short view gave its whole buffer back');
    assert.equal(again.length, PIECE);
    assert.equal(alignedPool(PIECE), alignedPool(PIECE), 'one aligned pool per piece length');
  });
});

describe('the .part writes aligned pieces past the page cache', () => {
  it('aligned and plain pieces, a short last piece: all read back, and the image is whole once finished', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(5, 1000);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t);
      assert.equal(part.alignedWrites, directWorks(tmp.dir), 'aligned writes wherever the file system takes O_DIRECT');
      for (let p = 0; p < 5; p++) {
        const piece = bytes.subarray(p * PIECE, Math.min(bytes.length, (p + 1) * PIECE));
        // Even pieces from aligned buffers, odd ones from plain buffers; the last is shorter than a page multiple.
        const buf = p % 2 === 0 ? alignedBytes(piece.length)! : new Uint8Array(piece.length);
        buf.set(piece);
        await part.writePiece(pieceIndex(p), p * PIECE, buf);
        buf.fill(0); // the store is done with the buffer once the write resolved
        assert.ok(Buffer.from(await part.read(p * PIECE, piece.length)).equals(piece), `piece ${p} reads back`);
      }
      await part.finish();
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      tmp.cleanup();
    }
  });

  it('a direct writer writes only aligned buffers at aligned offsets and lengths', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'f');
      closeSync(openSync(path, 'w'));
      const d = await DirectWrites.open(path);
      if (!directWorks(tmp.dir)) {
        // Refused at open (tmpfs) or at the first write: nothing is written this way.
        if (d) assert.equal(await d.write(alignedBytes(ALIGN)!, 0), false);
        await d?.close();
        return;
      }
      assert.ok(d);
      const a = alignedBytes(2 * ALIGN)!;
      a.fill(9);
      assert.equal(await d.write(new Uint8Array(ALIGN), 0), false, 'a plain buffer');
      assert.equal(await d.write(a.subarray(0, 100), 0), false, 'a length off the block size');
      assert.equal(await d.write(a, 100), false, 'an offset off the block size');
      assert.equal(await d.write(a, ALIGN), true);
      await d.close();
      const back = readFileSync(path);
      assert.equal(back.length, 3 * ALIGN);
      assert.ok(back.subarray(ALIGN).every((x) => x === 9));
    } finally {
      tmp.cleanup();
    }
  });
});
