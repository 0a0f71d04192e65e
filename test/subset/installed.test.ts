/**
 * `--installed` in a throwaway dpkg root: a few 1.00 packages installed with
 * dpkg --root; `get 1.01.torrent --installed --root ROOT` takes exactly the
 * installed ones 1.01 holds in a newer version (not the downgraded, the
 * removed or the unchanged ones), and `apply 1.01.torrent --installed
 * --root ROOT --yes` upgrades them there, fetching only their pieces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliAsync, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { installed, releasesDir, releasesMissing } from '../packages/releases.js';

test('--installed picks exactly the installed packages the release upgrades, and apply upgrades them from the torrent', { skip: releasesMissing() || needTools('dpkg', 'dpkg-query', ...(process.getuid?.() === 0 ? [] : ['fakeroot'])), timeout: 300_000 }, async () => {
  const rel = releasesDir();
  const { dir, cleanup } = tempDir('isosync-installed-');
  const image = join(dir, 'distro-1.01.iso');
  copyFileSync(join(rel, 'distro-1.01.iso'), image);
  const server = await startRangeServer({ '/distro-1.01.iso': image });
  try {
    const torrent = join(dir, 'distro-1.01.iso.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--piece-length', '32K', '--home', join(dir, 'pub'), '-o', torrent]).status, 0);
    // A few 1.00 packages in a throwaway root.
    const old = join(dir, 'old');
    assert.equal(cli(['extract', join(rel, 'distro-1.00.iso'), 'pool/**', '-o', old]).status, 0);
    const wanted = ['acl', 'libc6', 'tzdata', 'nano', 'curl', 'bash'];
    const debs = (readdirSync(old, { recursive: true }) as string[]).filter((f) => f.endsWith('.deb') && wanted.includes(f.slice(f.lastIndexOf('/') + 1).split('_')[0]!)).map((f) => join(old, f));
    assert.equal(debs.length, wanted.length);
    const root = join(dir, 'root');
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    const base = process.getuid?.() === 0 ? ['dpkg'] : ['fakeroot', 'dpkg', '--force-not-root'];
    const inst = spawnSync(base[0]!, [...base.slice(1), `--root=${root}`, `--admindir=${join(root, 'var/lib/dpkg')}`, '--log=/dev/null', '-i', ...debs], { encoding: 'utf8' });
    assert.equal(inst.status, 0, inst.stderr);
    const before = installed(root);
    assert.deepEqual([...before.keys()].sort(), [...wanted].sort());

    // get: exactly the upgrades (nano goes down in 1.01, curl is gone, bash is unchanged).
    const mirror = `${server.url}/distro-1.01.iso`;
    const g = await cliAsync(['get', torrent, '--installed', '--root', root, '-o', join(dir, 'got'), '--mirror', mirror, '--no-catalog', '--json']);
    assert.equal(g.status, 0, g.stderr);
    const report = JSON.parse(g.stdout) as { packages: { name: string; version: string; why: { kind: string; from?: string } }[]; files: { path: string }[] };
    assert.deepEqual(report.packages.map((p) => `${p.name} ${p.why.from} -> ${p.version}`).sort(), [
      'acl 2.3.1-3 -> 2.3.1-3+deb12u1',
      'libc6 2.36-9+deb12u3 -> 2.36-9+deb12u4',
      'tzdata 2024a-0+deb12u1 -> 2024b-0+deb12u1',
    ]);
    assert.equal(report.files.length, 3);

    // apply from the torrent: the same three, upgraded in the root; nothing else changes.
    const sentBefore = server.bytesSent();
    const a = await cliAsync(['apply', torrent, '--installed', '--root', root, '--repo', join(dir, 'repo'), '--yes', '--mirror', mirror, '--no-catalog', '--json']);
    assert.equal(a.status, 0, a.stderr);
    const applied = JSON.parse(a.stdout) as { packages: { action: string; name: string }[]; ran: boolean };
    assert.equal(applied.ran, true);
    assert.deepEqual(applied.packages.map((p) => `${p.action} ${p.name}`).sort(), ['upgrade acl', 'upgrade libc6', 'upgrade tzdata']);
    const after = installed(root);
    assert.deepEqual(Object.fromEntries(after), {
      ...Object.fromEntries(before),
      acl: '2.3.1-3+deb12u1',
      libc6: '2.36-9+deb12u4',
      tzdata: '2024b-0+deb12u1',
    });
    assert.ok(server.bytesSent() - sentBefore < 1_500_000, `apply fetched the changed packages' pieces, not the image: ${server.bytesSent() - sentBefore}`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.part')), [], 'no .part left beside the repository');
  } finally {
    await server.close();
    cleanup();
  }
});
