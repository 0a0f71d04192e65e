/**
 * FileSource reads exactly what is asked, whether it reads synchronously (a
 * regular file, up to SYNC_IO_BYTES) or through the thread pool (larger
 * reads): the bytes are the file's, at any offset into any place of the
 * destination, and a file that shrank under an open source is an IO error on
 * both paths; so is a hashed range that the file ends in (hashRange, on
 * the same exact read).
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../../src/store/file-source.js';
import { readExactSync, SYNC_IO_BYTES } from '../../src/store/exact-io.js';
import { hashRange } from '../../src/torrent/hash-worker.js';
import { isError } from '../helpers/errors.js';
import { Rng } from '../helpers/random.js';

describe('FileSource', () => {
  const bytes = new Rng(11).bytes(SYNC_IO_BYTES * 2 + 12_345);

  /** An open FileSource on a fresh file of `bytes`, closed and removed after the test. */
  async function openFresh(t: TestContext): Promise<{ path: string; src: FileSource }> {
    const dir = mkdtempSync(join(tmpdir(), 'isosync-fsrc-'));
    const path = join(dir, 'img');
    writeFileSync(path, bytes);
    const src = await FileSource.open(path);
    t.after(async () => {
      await src.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { path, src };
  }

  it('says a regular file has cheap reads (a cache in front reads only the bytes asked)', async (t) => {
    const { src } = await openFresh(t);
    assert.equal(src.cheapReads, true);
  });

  it('reads the same bytes below and above the synchronous bound', async (t) => {
    const { src } = await openFresh(t);
    for (const [offset, length] of [
      [0, 1],
      [4095, 70_000],
      [SYNC_IO_BYTES - 1, SYNC_IO_BYTES],
      [7, SYNC_IO_BYTES + 1],
      [bytes.length - 3, 3],
      [100, 0],
    ] as const) {
      assert.deepEqual(Buffer.from(await src.read(offset, length)), Buffer.from(bytes.subarray(offset, offset + length)), `read ${offset}+${length}`);
      const dest = new Uint8Array(length + 10).fill(0xee);
      await src.readInto(dest, 5, offset, length);
      assert.deepEqual(Buffer.from(dest.subarray(5, 5 + length)), Buffer.from(bytes.subarray(offset, offset + length)), `readInto ${offset}+${length}`);
      assert.ok(dest.subarray(0, 5).every((b) => b === 0xee) && dest.subarray(5 + length).every((b) => b === 0xee), 'nothing outside the range is written');
    }
    await assert.rejects(src.read(bytes.length - 1, 2), isError('IO'));
  });

  it('fails with IO when the file shrank under it, on both paths', async (t) => {
    const { path, src } = await openFresh(t);
    truncateSync(path, 1000);
    await assert.rejects(src.read(500, 1000), isError('IO', { path }));
    await assert.rejects(src.readInto(new Uint8Array(SYNC_IO_BYTES + 1), 0, 0, SYNC_IO_BYTES + 1), isError('IO', { path }));
  });
});

describe('readExactSync', () => {
  it('reads every byte asked, at its place, and fails where the file ends', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'isosync-xio-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'f');
    const data = new Rng(3).bytes(300_000);
    writeFileSync(path, data);
    const fd = openSync(path, 'r');
    try {
      const back = new Uint8Array(data.length + 2);
      readExactSync(fd, back, 2, data.length - 1000, 1000, () => new RangeError('ended'));
      assert.deepEqual(Buffer.from(back.subarray(2, 2 + data.length - 1000)), Buffer.from(data.subarray(1000)));
      assert.throws(() => readExactSync(fd, back, 0, 10, data.length - 5, (pos) => Object.assign(new RangeError('ended'), { pos })), { pos: data.length });
    } finally {
      closeSync(fd);
    }
  });
});

describe('hashRange on a file shorter than the range', () => {
  it('fails with IO at the byte where the file ended', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'isosync-xio-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'f');
    writeFileSync(path, new Rng(5).bytes(100_000));
    const fd = openSync(path, 'r');
    try {
      assert.throws(() => hashRange(fd, { start: 0, end: 131_072, pieceLength: 65_536 }, Buffer.alloc(65_536)), isError('IO', { offset: 100_000, errno: 'SHORT_READ' }));
    } finally {
      closeSync(fd);
    }
  });
});
