/**
 * `isosync extract NEW --changed-from OLD` writes only what is new or changed:
 * the changed non-package files and exactly the packages an upgrade (or, the
 * other way round, a rollback) needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli, needTools, tempDir } from '../helpers/env.js';
import { releasesDir, releasesMissing } from './releases.js';

interface Changes {
  upgraded: Array<{ name: string; from: string; to: string }>;
  downgraded: Array<{ name: string; from: string; to: string }>;
  added: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
  changedFiles: string[];
}

function extracted(dir: string): { files: string[]; debs: string[] } {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).map((f) => `/${f}`).sort();
  const debs = files.filter((f) => f.endsWith('.deb')).map((f) =>
    spawnSync('dpkg-deb', ['--show', '--showformat=${Package} ${Version}', join(dir, f)], { encoding: 'utf8' }).stdout).sort();
  return { files, debs };
}

test('extract --changed-from gives the upgrade\'s files one way and the rollback\'s the other', { skip: releasesMissing() || needTools('dpkg-deb') }, () => {
  const rel = releasesDir();
  const c = JSON.parse(readFileSync(join(rel, 'CHANGES.json'), 'utf8')) as Changes;
  const { dir, cleanup } = tempDir();
  try {
    const up = cli(['extract', join(rel, 'distro-1.01.iso'), '--changed-from', join(rel, 'distro-1.00.iso'), '-o', join(dir, 'up')]);
    assert.equal(up.status, 0, up.stderr);
    const u = extracted(join(dir, 'up'));
    assert.deepEqual(u.debs, [...c.upgraded.map((p) => `${p.name} ${p.to}`), ...c.downgraded.map((p) => `${p.name} ${p.to}`), ...c.added.map((p) => `${p.name} ${p.version}`)].sort());
    assert.deepEqual(u.files.filter((f) => !f.startsWith('/pool/')), c.changedFiles);

    const down = cli(['extract', join(rel, 'distro-1.00.iso'), '--changed-from', join(rel, 'distro-1.01.iso'), '-o', join(dir, 'down')]);
    assert.equal(down.status, 0, down.stderr);
    const d = extracted(join(dir, 'down'));
    assert.deepEqual(d.debs, [...c.upgraded.map((p) => `${p.name} ${p.from}`), ...c.downgraded.map((p) => `${p.name} ${p.from}`), ...c.removed.map((p) => `${p.name} ${p.version}`)].sort());
    assert.deepEqual(d.files.filter((f) => !f.startsWith('/pool/')), c.changedFiles);
  } finally {
    cleanup();
  }
});
