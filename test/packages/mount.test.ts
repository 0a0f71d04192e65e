/**
 * `isosync mount` / `umount`: a read-only loop mount where the system permits
 * one; otherwise one line that says to extract instead, exit 1, and DIR left
 * exactly as it was. Unsafe targets are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fixture, tempDir } from '../helpers/env.js';
import { releasesDir, releasesMissing } from './releases.js';

test('mount mounts read-only and umount unmounts, or says to extract and leaves DIR as it was', { skip: releasesMissing() }, () => {
  const { dir, cleanup } = tempDir();
  const iso = join(releasesDir(), 'distro-1.00.iso');
  try {
    for (const existed of [true, false]) {
      const target = join(dir, existed ? 'existing' : 'absent');
      if (existed) mkdirSync(target);
      const r = cli(['mount', iso, target]);
      if (r.status === 0) {
        // Mounting works here (root, loop, iso9660): the image's files are visible, then unmount.
        assert.ok(readdirSync(target).includes('pool'));
        assert.throws(() => writeFileSync(join(target, 'x'), 'y'), 'read-only');
        const u = cli(['umount', target]);
        assert.equal(u.status, 0, u.stderr);
        assert.deepEqual(readdirSync(target), []);
      } else {
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^isosync: Cannot mount ".*distro-1.00.iso".*; extract it instead: isosync extract .*distro-1.00.iso -o ${target}\\n$`));
        assert.equal(r.stderr.split('\n').length, 2, 'one line');
        if (existed) assert.deepEqual(readdirSync(target), [], 'the empty directory stays empty');
        else assert.equal(existsSync(target), false, 'a directory it created is removed again');
      }
    }
  } finally {
    cleanup();
  }
});

test('mount refuses a non-empty directory, a file and a non-ISO image without touching them', { skip: releasesMissing() }, () => {
  const { dir, cleanup } = tempDir();
  const iso = join(releasesDir(), 'distro-1.00.iso');
  try {
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep'), 'x');
    let r = cli(['mount', iso, full]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `isosync: Cannot mount on ${JSON.stringify(full)}: the directory is not empty\n`);
    assert.deepEqual(readdirSync(full), ['keep']);
    r = cli(['mount', iso, join(full, 'keep')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /: not a directory\n$/);
    r = cli(['mount', join(full, 'keep'), join(dir, 'm')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^isosync: Cannot read ISO /);
    assert.equal(existsSync(join(dir, 'm')), false);
  } finally {
    cleanup();
  }
});

test('umount refuses what is not an iso9660 mount point', () => {
  const { dir, cleanup } = tempDir();
  try {
    let r = cli(['umount', dir]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `isosync: Cannot unmount ${JSON.stringify(dir)}: not a mount point\n`);
    r = cli(['umount', '/proc']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /: it is a proc mount, not an iso9660 image\n$/);
  } finally {
    cleanup();
  }
});

test('mount refuses a crafted image whose names would escape the mount, without touching DIR', () => {
  const t = tempDir();
  try {
    for (const defect of ['unsafe-name-dotdot.iso', 'unsafe-name-slash.iso']) {
      const dir = join(t.dir, defect);
      const r = cli(['mount', fixture('defects', 'iso', defect), dir]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^isosync: Cannot mount ".*": entry ".*" is unsafe: (it has a component "\.\."|the name ".*" contains "\/")\n$/);
      assert.ok(!existsSync(dir), 'DIR was not created');
    }
  } finally {
    t.cleanup();
  }
});
