import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { run } from './helpers.js';

describe('live fixtures', { skip: needTools('mksquashfs', 'mkfs.erofs', 'mkfs.vfat', 'mcopy', 'xorriso', '/usr/bin/python3') }, () => {
  test('make-live.sh writes the committed live images again, byte for byte', { timeout: 300_000 }, () => {
    const { dir, cleanup } = tempDir('isosync-remake-live-');
    try {
      run('bash', [fixture('make-live.sh'), dir]);
      const names = readdirSync(join(dir, 'live')).sort();
      assert.deepEqual(names, ['live-1.iso', 'live-2.iso', 'live-erofs-1.iso', 'live-erofs-2.iso']);
      const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
      for (const n of names) assert.equal(sha(join(dir, 'live', n)), sha(fixture('live', n)), `${n} differs from the committed file`);
    } finally {
      cleanup();
    }
  });

  test('the live images carry what they claim: squashfs with fragments, EROFS, an EFI FAT image and El Torito', () => {
    const sq = run('xorriso', ['-indev', fixture('live', 'live-1.iso'), '-report_el_torito', 'plain']);
    assert.match(sq, /El Torito boot img :\s+1\s+BIOS/);
    assert.match(sq, /El Torito boot img :\s+2\s+UEFI/);
    const lines = run('xorriso', ['-indev', fixture('live', 'live-erofs-2.iso'), '-find', '/', '-type', 'f']);
    assert.match(lines, /LiveOS\/squashfs\.img/);
  });
});
