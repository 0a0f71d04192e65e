/**
 * RPM packages built by rpmbuild: the header reader agrees with `rpm -qp`,
 * and `isosync diff` on two xorriso images holding `Packages/*.rpm` plus
 * repodata lists exactly the upgrades (a `~` pre-release among them), the
 * downgrade (by epoch), the addition and the removal; the package file wins
 * over a repodata entry that disagrees with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readRpmHeader } from '../../src/packages/rpm-header.js';
import { cli, hasTool, needTools, spawnTool, tempDir } from '../helpers/env.js';

interface Pkg {
  name: string;
  epoch?: number;
  version: string;
  release: string;
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnTool(cmd, args, { encoding: 'utf8', cwd, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-800)}`);
  return r.stdout;
}

/** Builds a tiny noarch rpm (one small file) with rpmbuild under `dir`; returns its path. */
function buildRpm(dir: string, p: Pkg, source = false): string {
  const top = join(dir, `top-${p.name}-${p.epoch ?? ''}-${p.version}-${p.release}`);
  mkdirSync(top, { recursive: true });
  const spec = join(top, `${p.name}.spec`);
  writeFileSync(spec, [
    `Name: ${p.name}`,
    ...(p.epoch !== undefined ? [`Epoch: ${p.epoch}`] : []),
    `Version: ${p.version}`,
    `Release: ${p.release}`,
    'Summary: isosync test package',
    'License: MIT',
    'BuildArch: noarch',
    '%description',
    'A package for isosync tests.',
    '%install',
    `mkdir -p %{buildroot}/usr/share/${p.name}`,
    `echo '${p.name} ${p.version}' > %{buildroot}/usr/share/${p.name}/VERSION`,
    '%files',
    `/usr/share/${p.name}/VERSION`,
    '',
  ].join('\n'));
  run('rpmbuild', [source ? '-bs' : '-bb', '--quiet', '--define', `_topdir ${top}`, spec]);
  const out = join(top, source ? 'SRPMS' : 'RPMS/noarch');
  const files = readdirSync(out).filter((f) => f.endsWith('.rpm'));
  assert.equal(files.length, 1);
  return join(out, files[0]!);
}

const QF = '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n';

test('the header reader reports what rpm -qp reports, epoch and ~ included', { skip: needTools('rpmbuild', 'rpm') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const p of [{ name: 'tilde-pkg', epoch: 3, version: '2.0~beta1', release: '1.el9' }, { name: 'plain-pkg', version: '1.2.3', release: '4' }] as Pkg[]) {
      const path = buildRpm(dir, p);
      const [name, epoch, version, release, arch] = run('rpm', ['-qp', '--nosignature', '--qf', QF, path]).trim().split(' ');
      const h = await readRpmHeader(readFileSync(path), basename(path));
      assert.deepEqual([h.name, h.epoch === undefined ? '(none)' : String(h.epoch), h.version, h.release, h.arch], [name, epoch, version, release, arch]);
      assert.equal(h.evr, `${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}`);
      assert.equal(h.sourcePackage, false);
    }
  } finally {
    cleanup();
  }
});

test('a source rpm built by rpmbuild reads as arch "src"', { skip: needTools('rpmbuild', 'rpm') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = buildRpm(dir, { name: 'srcpkg', epoch: 1, version: '0.9', release: '2' }, true);
    assert.equal(run('rpm', ['-qp', '--nosignature', '--qf', '%{SOURCERPM}', path]), '(none)');
    const h = await readRpmHeader(readFileSync(path), basename(path));
    assert.equal(h.arch, 'src');
    assert.equal(h.sourcePackage, true);
    assert.equal(h.evr, '1:0.9-2');
  } finally {
    cleanup();
  }
});

