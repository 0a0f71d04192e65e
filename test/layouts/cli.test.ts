import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cli, fixture } from '../helpers/env.js';

describe('isosync ls --deep and diff on live images', () => {
  test('ls --deep lists the files inside the squashfs and the EFI image with image-absolute extents', () => {
    const r = cli(['ls', '--deep', fixture('live', 'live-1.iso'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const entries = JSON.parse(r.stdout) as { path: string; type: string; size: number; extents: { start: number; end: number }[] }[];
    const image = readFileSync(fixture('live', 'live-1.iso'));
    const sq = entries.find((e) => e.path === '/live/filesystem.squashfs')!;
    const bash = entries.find((e) => e.path === '/live/filesystem.squashfs:/usr/bin/bash')!;
    assert.ok(bash.size > 0 && bash.extents.length > 0);
    for (const x of bash.extents) assert.ok(x.start >= sq.extents[0]!.start && x.end <= sq.extents[0]!.end, 'inside the squashfs');
    // The EFI loader is stored raw in the FAT image: its extent holds its bytes, "MZ"-less random payload of its size.
    const efi = entries.find((e) => e.path.toLowerCase() === '/boot/grub/efi.img:/efi/boot/grub.cfg')!;
    const text = image.subarray(efi.extents[0]!.start, efi.extents[0]!.end).toString('utf8');
    assert.match(text, /^search --file --set=root \/\.disk\/info/);
    assert.ok(entries.some((e) => e.path === '/live/filesystem.squashfs:/var/lib/dpkg/status'));
    const human = cli(['ls', '--deep', fixture('live', 'live-erofs-1.iso')]);
    assert.match(human.stdout, /^T +SIZE +STORED +OFFSET PATH$/m);
    assert.match(human.stdout, /^- +\d+ +\d+ +\d+ \/LiveOS\/squashfs\.img:\/usr\/bin\/bash$/m);
  });

  test('diff of two live images lists the packages from their nested dpkg status', () => {
    for (const pair of ['live', 'live-erofs']) {
      const r = cli(['diff', fixture('live', `${pair}-1.iso`), fixture('live', `${pair}-2.iso`), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { upgraded: { name: string; to: string }[]; added: { name: string }[]; removed: { name: string }[] };
      assert.deepEqual(d.upgraded.map((u) => u.name).sort(), ['curl', 'libc6', 'libssl3', 'openssh-client', 'tzdata']);
      assert.ok(d.upgraded.every((u) => u.to.endsWith('+deb12u1')));
      assert.deepEqual(d.added.map((a) => a.name), ['htop']);
      assert.deepEqual(d.removed.map((a) => a.name), ['nano']);
    }
  });
});
