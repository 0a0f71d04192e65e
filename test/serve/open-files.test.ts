import assert from 'node:assert/strict';
import { readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withOpenFile } from '../../src/serve/open-files.js';
import { tempDir } from '../helpers/env.js';

function head(fd: number, n: number): string {
  const b = Buffer.alloc(n);
  return b.subarray(0, readSync(fd, b, 0, n, 0)).toString();
}

test('requests for one file share its descriptor; a file replaced on disk is read through a new one', async () => {
  const tmp = tempDir('isosync-open-files-');
  try {
    const path = join(tmp.dir, 'image.iso');
    writeFileSync(path, 'first release');
    const st = statSync(path);
    // Two requests at once, and one after them: one descriptor.
    const fds = await Promise.all([1, 2].map(() => withOpenFile(path, st, async (fd) => fd)));
    const again = await withOpenFile(path, st, async (fd) => ({ fd, text: head(fd, 100) }));
    assert.equal(fds[0], fds[1]);
    assert.equal(again.fd, fds[0]);
    assert.equal(again.text, 'first release');

    // Replaced as a publisher does (write aside, rename over): the new file's bytes, not the old inode's.
    writeFileSync(join(tmp.dir, 'next'), 'second release!');
    renameSync(join(tmp.dir, 'next'), path);
    const st2 = statSync(path);
    assert.equal(await withOpenFile(path, st2, async (fd) => head(fd, 100)), 'second release!');
  } finally {
    tmp.cleanup();
  }
});
