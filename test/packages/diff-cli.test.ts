/**
 * `isosync diff` on the fixture releases reproduces exactly what the fixture
 * script changed (CHANGES.json), in both directions and for the appended image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/env.js';
import { releasesDir, releasesMissing } from './releases.js';

interface Changes {
  upgraded: Array<{ name: string; arch: string; from: string; to: string }>;
  downgraded: Array<{ name: string; arch: string; from: string; to: string }>;
  added: Array<{ name: string; arch: string; version: string }>;
  removed: Array<{ name: string; arch: string; version: string }>;
  changedFiles: string[];
}

function truth(): Changes {
  const c = JSON.parse(readFileSync(join(releasesDir(), 'CHANGES.json'), 'utf8')) as Changes & Record<string, unknown>;
  const { upgraded, downgraded, added, removed, changedFiles } = c;
  return { upgraded, downgraded, added, removed, changedFiles };
}

function diffJson(a: string, b: string): Changes {
  const r = cli(['diff', join(releasesDir(), a), join(releasesDir(), b), '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no warnings on consistent fixtures');
  const { warnings, ...changes } = JSON.parse(r.stdout) as Changes & { warnings: unknown[] };
  assert.deepEqual(warnings, [], 'the report lists no warnings either');
  return changes;
}

for (const target of ['distro-1.01.iso', 'distro-1.01-appended.iso']) {
  test(`diff 1.00 -> ${target} --json equals CHANGES.json exactly`, { skip: releasesMissing() }, () => {
    assert.deepEqual(diffJson('distro-1.00.iso', target), truth());
  });

  test(`diff ${target} -> 1.00 swaps upgraded/downgraded and added/removed`, { skip: releasesMissing() }, () => {
    const t = truth();
    const swap = (xs: Changes['upgraded']): Changes['upgraded'] => xs.map((x) => ({ name: x.name, arch: x.arch, from: x.to, to: x.from }));
    const byName = <T extends { name: string }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));
    assert.deepEqual(diffJson(target, 'distro-1.00.iso'), {
      upgraded: byName(swap(t.downgraded)), downgraded: byName(swap(t.upgraded)),
      added: t.removed, removed: t.added, changedFiles: t.changedFiles,
    });
  });
}

test('diff of an image with itself reports nothing', { skip: releasesMissing() }, () => {
  assert.deepEqual(diffJson('distro-1.01.iso', 'distro-1.01.iso'), { upgraded: [], downgraded: [], added: [], removed: [], changedFiles: [] });
});

test('diff prints grouped human lines with from -> to', { skip: releasesMissing() }, () => {
  const r = cli(['diff', join(releasesDir(), 'distro-1.00.iso'), join(releasesDir(), 'distro-1.01.iso')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^upgraded +acl +\(amd64\) +2\.3\.1-3 → 2\.3\.1-3\+deb12u1$/m);
  assert.match(r.stdout, /^downgraded +nano +\(amd64\) +7\.2-1 → 7\.2~rc1-1$/m);
  assert.match(r.stdout, /^added +htop +\(amd64\) +3\.2\.2~rc1-2$/m);
  assert.match(r.stdout, /^removed +curl +\(amd64\) +7\.88\.1-10\+deb12u4$/m);
  assert.match(r.stdout, /^changed +\/dists\/stable\/Release$/m);
});

test('diff says so in one line when an image is missing, or a torrent file does not exist', () => {
  // An empty home: a catalog of the user running the tests (maybe of another schema) plays no part.
  const t = cli(['diff', '/nonexistent/a.torrent', '/nonexistent/b.iso', '--home', '/nonexistent/home']);
  assert.equal(t.status, 2);
  assert.equal(t.stderr, 'isosync: Cannot read torrent "/nonexistent/a.torrent": no such file\n');
  const m = cli(['diff', '/nonexistent/a.iso', '/nonexistent/b.iso']);
  assert.equal(m.status, 2);
  assert.equal(m.stderr, 'isosync: Cannot open "/nonexistent/a.iso": no such file\n');
});