// The two releases: upgrades (one across a `~` pre-release), a downgrade by epoch, an addition, a removal, one unchanged.
const OLD: Pkg[] = [
  { name: 'alpha', version: '1.0', release: '1' },
  { name: 'beta', epoch: 2, version: '1.0', release: '1' },
  { name: 'delta', version: '1.0~rc1', release: '1' },
  { name: 'gamma', version: '1.0', release: '1' },
  { name: 'zeta', version: '3.0', release: '1' },
];
const NEW: Pkg[] = [
  { name: 'alpha', version: '1.1', release: '1' },
  { name: 'beta', epoch: 1, version: '5.0', release: '1' },
  { name: 'delta', version: '1.0', release: '1' },
  { name: 'epsilon', version: '0.1', release: '1' },
  { name: 'zeta', version: '3.0', release: '1' },
];
const EXPECTED = {
  upgraded: [
    { name: 'alpha', arch: 'noarch', from: '1.0-1', to: '1.1-1' },
    { name: 'delta', arch: 'noarch', from: '1.0~rc1-1', to: '1.0-1' },
  ],
  downgraded: [{ name: 'beta', arch: 'noarch', from: '2:1.0-1', to: '1:5.0-1' }],
  added: [{ name: 'epsilon', arch: 'noarch', version: '0.1-1' }],
  removed: [{ name: 'gamma', arch: 'noarch', version: '1.0-1' }],
};

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A minimal repodata (repomd.xml naming an uncompressed primary.xml) written by hand; `lie` overrides listed versions. */
function handRepodata(root: string, pkgs: Array<{ p: Pkg; file: string }>, lie: Record<string, Pkg> = {}): void {
  mkdirSync(join(root, 'repodata'), { recursive: true });
  const entries = pkgs.map(({ p: real, file }) => {
    const p = lie[real.name] ?? real;
    return [
      '<package type="rpm">',
      `  <name>${xmlEscape(p.name)}</name>`,
      '  <arch>noarch</arch>',
      `  <version epoch="${p.epoch ?? 0}" ver="${xmlEscape(p.version)}" rel="${xmlEscape(p.release)}"/>`,
      `  <size package="${statSync(join(root, file)).size}" installed="0" archive="0"/>`,
      `  <location href="${xmlEscape(file)}"/>`,
      '</package>',
    ].join('\n');
  });
  writeFileSync(join(root, 'repodata', 'primary.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${pkgs.length}">\n${entries.join('\n')}\n</metadata>\n`);
  writeFileSync(join(root, 'repodata', 'repomd.xml'), '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n  <data type="primary">\n    <location href="repodata/primary.xml"/>\n  </data>\n</repomd>\n');
}

type Repodata = 'createrepo_c' | 'hand' | 'hand-lying' | 'none';

/** Builds both releases as ISO images (Packages/*.rpm plus repodata) under `dir`. */
function buildReleases(dir: string, repodata: Repodata): { oldIso: string; newIso: string } {
  const built = new Map<string, string>();
  const rpmOf = (p: Pkg): string => {
    const key = JSON.stringify(p);
    if (!built.has(key)) built.set(key, buildRpm(join(dir, 'build'), p));
    return built.get(key)!;
  };
  const iso = (label: string, pkgs: Pkg[], lie: Record<string, Pkg> = {}): string => {
    const root = join(dir, label);
    mkdirSync(join(root, 'Packages'), { recursive: true });
    const placed = pkgs.map((p) => {
      const src = rpmOf(p);
      const file = `Packages/${basename(src)}`;
      copyFileSync(src, join(root, file));
      return { p, file };
    });
    if (repodata === 'createrepo_c') run('createrepo_c', ['--quiet', '--no-database', root]);
    else if (repodata !== 'none') handRepodata(root, placed, lie);
    const out = join(dir, `${label}.iso`);
    run('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-V', label.toUpperCase(), '-o', out, root]);
    return out;
  };
  // The lying index lists NEW's alpha at OLD's version: reading the file must still show the upgrade.
  const lie: Record<string, Pkg> = repodata === 'hand-lying' ? { alpha: OLD[0]! } : {};
  return { oldIso: iso('old', OLD), newIso: iso('new', NEW, lie) };
}

function diff(a: string, b: string): { json: typeof EXPECTED & { changedFiles: string[] }; stderr: string } {
  const r = cli(['diff', a, b, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return { json: JSON.parse(r.stdout) as typeof EXPECTED & { changedFiles: string[] }, stderr: r.stderr };
}

const pkgLists = (j: typeof EXPECTED): typeof EXPECTED => ({ upgraded: j.upgraded, downgraded: j.downgraded, added: j.added, removed: j.removed });

const swapped = {
  upgraded: EXPECTED.downgraded.map((x) => ({ ...x, from: x.to, to: x.from })),
  downgraded: EXPECTED.upgraded.map((x) => ({ ...x, from: x.to, to: x.from })),
  added: EXPECTED.removed,
  removed: EXPECTED.added,
};

const CHANGED_FILES: Record<Repodata, string[]> = { hand: ['/repodata/primary.xml'], 'hand-lying': ['/repodata/primary.xml'], createrepo_c: ['/repodata/repomd.xml'], none: [] };

const modes: Array<{ mode: Repodata; skip: string | false }> = [
  { mode: 'hand', skip: needTools('rpmbuild', 'xorriso') },
  { mode: 'none', skip: needTools('rpmbuild', 'xorriso') },
  { mode: 'createrepo_c', skip: needTools('rpmbuild', 'xorriso') || (hasTool('createrepo_c') ? false : 'needs createrepo_c (apt-get install createrepo-c; optional)') },
];

for (const { mode, skip } of modes) {
  const what = mode === 'none' ? 'without repodata' : mode === 'hand' ? 'with hand-written repodata' : 'with createrepo_c repodata';
  test(`isosync diff of two RPM images ${what} lists the upgrades, the epoch downgrade, the addition and the removal, both ways`, { skip }, () => {
    const { dir, cleanup } = tempDir();
    try {
      const { oldIso, newIso } = buildReleases(dir, mode);
      const forward = diff(oldIso, newIso);
      assert.deepEqual(pkgLists(forward.json), EXPECTED);
      assert.equal(forward.stderr, '', 'no warnings when files and repodata agree');
      // Non-package files present in both images whose bytes differ: the index (createrepo_c names its data files by checksum, so only repomd.xml persists).
      assert.deepEqual(forward.json.changedFiles, CHANGED_FILES[mode]);
      const back = diff(newIso, oldIso);
      assert.deepEqual(pkgLists(back.json), swapped);
      assert.deepEqual(pkgLists(diff(newIso, newIso).json), { upgraded: [], downgraded: [], added: [], removed: [] });
    } finally {
      cleanup();
    }
  });
}

test('a package file that disagrees with its repodata entry wins, with a warning naming both versions', { skip: needTools('rpmbuild', 'xorriso') }, () => {
  const { dir, cleanup } = tempDir();
  try {
    const { oldIso, newIso } = buildReleases(dir, 'hand-lying');
    const r = diff(oldIso, newIso);
    assert.deepEqual(pkgLists(r.json), EXPECTED);
    const warnings = (r.json as unknown as { warnings: { code: string; source: string; error?: { fields: { differ?: unknown } } }[] }).warnings;
    const w = warnings.find((x) => x.code === 'PACKAGE_INDEX_DISAGREES' && x.source.endsWith(':/Packages/alpha-1.1-1.noarch.rpm'));
    assert.deepEqual(w?.error?.fields.differ, [{ field: 'Version', index: '1.0-1', file: '1.1-1' }], JSON.stringify(warnings));
    assert.match(r.stderr, /^isosync: warning: .*alpha-1\.1-1\.noarch\.rpm: index and package file disagree/m);
  } finally {
    cleanup();
  }
});
