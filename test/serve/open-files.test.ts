import assert from 'node:assert/strict';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHUNK_BYTES, withOpenFile, type SharedFile } from '../../src/serve/open-files.js';
import { isError } from '../helpers/errors.js';
import { tempDir } from '../helpers/env.js';

async function text(f: SharedFile, start: number, end: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of f.range(start, end)) parts.push(c);
  return Buffer.concat(parts).toString();
}

test('requests for one file share its handle; a file replaced on disk is read through a new one', async () => {
  const tmp = tempDir('isosync-open-files-');
  try {
    const path = join(tmp.dir, 'image.iso');
    writeFileSync(path, 'first release');
    const st = statSync(path);
    // Two requests at once, and one after them: one handle.
    const files = await Promise.all([1, 2].map(() => withOpenFile(path, st, async (f) => f)));
    const again = await withOpenFile(path, st, async (f) => ({ f, text: await text(f, 0, 12) }));
    assert.equal(files[0], files[1]);
    assert.equal(again.f, files[0]);
    assert.equal(again.text, 'first release');

    // Replaced as a publisher does (write aside, rename over): the new file's bytes, not the old inode's.
    writeFileSync(join(tmp.dir, 'next'), 'second release!');
    renameSync(join(tmp.dir, 'next'), path);
    const st2 = statSync(path);
    assert.equal(await withOpenFile(path, st2, (f) => text(f, 0, 14)), 'second release!');
  } finally {
    tmp.cleanup();
  }
});

test('a range is read in chunks at its own positions; one past the end of the file fails with IO', async () => {
  const tmp = tempDir('isosync-open-files-');
  try {
    const path = join(tmp.dir, 'image.iso');
    const bytes = Buffer.alloc(2 * CHUNK_BYTES + 100);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
    writeFileSync(path, bytes);
    const st = statSync(path);
    await withOpenFile(path, st, async (f) => {
      const sizes: number[] = [];
      const got: Buffer[] = [];
      for await (const c of f.range(10, bytes.length - 1)) {
        sizes.push(c.length);
        got.push(c);
      }
      assert.deepEqual(sizes, [CHUNK_BYTES, CHUNK_BYTES, 90]);
      assert.deepEqual(Buffer.concat(got), bytes.subarray(10));
      // An abandoned range (a client that went away) leaves the handle to the others.
      for await (const c of f.range(0, bytes.length - 1)) {
        assert.equal(c.length, CHUNK_BYTES);
        break;
      }
      assert.deepEqual(Buffer.from(await text(f, 5, 9), 'latin1'), bytes.subarray(5, 10));
      await assert.rejects(text(f, bytes.length - 10, bytes.length + 10), isError('IO', { path, offset: bytes.length }));
    });
  } finally {
    tmp.cleanup();
  }
});
