/**
 * deb822 and Packages parsing, RPM primary.xml scanning, and the pure
 * package diff (matching by name and arch, ordering by the real algorithms).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { field, parseDeb822 } from '../../src/packages/deb822.js';
import { parsePackagesIndex, parseRpmPrimary, primaryLocation } from '../../src/packages/indexes.js';
import { decompress, sniffCompression } from '../../src/packages/compression.js';
import { diffPackages } from '../../src/packages/diff.js';
import type { PackageRecord } from '../../src/packages/model.js';
import { dependencyOrder } from '../../src/packages/flat-repo.js';
import { IsosyncError } from '../../src/errors.js';

const PACKAGES = `# a comment line is dropped
Package: foo
Version: 1:2.0~rc1-1
Architecture: amd64
Depends: libc6 (>= 2.36)
Filename: pool/main/f/foo/foo_2.0~rc1-1_amd64.deb
Size: 1234
SHA256: ABCDEF
Description: a foo
 long line one
 .
 long line two

Package: bar
Version: 3
architecture: all
`;

test('deb822 keeps continuation lines verbatim, drops comments, looks fields up case-insensitively', () => {
  const s = parseDeb822(PACKAGES, 'P');
  assert.equal(s.length, 2);
  assert.equal(field(s[0]!, 'description'), 'a foo\n long line one\n .\n long line two');
  assert.equal(field(s[1]!, 'Architecture'), 'all');
  assert.equal(s[1]!.line, 14);
});

test('deb822 errors name the file, the line and the defect', () => {
  const cases: Array<[string, string]> = [
    [' lonely continuation', 'Cannot parse "P": line 1: continuation line " lonely continuation" has no field to continue'],
    ['Package: a\nno colon here', 'Cannot parse "P": line 2: expected "Field: value", found "no colon here"'],
    ['Package: a\npackage: b', 'Cannot parse "P": line 2: field "package" appears twice in one stanza'],
  ];
  for (const [text, msg] of cases) assert.throws(() => parseDeb822(text, 'P'), (e: unknown) => e instanceof IsosyncError && e.message === msg);
});

test('a gzipped (multi-member) Packages index parses to records with epoch, size and hash', async () => {
  // Two gzip members, as a concatenating tool may write them.
  const half = PACKAGES.indexOf('\n\n') + 2;
  const gz = Buffer.concat([gzipSync(PACKAGES.slice(0, half)), gzipSync(PACKAGES.slice(half))]);
  assert.equal(sniffCompression(gz), 'gzip');
  const text = new TextDecoder().decode(await decompress(gz, 'gzip', 'Packages.gz', { maxBytes: 1 << 20 }));
  const recs = parsePackagesIndex(text, 'Packages.gz');
  assert.deepEqual(recs.map((r) => [r.name, r.version, r.arch, r.filename, r.size, r.sha256, r.origin]), [
    ['foo', '1:2.0~rc1-1', 'amd64', 'pool/main/f/foo/foo_2.0~rc1-1_amd64.deb', 1234, 'abcdef', 'index'],
    ['bar', '3', 'all', undefined, undefined, undefined, 'index'],
  ]);
  assert.throws(() => parsePackagesIndex('Package: x\nVersion: 1:\nArchitecture: all\n', 'P'), /^IsosyncError: Cannot parse Debian version "1:": nothing after colon in version number$/);
  assert.throws(() => parsePackagesIndex('Package: x\nArchitecture: all\n', 'P'), /stanza at line 1 lacks the Version field/);
});

test('RPM repomd.xml and primary.xml give name, epoch:version-release, arch, size and checksum', () => {
  const repomd = `<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">
    <data type="filelists"><location href="repodata/f-filelists.xml.gz"/></data>
    <data type="primary"><checksum type="sha256">00</checksum><location href="repodata/abc-primary.xml.gz"/></data></repomd>`;
  assert.equal(primaryLocation(repomd, 'repomd.xml'), 'repodata/abc-primary.xml.gz');
  const primary = `<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" packages="3">
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.2.15" rel="3.el9"/>
  <checksum type="sha256" pkgid="YES">ABC123</checksum><summary>The GNU Bourne Again shell &amp; more</summary>
  <size package="1789012" installed="7000000" archive="7100000"/><location href="Packages/b/bash-5.2.15-3.el9.x86_64.rpm"/></package>
<package type="rpm"><name>kernel</name><arch>x86_64</arch><version epoch="2" ver="5.14.0" rel="362.8.1.el9_3"/>
  <size package="5000"/><location href="Packages/k/kernel.rpm"/></package>
<package type="srpm"><name>ignored</name></package>
</metadata>`;
  const recs = parseRpmPrimary(primary, 'primary.xml');
  assert.deepEqual(recs.map((r) => [r.format, r.name, r.version, r.arch, r.size, r.sha256, r.filename]), [
    ['rpm', 'bash', '5.2.15-3.el9', 'x86_64', 1789012, 'abc123', 'Packages/b/bash-5.2.15-3.el9.x86_64.rpm'],
    ['rpm', 'kernel', '2:5.14.0-362.8.1.el9_3', 'x86_64', 5000, undefined, 'Packages/k/kernel.rpm'],
  ]);
  assert.throws(() => parseRpmPrimary('<package type="rpm"><arch>x</arch></package>', 'p.xml'), /^IsosyncError: Cannot parse "p.xml": package 1 lacks name, arch or version$/);
});

const deb = (name: string, version: string, arch = 'amd64'): PackageRecord => ({ format: 'deb', name, version, arch, origin: 'index' });
const rpm = (name: string, version: string, arch = 'x86_64'): PackageRecord => ({ format: 'rpm', name, version, arch, origin: 'index' });

test('diffPackages matches by name and arch and orders with dpkg\'s and rpm\'s algorithms', () => {
  const d = diffPackages(
    [deb('a', '1.0'), deb('b', '1.0-1'), deb('c', '0:2.0'), deb('d', '1.0'), deb('lib', '1', 'i386'), rpm('k', '1.0-1'), rpm('r', '1.0^git1-1')],
    [deb('a', '1.0~rc1'), deb('b', '1:0.5-1'), deb('c', '2.0'), deb('e', '1'), deb('lib', '1', 'amd64'), rpm('k', '1.0-1.el9'), rpm('r', '1.0-1')],
  );
  assert.deepEqual(d, {
    upgraded: [{ name: 'b', arch: 'amd64', from: '1.0-1', to: '1:0.5-1' }, { name: 'k', arch: 'x86_64', from: '1.0-1', to: '1.0-1.el9' }],
    downgraded: [{ name: 'a', arch: 'amd64', from: '1.0', to: '1.0~rc1' }, { name: 'r', arch: 'x86_64', from: '1.0^git1-1', to: '1.0-1' }],
    added: [{ name: 'e', arch: 'amd64', version: '1' }, { name: 'lib', arch: 'amd64', version: '1' }],
    removed: [{ name: 'd', arch: 'amd64', version: '1.0' }, { name: 'lib', arch: 'i386', version: '1' }],
  });
});

test('repository packages are ordered after the packages of the set they depend on', () => {
  const p = (name: string, depends?: string) => ({ name, control: { fields: depends ? [['Depends', depends]] as Array<[string, string]> : [], line: 1 } });
  const order = dependencyOrder([p('app', 'libfoo (>= 2), libbar | libbaz'), p('libbar', 'libc6'), p('libfoo', 'libbar'), p('x')]).map((q) => q.name);
  assert.deepEqual(order, ['libbar', 'libfoo', 'app', 'x']);
});

test('a character reference to no Unicode character is refused with the project error, not a RangeError (found by fuzzing)', () => {
  for (const ref of ['&#5243959344;', '&#x110000;', '&#xD800;', '&#0;']) {
    const xml = `<package type="rpm"><name>demo${ref}</name><arch>x86_64</arch><version ver="1"/></package>`;
    assert.throws(() => parseRpmPrimary(xml, 'p.xml'), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_PACKAGE' && /^Cannot parse "p\.xml": character reference ".*" names no Unicode character$/.test(e.message), ref);
  }
  assert.equal(parseRpmPrimary('<package type="rpm"><name>d&#x41;&#66;</name><arch>x</arch><version ver="1"/></package>', 'p.xml')[0]!.name, 'dAB');
});
