/**
 * The packages installed on a system: dpkg's status file
 * (`ROOT/var/lib/dpkg/status`, deb822 stanzas whose Status is
 * "install ok installed"), or, on a system without one, the rpm database
 * (`rpm -qa --root ROOT`). ROOT is `/` unless a throwaway root is given
 * (`--root DIR`, the root `dpkg --root` installs into).
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import { field, parseDeb822 } from '../packages/deb822.js';
import type { InstalledPackage } from './choose-packages.js';

/** The installed packages of a dpkg status file's text. Pure. */
export function parseDpkgStatus(text: string, what: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const s of parseDeb822(text, what)) {
    const status = (field(s, 'Status') ?? '').trim().split(/\s+/);
    if (status[2] !== 'installed') continue;
    const name = field(s, 'Package');
    const version = field(s, 'Version');
    const arch = field(s, 'Architecture');
    if (!name || !version || !arch) continue;
    out.push({ format: 'deb', name, version, arch });
  }
  return out;
}

/** Lines `NAME\tARCH\tEPOCH:VERSION-RELEASE` (rpm --qf) as installed packages. Pure. */
export function parseRpmList(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, arch, evr] = line.split('\t');
    if (!name || !arch || !evr || name === 'gpg-pubkey') continue;
    out.push({ format: 'rpm', name, arch, version: evr.replace(/^(0|\(none\)):/, '') });
  }
  return out;
}

export interface InstalledSet {
  readonly manager: 'dpkg' | 'rpm';
  readonly root: string;
  readonly packages: InstalledPackage[];
}

/** Reads what is installed under `root` (default `/`): dpkg's status first, else the rpm database. */
export async function installedPackages(root = '/'): Promise<InstalledSet> {
  const abs = resolve(root);
  const status = join(abs, 'var/lib/dpkg/status');
  let text: string | undefined;
  try {
    text = await readFile(status, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new IsosyncError('IO', `Cannot read ${quote(status)}: ${(e as Error).message}`, { path: status });
  }
  if (text !== undefined) return { manager: 'dpkg', root: abs, packages: parseDpkgStatus(text, status) };
  const rpm = spawnSync('rpm', ['-qa', '--root', abs, '--qf', '%{NAME}\\t%{ARCH}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (rpm.error || rpm.status !== 0) {
    throw new IsosyncError('NOT_FOUND', `Cannot list the installed packages of ${quote(abs)}: no dpkg status file (${quote(status)}) and no rpm database${rpm.error ? '' : ` (rpm: ${(rpm.stderr ?? '').trim().split('\n')[0]})`}`, { path: abs });
  }
  return { manager: 'rpm', root: abs, packages: parseRpmList(rpm.stdout) };
}
