import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fatReader } from '../../src/layouts/fat/read.js';
import { needTools, tempDir } from '../helpers/env.js';
import { md5, randomBytes, readLayout, run, textBytes } from './helpers.js';

describe('FAT reader against mtools', { skip: needTools('mkfs.vfat', 'mcopy', 'mdir', 'minfo') }, () => {
  for (const [bits, kib] of [[12, 2048], [16, 20000], [32, 40000]] as const) {
    test(`FAT${bits}: the files mdir lists, with the content mcopy reads back`, async () => {
      const { dir, cleanup } = tempDir('isosync-fat-');
      try {
        const img = join(dir, 'efi.img');
        run('mkfs.vfat', ['-C', '-F', String(bits), '-s', '1', img, String(kib)]);
        assert.match(run('minfo', ['-i', img, '::']), bits === 32 ? /fat32/i : /./);
        const files: [string, Uint8Array][] = [
          ['/EFI/BOOT/BOOTX64.EFI', randomBytes(1, 200_000)],
          ['/EFI/BOOT/grub.cfg', textBytes(2, 300)],
          ['/EFI/debian/a rather long file name.txt', textBytes(3, 9000)],
          ['/EMPTY.TXT', new Uint8Array(0)],
        ];
        run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT', '::/EFI/debian']);
        for (const [p, b] of files) {
          writeFileSync(join(dir, 'x'), b);
          run('mcopy', ['-i', img, join(dir, 'x'), `::${p}`]);
        }
        const { layout, src } = await readLayout(fatReader, img);
        try {
          // mdir -/ -b: one "::/path" per file and directory.
          const listed = run('mdir', ['-/', '-b', '-i', img, '::']).split('\n').filter(Boolean).map((l) => l.replace(/^::/, '').replace(/\/$/, ''));
          assert.deepEqual([...layout.files].map((f) => f.path).filter((p) => p !== '/').sort(), listed.sort());
          for (const [p, b] of files) {
            const f = layout.files.find((x) => x.path.toLowerCase() === p.toLowerCase())!;
            assert.equal(f.size, b.length, p);
            run('mcopy', ['-n', '-i', img, `::${p}`, join(dir, 'y')]);
            assert.equal(md5(await layout.readContent(f, 1 << 24)), md5(readFileSync(join(dir, 'y'))), p);
          }
        } finally {
          await src.close();
        }
      } finally {
        cleanup();
      }
    });
  }
});
