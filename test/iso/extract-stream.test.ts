/**
 * `extract IMAGE -o DIR` (no selection) streams the tree (src/iso/extract-image.ts)
 * while `extract IMAGE / -o DIR` goes through the selection and extractEntries: both
 * must write the same tree (names, types, modes, mtimes, symlink targets, hard links,
 * contents) and print the same summary.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, fixture, tempDir } from '../helpers/env.js';

/** Every path below `root` with what extraction sets; hard links as the first path of their inode. */
function describe(root: string): string[] {
  const out: string[] = [];
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = join(rel, name);
      const st = lstatSync(join(root, p));
      const kind = st.isSymbolicLink() ? `-> ${readlinkSync(join(root, p))}` : st.isDirectory() ? 'dir'
        : `${readFileSync(join(root, p)).toString('base64')} link-of ${inodes.get(st.ino) ?? '-'}`;
      if (st.isFile() && !inodes.has(st.ino)) inodes.set(st.ino, p);
      out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs / 1000)} ${kind}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

const IMAGES = [fixture('defects', 'iso', 'base.iso'), ...['rockridge.iso', 'joliet-only.iso', 'level1-plain.iso', 'multi-extent.iso'].map((n) => fixture('reader', n))];

for (const image of IMAGES) {
  test(`extract of the whole ${image.split('/').pop()} streamed writes what the selection of "/" writes`, () => {
    const { dir, cleanup } = tempDir();
    try {
      const streamed = cli(['extract', image, '--json', '-o', join(dir, 'a')]);
      assert.equal(streamed.status, 0, streamed.stderr);
      const selected = cli(['extract', image, '/', '--json', '-o', join(dir, 'b')]);
      assert.equal(selected.status, 0, selected.stderr);
      const summary = (s: string) => ({ ...(JSON.parse(s) as Record<string, unknown>), dir: undefined });
      assert.deepEqual(summary(streamed.stdout), summary(selected.stdout));
      const a = describe(join(dir, 'a'));
      assert.ok(a.length > 0);
      assert.deepEqual(a, describe(join(dir, 'b')));
    } finally {
      cleanup();
    }
  });
}
