/**
 * Test helper: the fixture releases (distro-1.00.iso, distro-1.01.iso,
 * distro-1.01-appended.iso, CHANGES.json). Uses the committed
 * fixtures/releases when present; otherwise builds them once per process
 * with fixtures/make-fixtures.sh into a temporary directory (removed at exit).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, hasTool } from '../helpers/env.js';

let built: string | undefined;

/** Why the releases are unavailable (a skip reason), or false. */
export function releasesMissing(): string | false {
  if (existsSync(fixture('releases', 'CHANGES.json'))) return false;
  const tools = ['xorriso', 'dpkg-deb', 'dpkg-scanpackages'].filter((t) => !hasTool(t));
  return tools.length > 0 ? `needs fixtures/releases or ${tools.join(', ')} to build them` : false;
}

export function releasesDir(): string {
  if (existsSync(fixture('releases', 'CHANGES.json'))) return fixture('releases');
  if (built) return join(built, 'releases');
  const dir = mkdtempSync(join(tmpdir(), 'isosync-releases-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('bash', [fixture('make-fixtures.sh'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-fixtures.sh failed: ${r.stderr.slice(-500)}`);
  built = dir;
  return join(dir, 'releases');
}

/** Package -> version of every package dpkg lists as installed ("ii") under ROOT's database. */
export function installed(root: string): Map<string, string> {
  const r = spawnSync('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package} ${Version} ${db:Status-Abbrev}\n'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const [name, version, status] = line.split(' ');
    if (status === 'ii') out.set(name!, version!);
  }
  return out;
}
