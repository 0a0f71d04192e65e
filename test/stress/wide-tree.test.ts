/**
 * An image with 150,000 directories (Rock Ridge, made by xorriso in a temp
 * dir once for this file and removed after): it lists, maps, extracts and
 * syncs. The spread of every directory area into one push overflowed the
 * stack at ~130,000 directories, and so did `ls` sizing its columns with
 * Math.max(...entries). Joliet is left out to halve the image (each
 * directory takes a sector per tree, so 300 MiB instead of 620): its walk
 * appends the same way, and test/hygiene keeps spreads out of src/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readIso, regionMap } from '../../src/iso/index.js';
import { BlockCache } from '../../src/store/block-cache.js';
import { FileSource } from '../../src/store/file-source.js';
import { cli, cliAsync, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';

const DIRS = 150_000;
const TOP = 300;
const FILES = 300;

/** Writes the image with xorriso's own -mkdir (150,000 mkdir calls on a real disk take far longer). */
function makeImage(dir: string): string {
  const files = join(dir, 'files');
  mkdirSync(files);
  const opts: string[] = [];
  for (let t = 0; t < TOP; t++) opts.push(`-mkdir /d${String(t).padStart(3, '0')}`);
  for (let i = 0; i < DIRS; i++) opts.push(`-mkdir /d${String(i % TOP).padStart(3, '0')}/e${String(i).padStart(6, '0')}`);
  for (let f = 0; f < FILES; f++) {
    const p = join(files, `f${f}`);
    writeFileSync(p, `file ${f}\n`.repeat(1 + f * 7));
    opts.push(`-map ${p} /d${String(f % TOP).padStart(3, '0')}/e${String(f).padStart(6, '0')}/file${f}.txt`);
  }
  writeFileSync(join(dir, 'make.opts'), `${opts.join('\n')}\n`);
  const out = join(dir, 'wide.iso');
  const r = spawnSync('xorriso', ['-no_rc', '-outdev', out, '-rockridge', 'on', '-joliet', 'off', '-options_from_file', join(dir, 'make.opts'), '-commit'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr.slice(-2000)}`);
  return out;
}

const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe(`an image with ${DIRS.toLocaleString('en')} directories`, { skip: needTools('xorriso') }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let image = '';

  before(() => {
    tmp = tempDir('isosync-wide-');
    image = makeImage(tmp.dir);
  });
  after(() => tmp?.cleanup());

  test('readIso lists every directory and file; the region map covers the image', async () => {
    const src = await FileSource.open(image);
    try {
      const img = await readIso(new BlockCache(src), { name: image });
      const dirs = img.entries.filter((e) => e.type === 'dir').length;
      assert.equal(dirs, 1 + TOP + DIRS);
      assert.equal(img.entries.filter((e) => e.type === 'file').length, FILES);
      assert.equal(img.tree, 'rockridge');
      assert.equal(img.metadata.filter((m) => m.kind === 'directory').length, 1 + TOP + DIRS, 'one directory area per directory');
      const regions = regionMap(img);
      assert.equal(regions[0]!.start, 0);
      assert.equal(regions[regions.length - 1]!.end, img.imageBytes);
      for (let i = 1; i < regions.length; i++) assert.equal(regions[i]!.start, regions[i - 1]!.end);
    } finally {
      await src.close();
    }
  });

  test('isosync ls prints one line per entry', () => {
    const r = cli(['ls', image], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1 + 1 + TOP + DIRS + FILES, 'a header and every entry');
    assert.match(lines.find((l) => l.endsWith('/d299/e149999'))!, /^d /);
  });

  test('isosync extract of one subtree writes it (the whole tree is read to find it)', () => {
    const out = join(tmp.dir, 'x');
    const r = cli(['extract', image, '/d007', '-o', out], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const subdirs = readdirSync(join(out, 'd007'));
    assert.equal(subdirs.length, DIRS / TOP);
    assert.equal(readFileSync(join(out, 'd007', 'e000007', 'file7.txt'), 'utf8'), 'file 7\n'.repeat(1 + 7 * 7));
  });

  describe('sync over a web seed', () => {
    let server: RangeServer;
    before(async () => {
      server = await startRangeServer({ '/wide.iso': image });
    });
    after(async () => server?.close());

    // Published against itself, so the hints cover every byte: the sync fetches nothing, and
    // both trees are read locally (the source's to plan, the result's for the changed-files report),
    // where the overflow once dropped the report silently.
    test('a hinted sync builds it bit-identical and reports its changed files (none)', async () => {
      const torrent = join(tmp.dir, 'wide.torrent');
      const home = join(tmp.dir, 'home');
      const pub = cli(['publish', image, '--product', 'wide', '--release', '2', '--previous', image, '--home', home, '-o', torrent], { timeoutMs: 300_000 });
      assert.equal(pub.status, 0, pub.stderr);
      const out = join(tmp.dir, 'synced.iso');
      const r = await cliAsync(['sync', torrent, '-o', out, '--home', join(tmp.dir, 'client'), '--no-catalog', '--from', image, '--web-seed', `${server.url}/wide.iso`, '--json'], { timeoutMs: 600_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'no warning');
      const report = JSON.parse(r.stdout) as { changedFiles?: unknown[]; fetchedBytes: number };
      assert.deepEqual(report.changedFiles, []);
      assert.equal(report.fetchedBytes, 0);
      assert.equal(sha256(out), sha256(image));
    });
  });
});
