/**
 * Deep but valid input: a Rock Ridge tree 64 directories deep (made by
 * xorriso, which keeps it in place, and by genisoimage, which relocates
 * everything below level 8 into rr_moved with CL/PL/RE entries) lists and
 * extracts with every level in place; a package set whose dependencies form
 * a chain of 50,000 is ordered without recursion.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readIso } from '../../src/iso/index.js';
import { dependencyOrder } from '../../src/packages/flat-repo.js';
import { FileSource } from '../../src/store/file-source.js';
import { cli, needTools, tempDir } from '../helpers/env.js';

const DEPTH = 64;
const levels = Array.from({ length: DEPTH }, (_, i) => `level${String(i).padStart(2, '0')}`);
const deepDir = `/${levels.join('/')}`;

const makers: [string, string, (tree: string, out: string) => string[]][] = [
  ['xorriso', 'xorriso', (tree, out) => ['-as', 'mkisofs', '-R', '-J', '-o', out, tree]],
  ['genisoimage', 'genisoimage', (tree, out) => ['-R', '-quiet', '-o', out, tree]],
];

for (const [tool, bin, args] of makers) {
  describe(`a Rock Ridge tree ${DEPTH} levels deep, made by ${tool}`, { skip: needTools(bin) }, () => {
    let tmp: { dir: string; cleanup: () => void };
    let image = '';
    before(() => {
      tmp = tempDir('isosync-deep-');
      const tree = join(tmp.dir, 'tree');
      mkdirSync(join(tree, ...levels), { recursive: true });
      writeFileSync(join(tree, ...levels, 'bottom.txt'), 'at the bottom\n');
      writeFileSync(join(tree, ...levels.slice(0, 10), 'middle.txt'), 'in the middle\n');
      image = join(tmp.dir, 'deep.iso');
      const r = spawnSync(bin, args(tree, image), { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => tmp?.cleanup());

    test('readIso lists every level at its original place, and rr_moved is hidden', async () => {
      const src = await FileSource.open(image);
      try {
        const img = await readIso(src, { name: image });
        assert.equal(img.tree, 'rockridge');
        const paths = new Set(img.entries.map((e) => e.path));
        for (let d = 1; d <= DEPTH; d++) assert.ok(paths.has(`/${levels.slice(0, d).join('/')}`), `level ${d}`);
        const bottom = img.entries.find((e) => e.path === `${deepDir}/bottom.txt`);
        assert.equal(bottom?.size, 'at the bottom\n'.length);
        assert.ok(![...paths].some((p) => /rr_moved/i.test(p)), 'no relocation folder');
        assert.equal(img.entries.length, 1 + DEPTH + 2, 'root, the levels and two files');
      } finally {
        await src.close();
      }
    });

    test('isosync extract writes the deepest file', () => {
      const out = join(tmp.dir, 'x');
      const r = cli(['extract', image, '-o', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(out, ...levels, 'bottom.txt'), 'utf8'), 'at the bottom\n');
      assert.equal(readFileSync(join(out, ...levels.slice(0, 10), 'middle.txt'), 'utf8'), 'in the middle\n');
    });
  });
}

test('packages whose dependencies chain 50,000 deep are ordered dependencies first', () => {
  const N = 50_000;
  const pkgs = Array.from({ length: N }, (_, i) => ({ name: `p${i}`, control: { fields: i + 1 < N ? [['Depends', `p${i + 1} (>= 1)`]] as [string, string][] : [], line: 1 } }));
  const order = dependencyOrder(pkgs);
  assert.equal(order.length, N);
  assert.equal(order[0]!.name, `p${N - 1}`);
  assert.equal(order[N - 1]!.name, 'p0');
});
