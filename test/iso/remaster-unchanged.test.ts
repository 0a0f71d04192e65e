/**
 * How remaster decides that a tree file is unchanged since the base: rsync's
 * quick check (same size and same modification time, in whole seconds as
 * Rock Ridge records it) without reading the file; a same-size file with
 * another mtime is compared byte for byte; --verify-content compares every
 * same-size file. Checked on images xorriso wrote and read back with bsdtar.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, needTools, spawnTool, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { extractTo } from './remaster-check.js';

const EPOCH = { SOURCE_DATE_EPOCH: '1702419200' };
const T0 = new Date('2024-01-02T03:04:05Z');
const T1 = new Date('2024-02-03T04:05:06Z');

interface Report { keptBytes: number; newBytes: number; files: { kept: number; fresh: number; compared: number; quick: number } }

function remaster(base: string, tree: string, out: string, extra: string[] = []): Report {
  const r = cli(['remaster', base, tree, '-o', out, '--json', ...extra], { env: EPOCH });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

describe('remaster finds unchanged files by size and mtime, or by content when asked', { skip: needTools('xorriso', 'bsdtar') }, () => {
  const t = tempDir('isosync-remaster-unchanged-');
  after(() => t.cleanup());
  const rng = new Rng(16);
  const same = rng.bytes(40_000), touched = rng.bytes(30_000), edited = rng.bytes(50_000);
  const src = join(t.dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'same.bin'), same);
  writeFileSync(join(src, 'touched.bin'), touched);
  writeFileSync(join(src, 'edited.bin'), edited);
  for (const f of ['same.bin', 'touched.bin', 'edited.bin']) utimesSync(join(src, f), T0, T0);
  const base = join(t.dir, 'base.iso');
  const x = spawnTool('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', base, src], { encoding: 'utf8', env: { ...process.env, ...EPOCH } });
  assert.equal(x.status, 0, x.stderr);

  // The new tree: same.bin as it was; touched.bin the same bytes with a new mtime; edited.bin
  // new bytes of the same size under the old mtime (a tool that restored the timestamp).
  const tree = join(t.dir, 'tree');
  mkdirSync(tree);
  extractTo(base, tree);
  utimesSync(join(tree, 'touched.bin'), T1, T1);
  const edit = Buffer.from(edited);
  edit[25_000] = edit[25_000]! ^ 0xff;
  writeFileSync(join(tree, 'edited.bin'), edit);
  utimesSync(join(tree, 'edited.bin'), T0, T0);

  const content = (image: string, name: string) => {
    const dir = join(t.dir, `x-${image.slice(image.lastIndexOf('/') + 1)}`);
    mkdirSync(dir, { recursive: true });
    extractTo(image, dir);
    return readFileSync(join(dir, name));
  };

  test('by default a file of the same size and mtime is taken as unchanged without reading it', () => {
    const out = join(t.dir, 'quick.iso');
    const r = remaster(base, tree, out);
    assert.deepEqual({ compared: r.files.compared, quick: r.files.quick, kept: r.files.kept, fresh: r.files.fresh }, { compared: 1, quick: 2, kept: 3, fresh: 0 });
    assert.deepEqual(content(out, 'touched.bin'), Buffer.from(touched), 'same bytes under a new mtime: compared, kept');
    // The quick check's known limit, as rsync's: new bytes under the old size and mtime stay the base's.
    assert.deepEqual(content(out, 'edited.bin'), Buffer.from(edited));
  });

  test('--verify-content compares every same-size file and writes the edited one', () => {
    const out = join(t.dir, 'verified.iso');
    const r = remaster(base, tree, out, ['--verify-content']);
    assert.deepEqual({ compared: r.files.compared, quick: r.files.quick, kept: r.files.kept, fresh: r.files.fresh }, { compared: 3, quick: 0, kept: 2, fresh: 1 });
    assert.deepEqual(content(out, 'edited.bin'), edit);
    assert.deepEqual(content(out, 'same.bin'), Buffer.from(same));
    assert.equal(r.newBytes, 50_000);
  });
});
