/**
 * Ten successive releases of the distro fixture, each remastered from the
 * one before: every release upgrades a few packages (new name, content a
 * little larger or smaller), adds one, removes one and rewrites the index
 * files. Each image must list and extract exactly its tree, keep its dead
 * space within the --max-waste bound (default 5 %), and keep every file that
 * did not change at the blocks it had in the release before.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fixture, needTools, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { checkImage, extractTo, treePaths } from './remaster-check.js';
import { HAVE_RELEASES } from '../sync/fixture-pair.js';

const skip = !HAVE_RELEASES ? 'fixtures/releases not built' : needTools('xorriso', 'isoinfo', 'bsdtar');

interface Listed { path: string; type: string; lba: number; extents: { lba: number; size: number }[] }

function ls(image: string): Map<string, Listed> {
  const r = cli(['ls', image, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return new Map((JSON.parse(r.stdout) as Listed[]).map((e) => [e.path, e]));
}

/** One release's changes to `tree`; returns the paths whose content changed or appeared. */
function nextRelease(tree: string, rng: Rng, n: number): Set<string> {
  const debs = treePaths(tree).filter((p) => p.endsWith('.deb'));
  const touched = new Set<string>();
  for (let k = 0; k < 3; k++) {
    const old = debs.splice(rng.int(debs.length), 1)[0]!;
    const bytes = readFileSync(join(tree, old));
    const at = rng.int(bytes.length);
    // An upgrade: a few local edits, growing or shrinking by up to 24 KiB.
    const grown = Buffer.concat([bytes.subarray(0, at), Buffer.from(rng.bytes(rng.int(24_576))), bytes.subarray(Math.min(bytes.length, at + rng.int(16_384)))]);
    rmSync(join(tree, old));
    const neu = old.replace(/\.deb$/, `+r${n}.deb`);
    writeFileSync(join(tree, neu), grown);
    touched.add(neu);
  }
  const gone = debs.splice(rng.int(debs.length), 1)[0]!;
  rmSync(join(tree, gone));
  const dir = join(tree, 'pool', 'main', 'n', `new-${n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `new-${n}_1.0_amd64.deb`), rng.bytes(20_000 + rng.int(200_000)));
  touched.add(`/pool/main/n/new-${n}/new-${n}_1.0_amd64.deb`);
  for (const index of ['/md5sum.txt', '/dists/stable/Release', '/.disk/info']) {
    writeFileSync(join(tree, index), `release 1.${String(n).padStart(2, '0')}\n${rng.bytes(64).toString()}\n`.repeat(1 + rng.int(40)));
    touched.add(index);
  }
  return touched;
}

describe('ten releases, each remastered from the last', { skip }, () => {
  const t = tempDir('isosync-releases-');
  after(() => t.cleanup());

  test('stay readable, keep waste under the bound and unchanged files in place', () => {
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(fixture('releases', 'distro-1.00.iso'), tree);
    const rng = new Rng(2024);
    let base = fixture('releases', 'distro-1.00.iso');
    const report: string[] = [];
    for (let n = 1; n <= 10; n++) {
      const touched = nextRelease(tree, rng, n);
      const out = join(t.dir, `distro-1.${String(n).padStart(2, '0')}.iso`);
      const r = cli(['remaster', base, tree, '-o', out, '--json'], { env: { SOURCE_DATE_EPOCH: String(1_700_000_000 + n * 86_400) } });
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { imageBytes: number; wastePercent: number; keptBytes: number; newBytes: number; movedBytes: number; moved: { path: string }[] };
      report.push(`1.${n}: ${j.imageBytes} bytes, waste ${j.wastePercent} %, kept ${j.keptBytes}, new ${j.newBytes}, moved ${j.movedBytes}`);
      if (j.wastePercent > 5) process.stderr.write(cli(['regions', out]).stdout);
      assert.ok(j.wastePercent <= 5, `release ${n}: waste ${j.wastePercent} % over the bound`);
      assert.deepEqual(checkImage(out, tree, true), [], `release ${n}`);
      // Unchanged files keep their blocks unless the report says they moved.
      const before = ls(base), now = ls(out);
      const moved = new Set(j.moved.map((m) => m.path));
      let stayed = 0, unchanged = 0;
      for (const [path, e] of now) {
        if (e.type !== 'file' || touched.has(path) || !before.has(path)) continue;
        unchanged++;
        if (JSON.stringify(before.get(path)!.extents) === JSON.stringify(e.extents)) stayed++;
        else assert.ok(moved.has(path), `release ${n}: ${path} moved without being reported`);
      }
      assert.ok(stayed >= 0.8 * unchanged, `release ${n}: only ${stayed} of ${unchanged} unchanged files kept their blocks (${report[report.length - 1]})`);
      if (n > 1) rmSync(base);
      base = out;
    }
    process.stderr.write(`# ${report.join('\n# ')}\n`);
    assert.equal(readdirSync(t.dir).filter((f) => f.endsWith('.iso')).length, 1);
  });
});
