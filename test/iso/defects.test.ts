import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, fixture, tempDir } from '../helpers/env.js';

const DIR = fixture('defects', 'iso');

/** Every defect fixture and the one line `isosync ls` must print for it (after "isosync: "). */
const LS_ERRORS: Record<string, string> = {
  'absurd-directory-size.iso': 'directory "/docs" at byte 45056 claims 4294963200 bytes, more than the limit of 268435456',
  'bad-boot-checksum.iso': 'El Torito boot catalog at byte 67584 has a bad validation entry checksum (words sum to 0xFFAB, not 0x0000)',
  'bad-descriptor-id.iso': 'volume descriptor at byte 32768 has identifier "CD002", expected "CD001"',
  'continuation-loop.iso': 'directory record at byte 38912 chains more than 64 continuation areas',
  'continuation-outside-image.iso': 'continuation area at byte 2129920 (237 bytes) of the directory record at byte 38912 lies beyond the end of the image (81920 bytes)',
  'directory-loop.iso': 'loop in the directory tree: directory "/docs" (record at byte 39358) points to block 19, which is already directory "/"',
  'extent-past-end.iso': 'file "/hello.txt" has an extent at byte 2129920 (6 bytes) beyond the end of the image (81920 bytes)',
  'no-primary-descriptor.iso': 'no primary volume descriptor between byte 32768 and the terminator',
  'record-length-below-minimum.iso': 'directory record at byte 39468 has length 3, below the minimum 34',
  'record-past-sector.iso': 'directory record at byte 48928 has length 232, running past the end of its sector at byte 49152',
  'truncated.iso': 'image is truncated: the primary volume descriptor gives 40 blocks (81920 bytes) but the image has 40960 bytes',
};

/** Images that read fine but must not be extracted. */
const EXTRACT_ERRORS: Record<string, string> = {
  'unsafe-name-dotdot.iso': 'Cannot extract "/.." from "IMG": it has a component ".."',
  'unsafe-name-slash.iso': 'Cannot extract "/x/y" from "IMG": the name "x/y" contains "/"',
  'symlink-as-directory.iso': 'Cannot extract "/s/file.txt" from "IMG": its parent "/s" is a symlink in the image',
};

test('every defect fixture of the ISO reader has an expected error', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.iso') && f !== 'base.iso').sort();
  assert.deepEqual(files, Object.keys({ ...LS_ERRORS, ...EXTRACT_ERRORS }).sort());
});

for (const [name, message] of Object.entries(LS_ERRORS)) {
  test(`ls ${name} fails with one line and exit code 2`, () => {
    const path = join(DIR, name);
    const r = cli(['ls', path]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `isosync: Cannot read ISO ${JSON.stringify(path)}: ${message}\n`);
  });
}

test('--debug adds the stack trace to a reader error', () => {
  const r = cli(['ls', join(DIR, 'truncated.iso'), '--debug']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^isosync: Cannot read ISO .*truncated/);
  assert.match(r.stderr, /\n {4}at /);
});

for (const [name, message] of Object.entries(EXTRACT_ERRORS)) {
  test(`extract ${name} is refused before anything is written`, () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(DIR, name);
      const out = join(dir, 'out');
      const r = cli(['extract', path, '-o', out]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `isosync: ${message.replace('IMG', path.replace(/"/g, '\\"'))}\n`);
      assert.equal(existsSync(out), false);
    } finally {
      cleanup();
    }
  });
}

test('extract of a defect image writes nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'out');
    const r = cli(['extract', join(DIR, 'extent-past-end.iso'), '-o', out]);
    assert.equal(r.status, 2);
    assert.equal(existsSync(out), false);
  } finally {
    cleanup();
  }
});
