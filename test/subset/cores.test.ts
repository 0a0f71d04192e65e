/**
 * The pure cores of subset downloads as tables: which directories a glob
 * reads, which pieces spans touch and what a get may fetch, which packages
 * are chosen (by name, by what is installed, with dependencies), and what a
 * dpkg status file or an rpm listing says is installed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { descendFor } from '../../src/subset/descend.js';
import { isNestedPattern, nestedParts, visitFor } from '../../src/subset/nested-select.js';
import { contentSpans, fetchBound, piecesTouched } from '../../src/subset/pieces.js';
import { choosePackages, relationAlternatives, type InstalledPackage } from '../../src/subset/choose-packages.js';
import { parseDpkgStatus, parseRpmList } from '../../src/subset/installed.js';
import { upgrades } from '../../src/subset/apply-torrent.js';
import { parseDeb822 } from '../../src/packages/deb822.js';
import type { ImagePackage } from '../../src/packages/image-packages.js';
import { isError } from '../helpers/errors.js';

describe('descendFor: the directories a pattern reads', () => {
  const rows: { patterns: string[]; read: string[]; skip: string[] }[] = [
    { patterns: ['pool/main/a/acl/*.deb'], read: ['/pool', '/pool/main', '/pool/main/a', '/pool/main/a/acl'], skip: ['/dists', '/pool/main/b', '/pool/main/a/acl/x', '/pool/other'] },
    { patterns: ['/README.txt'], read: [], skip: ['/pool', '/dists'] },
    { patterns: ['pool/main/a'], read: ['/pool', '/pool/main', '/pool/main/a', '/pool/main/a/acl', '/pool/main/a/acl/deep/er'], skip: ['/pool/main/b'] },
    { patterns: ['pool/*/a/*'], read: ['/pool', '/pool/main', '/pool/contrib/a', '/pool/main/a/acl', '/pool/main/a/acl/inside'], skip: ['/pool/main/b', '/dists'] },
    { patterns: ['**/Packages.gz'], read: ['/dists', '/a/b/c/d'], skip: [] },
    { patterns: ['/dists/**'], read: ['/dists', '/dists/stable/main'], skip: ['/pool'] },
    { patterns: ['/*/dists/**'], read: ['/debian', '/debian/dists', '/debian/dists/x'], skip: ['/debian/pool'] },
    { patterns: ['pool/m?in/x'], read: ['/pool/main', '/pool/main/x'], skip: ['/pool/mainx', '/pool/main/y'] },
    { patterns: ['a/', 'b/c'], read: ['/a', '/a/z', '/b', '/b/c'], skip: ['/c', '/b/d'] },
  ];
  for (const r of rows) {
    it(`${r.patterns.join(' ')}: reads ${r.read.join(' ') || 'nothing below /'}`, () => {
      const d = descendFor(r.patterns);
      for (const p of r.read) assert.equal(d(p), true, `reads ${p}`);
      for (const p of r.skip) assert.equal(d(p), false, `skips ${p}`);
    });
  }
  it('no pattern reads every directory', () => assert.equal(descendFor([])('/any/thing'), true));
});

describe('nested paths: the parts of CONTAINER:PATH, and what of a nested tree is read', () => {
  it('parts as ls --deep prints them, one per level, each from its root', () => {
    assert.deepEqual(nestedParts('/live/filesystem.squashfs:/usr/bin/bash'), ['/live/filesystem.squashfs', '/usr/bin/bash']);
    assert.deepEqual(nestedParts('boot/efi.img:/inner.img:/EFI/*'), ['/boot/efi.img', '/inner.img', '/EFI/*']);
    assert.deepEqual(nestedParts('/pool/main/a/acl.deb'), ['/pool/main/a/acl.deb']);
    assert.equal(isNestedPattern('/pool/x:y/z'), false, 'a colon not before "/" is part of a name');
    assert.equal(isNestedPattern('/live/fs.squashfs:/etc'), true);
  });
  const split = [nestedParts('/live/fs.squashfs:/usr/bin/bash'), nestedParts('/live/fs.squashfs:/etc'), nestedParts('/boot/*.img:/EFI/boot/*.efi'), nestedParts('/a.img:/b.img:/x/y')];
  const rows: { chain: string[]; read: string[]; skip: string[] }[] = [
    { chain: ['/live/fs.squashfs'], read: ['/usr', '/usr/bin', '/usr/bin/bash', '/etc', '/etc/fstab', '/etc/a/b'], skip: ['/usr/lib', '/usr/bin/dash', '/var', '/EFI'] },
    { chain: ['/boot/efi.img'], read: ['/EFI', '/EFI/boot', '/EFI/boot/bootx64.efi'], skip: ['/EFI/boot/grub.cfg', '/usr', '/etc'] },
    { chain: ['/a.img'], read: ['/b.img'], skip: ['/x', '/c.img'] },
    { chain: ['/a.img', '/b.img'], read: ['/x', '/x/y', '/x/y/z'], skip: ['/b.img', '/x/w'] },
  ];
  for (const r of rows) {
    it(`inside ${r.chain.join(':')}: reads ${r.read.join(' ')}, skips ${r.skip.join(' ')}`, () => {
      const visit = visitFor(split, r.chain);
      for (const p of r.read) assert.equal(visit(p), true, p);
      for (const p of r.skip) assert.equal(visit(p), false, p);
    });
  }
});

