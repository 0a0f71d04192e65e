/**
 * `isosync apply` in a throwaway root: 1.00's packages installed with dpkg
 * --root/--admindir, then apply 1.01 (upgrades, the downgrade, the addition,
 * the removal with --remove), then roll back to 1.00. apt accepts the flat
 * repository (apt-get --simulate against the throwaway root's status). Unsafe
 * package paths are refused before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, needTools, spawnTool, tempDir } from '../helpers/env.js';
import { checkImagePackagePath, planRepo } from '../../src/packages/flat-repo.js';
import { IsosyncError } from '../../src/errors.js';
import { installed, releasesDir, releasesMissing } from './releases.js';
import { makeDeb } from './make-deb.js';

/** Package -> version of every .deb under `dir`, as dpkg-deb reads them. */
function packagesOf(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith('.deb')) {
    const r = spawnSync('dpkg-deb', ['--show', '--showformat=${Package} ${Version}', join(dir, f)], { encoding: 'utf8' });
    const [n, v] = r.stdout.split(' ');
    m.set(n!, v!);
  }
  return m;
}

test('apply installs, upgrades, downgrades and removes in a throwaway root, and rolls back', { skip: releasesMissing() || needTools('dpkg', 'dpkg-query', 'apt-get'), timeout: 300_000 }, () => {
  const rel = releasesDir();
  const { dir, cleanup } = tempDir();
  try {
    const root = join(dir, 'root');
    const old = join(dir, 'old');
    // 1.00 installed with dpkg from its own pool.
    const x = cli(['extract', join(rel, 'distro-1.00.iso'), 'pool/**', '-o', old]);
    assert.equal(x.status, 0, x.stderr);
    const debs = spawnSync('find', [old, '-name', '*.deb'], { encoding: 'utf8' }).stdout.trim().split('\n');
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    const asRoot = process.getuid?.() === 0;
    const base = asRoot ? ['dpkg'] : ['fakeroot', 'dpkg', '--force-not-root'];
    const inst = spawnSync(base[0]!, [...base.slice(1), `--root=${root}`, `--admindir=${join(root, 'var/lib/dpkg')}`, '--log=/dev/null', '-i', ...debs], { encoding: 'utf8' });
    assert.equal(inst.status, 0, inst.stderr);
    const v100 = installed(root);
    assert.deepEqual(v100, packagesOf(old));

    // Without --yes: only the repository is written, the root is untouched.
    const repo = join(dir, 'repo');
    const dry = cli(['apply', join(rel, 'distro-1.01.iso'), '--from', join(rel, 'distro-1.00.iso'), '--repo', repo, '--root', root, '--remove', '--json']);
    assert.equal(dry.status, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as { packages: Array<{ action: string; name: string }>; commands: string[][]; ran: boolean };
    assert.equal(plan.ran, false);
    assert.deepEqual(installed(root), v100);
    assert.deepEqual(plan.packages.map((p) => `${p.action} ${p.name}`).sort(),
      ['downgrade nano', 'install htop', 'upgrade acl', 'upgrade libc6', 'upgrade libssl3', 'upgrade openssh-client', 'upgrade tzdata']);

    // apt accepts the repository: apt-get --simulate against the throwaway root's status.
    const lists = join(dir, 'apt', 'lists');
    mkdirSync(join(lists, 'partial'), { recursive: true });
    mkdirSync(join(dir, 'apt', 'cache', 'archives', 'partial'), { recursive: true });
    const aptOpts = ['-o', `Dir::State::status=${join(root, 'var/lib/dpkg/status')}`, '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache=${join(dir, 'apt', 'cache')}`,
      '-o', `Dir::Etc::SourceList=${join(repo, 'isosync.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', 'Debug::NoLocking=1'];
    const upd = spawnSync('apt-get', [...aptOpts, 'update'], { encoding: 'utf8' });
    assert.equal(upd.status, 0, upd.stderr);
    const sim = spawnSync('apt-get', [...aptOpts, 'install', '-s', '--allow-downgrades', 'acl=2.3.1-3+deb12u1', 'nano=7.2~rc1-1', 'htop=3.2.2~rc1-2'], { encoding: 'utf8' });
    assert.equal(sim.status, 0, sim.stderr);
    assert.match(sim.stdout, /^Inst acl \[2\.3\.1-3\] \(2\.3\.1-3\+deb12u1 /m);
    assert.match(sim.stdout, /^Inst nano \[7\.2-1\] \(7\.2~rc1-1 /m);
    assert.match(sim.stdout, /^Inst htop \(3\.2\.2~rc1-2 /m);

    // --yes: 1.01's package set afterwards.
    const up = cli(['apply', join(rel, 'distro-1.01.iso'), '--from', join(rel, 'distro-1.00.iso'), '--repo', repo, '--root', root, '--remove', '--yes']);
    assert.equal(up.status, 0, up.stderr);
    const new101 = join(dir, 'new');
    assert.equal(cli(['extract', join(rel, 'distro-1.01.iso'), 'pool/**', '-o', new101]).status, 0);
    assert.deepEqual(installed(root), packagesOf(new101));
    assert.equal(installed(root).get('nano'), '7.2~rc1-1');
    assert.equal(installed(root).has('curl'), false);

    // Rollback: apply 1.00 from 1.01 gives back exactly 1.00's set.
    const back = cli(['apply', join(rel, 'distro-1.00.iso'), '--from', join(rel, 'distro-1.01.iso'), '--repo', join(dir, 'repo-back'), '--root', root, '--remove', '--yes']);
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(installed(root), v100);
  } finally {
    cleanup();
  }
});

test('apply without --from finds the previous release in the catalog, or says to give --from', { skip: releasesMissing() }, () => {
  const t = tempDir();
  try {
    const home = join(t.dir, 'home');
    const rel = releasesDir();
    for (const [name, release, prev] of [['distro-1.00', '1.00', undefined], ['distro-1.01', '1.01', 'distro-1.00']] as const) {
      copyFileSync(join(rel, `${name}.iso`), join(t.dir, `${name}.iso`));
      const args = ['publish', join(t.dir, `${name}.iso`), '--product', 'distro', '--release', release, '--home', home];
      if (prev) args.push('--previous', join(t.dir, `${prev}.iso`));
      assert.equal(cli(args).status, 0);
    }
    const r = cli(['apply', join(t.dir, 'distro-1.01.iso'), '--home', home, '--repo', join(t.dir, 'repo'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.packages.some((p: { action: string }) => p.action === 'downgrade'), 'relative to 1.00: the fixture downgrade is there');
    const none = cli(['apply', join(t.dir, 'distro-1.00.iso'), '--home', home]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^isosync: Cannot apply ".*distro-1\.00\.iso": the catalog knows no earlier release of it on disk; give the release installed now with --from OLD\n$/);
  } finally {
    t.cleanup();
  }
});

test('package paths that leave the image or are not plain .deb names are refused', () => {
  for (const bad of ['../../etc/x', 'pool/../../etc/passwd.deb', 'pool/./a.deb', 'pool//a.deb', 'pool/a b.deb', "pool/a'b.deb", 'pool/a\nb.deb', 'pool/x.sh']) {
    assert.throws(() => checkImagePackagePath(bad, 'new.iso'), (e: unknown) => e instanceof IsosyncError && e.code === 'UNSAFE_PATH' && e.message.startsWith('Cannot build the repository from "new.iso": '), bad);
  }
  assert.equal(checkImagePackagePath('pool/main/a/acl/acl_2.3.1-3_amd64.deb', 'n'), '/pool/main/a/acl/acl_2.3.1-3_amd64.deb');
  const control = { fields: [['Package', 'x']] as Array<[string, string]>, line: 1 };
  const diff = { upgraded: [], downgraded: [], added: [{ name: 'x', arch: 'all', version: '1' }], removed: [] };
  assert.throws(() => planRepo(diff, [{ format: 'deb', name: 'x', version: '1', arch: 'all', filename: '../../etc/x', origin: 'index', control }], 'new.iso'), /leaves its directory/);
});

test('apply refuses a crafted image (Filename: ../../etc/x, an unsafe .deb name) and writes nothing', { skip: needTools('xorriso', 'dpkg-deb') }, () => {
  const { dir, cleanup } = tempDir();
  try {
    const mk = (name: string, fill: (tree: string) => void): string => {
      const tree = join(dir, name);
      mkdirSync(join(tree, 'dists/stable/main/binary-amd64'), { recursive: true });
      mkdirSync(join(tree, 'pool'), { recursive: true });
      fill(tree);
      const iso = join(dir, `${name}.iso`);
      const r = spawnTool('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', iso, tree], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return iso;
    };
    const old = mk('old', (t) => writeFileSync(join(t, 'dists/stable/main/binary-amd64/Packages'), ''));
    const traversal = mk('traversal', (t) => writeFileSync(join(t, 'dists/stable/main/binary-amd64/Packages'),
      'Package: evil\nVersion: 1.0\nArchitecture: all\nFilename: ../../etc/x\nSize: 10\n'));
    const badName = mk('badname', (t) => {
      writeFileSync(join(t, 'dists/stable/main/binary-amd64/Packages'), '');
      copyFileSync(makeDeb(dir, { name: 'spacey', version: '1.0' }), join(t, 'pool', "spa cey'1.deb"));
    });
    for (const [iso, want] of [[traversal, /Cannot build the repository from ".*traversal.iso": package path "\.\.\/\.\.\/etc\/x" leaves its directory/],
      [badName, /Cannot build the repository from ".*badname.iso": package file name "spa cey'1.deb" is not a plain .deb name/]] as const) {
      const repo = join(dir, `repo-${iso.length}`);
      const r = cli(['apply', iso, '--from', old, '--repo', repo, '--yes']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, want);
      assert.equal(existsSync(repo), false, 'nothing written');
    }
    assert.ok(readFileSync(old).length > 0);
  } finally {
    cleanup();
  }
});