describe('pieces a subset touches, and what it may fetch', () => {
  it('spans touch each piece once, in order, clipped to the image', () => {
    assert.deepEqual(piecesTouched([{ start: 0, end: 1 }, { start: 10, end: 25 }, { start: 24, end: 31 }], 10, 45), [0, 1, 2, 3]);
    assert.deepEqual(piecesTouched([{ start: 40, end: 100 }], 10, 45), [4]);
    assert.deepEqual(piecesTouched([{ start: 5, end: 5 }], 10, 45), []);
  });
  it('content spans of extents in logical blocks (empty extents skipped)', () => {
    assert.deepEqual(contentSpans([{ lba: 2, size: 100 }, { lba: 9, size: 0 }, { lba: 4, size: 2048 }], 2048), [{ start: 4096, end: 4196 }, { start: 8192, end: 10240 }]);
  });
  it('the bound: the files, two pieces each, the metadata pieces', () => {
    assert.equal(fetchBound(1000, 3, 2, 256), 1000 + 6 * 256 + 2 * 256);
  });
});

function pkg(name: string, version: string, arch = 'amd64', control = ''): ImagePackage {
  const stanza = parseDeb822(`Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\n${control}`, 'test')[0]!;
  return { format: 'deb', name, version, arch, filename: `pool/${name}_${version}_${arch}.deb`, origin: 'index', control: stanza };
}

describe('choosing packages', () => {
  const image = [
    pkg('app', '2.0', 'amd64', 'Depends: libfoo (>= 1), mail-transport-agent | postfix, base'),
    pkg('libfoo', '1.5'),
    pkg('libfoo', '1.5', 'i386'),
    pkg('exim', '4', 'amd64', 'Provides: mail-transport-agent\nPre-Depends: libc'),
    pkg('postfix', '3'),
    pkg('libc', '2.36'),
    pkg('base', '13'),
    pkg('tzdata', '2024b', 'all'),
  ];
  const names = (c: ReturnType<typeof choosePackages>) => c.map((x) => `${x.pkg.name}:${x.pkg.arch}/${x.why.kind}`);

  it('a name takes every architecture of it, NAME:ARCH one', () => {
    assert.deepEqual(names(choosePackages(image, { names: ['libfoo'] })), ['libfoo:amd64/named', 'libfoo:i386/named']);
    assert.deepEqual(names(choosePackages(image, { names: ['libfoo:i386'] })), ['libfoo:i386/named']);
  });
  it('a name the index lacks is an error naming it', () => {
    assert.throws(() => choosePackages(image, { names: ['app', 'nope', 'libfoo:arm64'] }), isError('NOT_FOUND'));
  });
  it('with deps: Depends and Pre-Depends, recursively, first satisfiable alternative, virtual names through Provides, the same architecture first', () => {
    assert.deepEqual(names(choosePackages(image, { names: ['app'], withDeps: true })), ['app:amd64/named', 'libfoo:amd64/dependency', 'exim:amd64/dependency', 'base:amd64/dependency', 'libc:amd64/dependency']);
  });
  it('with deps: what is installed satisfies a dependency (any version)', () => {
    const installed: InstalledPackage[] = [{ format: 'deb', name: 'libfoo', arch: 'amd64', version: '0.1' }, { format: 'deb', name: 'postfix', arch: 'amd64', version: '3' }];
    assert.deepEqual(names(choosePackages(image, { names: ['app'], withDeps: true, installed })), ['app:amd64/named', 'libfoo:amd64/upgrade', 'base:amd64/dependency']);
  });
  it('installed: exactly those the image has newer, by dpkg order, matching architecture', () => {
    const installed: InstalledPackage[] = [
      { format: 'deb', name: 'libfoo', arch: 'amd64', version: '1.5~rc1' },
      { format: 'deb', name: 'libc', arch: 'amd64', version: '2.36' },
      { format: 'deb', name: 'base', arch: 'amd64', version: '14' },
      { format: 'deb', name: 'tzdata', arch: 'all', version: '2024a' },
      { format: 'deb', name: 'libfoo', arch: 'arm64', version: '1.0' },
      { format: 'deb', name: 'notinimage', arch: 'amd64', version: '1' },
    ];
    const chosen = choosePackages(image, { installed });
    assert.deepEqual(names(chosen), ['libfoo:amd64/upgrade', 'tzdata:all/upgrade']);
    assert.deepEqual(upgrades(installed, image).upgraded, [
      { name: 'libfoo', arch: 'amd64', from: '1.5~rc1', to: '1.5' },
      { name: 'tzdata', arch: 'all', from: '2024a', to: '2024b' },
    ]);
  });
  it('relations: alternatives, versions and arch qualifiers dropped', () => {
    assert.deepEqual(relationAlternatives('a (>= 1) | b:any, c [amd64], d'), [['a', 'b'], ['c'], ['d']]);
    assert.deepEqual(relationAlternatives(undefined), []);
  });
});

describe('what is installed', () => {
  it('dpkg status: only "install ok installed" stanzas', () => {
    const text = 'Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\nPackage: c\nStatus: install ok half-configured\nVersion: 1\nArchitecture: all\n';
    assert.deepEqual(parseDpkgStatus(text, 'status'), [{ format: 'deb', name: 'a', version: '1:2.0-1', arch: 'amd64' }]);
  });
  it('rpm listing: epoch 0 dropped, gpg-pubkey skipped', () => {
    assert.deepEqual(parseRpmList('bash\tx86_64\t0:5.2.15-1.fc39\nvim\tx86_64\t2:9.0-1\ngpg-pubkey\t(none)\t0:1-2\n'), [
      { format: 'rpm', name: 'bash', arch: 'x86_64', version: '5.2.15-1.fc39' },
      { format: 'rpm', name: 'vim', arch: 'x86_64', version: '2:9.0-1' },
    ]);
  });
});
