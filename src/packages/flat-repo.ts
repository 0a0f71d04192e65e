/**
 * A flat apt repository of the packages an upgrade (or rollback) needs
 * (the "flat repository format" of the Debian Repository Format: a directory
 * with `Packages[.gz]` whose `Filename`s are relative to it, used with a
 * `deb [trusted=yes] file:/DIR ./` source line).
 *
 * planRepo (pure) picks the packages of NEW that the diff upgrades, adds or
 * downgrades, checks that each one's file lies inside the image and that its
 * name is safe to write into the repository (a plain `*.deb` name; no `/`,
 * `..`, control characters, nothing a Packages line could be broken by), and
 * orders them by their Depends among themselves. Anything unsafe refuses
 * the whole repository: nothing is written.
 */
import { IsosyncError, quote } from '../errors.js';
import { field, type Stanza } from './deb822.js';
import type { PackageDiff } from './diff.js';
import type { ImagePackage } from './image-packages.js';

export type RepoAction = 'upgrade' | 'downgrade' | 'install';

export interface RepoPackage {
  readonly action: RepoAction;
  readonly name: string;
  readonly arch: string;
  readonly version: string;
  /** The from-version for upgrades and downgrades. */
  readonly from?: string | undefined;
  /** Path of the .deb in the image (with leading `/`). */
  readonly imagePath: string;
  /** The file name it gets in the repository. */
  readonly repoName: string;
  readonly control: Stanza;
}

/** Debian file names: package_version_arch.deb, versions with `:` spelled %3a by some tools. */
const SAFE_DEB_NAME = /^[A-Za-z0-9][A-Za-z0-9+.~_%:-]*\.u?deb$/;

function unsafe(what: string, why: string, path: string): never {
  throw new IsosyncError('UNSAFE_PATH', `Cannot build the repository from ${quote(what)}: ${why}`, { path });
}

/** Checks an image-relative package path: relative, no `.`/`..`/empty segments, no control characters. */
export function checkImagePackagePath(filename: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(filename)) unsafe(what, `package path ${quote(filename)} holds a control character`, filename);
  const segs = filename.replace(/^\/+/, '').split('/');
  if (filename.startsWith('/') && filename.replace(/^\/+/, '') === '') unsafe(what, `package path ${quote(filename)} is empty`, filename);
  if (segs.some((s) => s === '' || s === '.' || s === '..')) unsafe(what, `package path ${quote(filename)} leaves its directory (".", ".." or an empty segment)`, filename);
  const base = segs[segs.length - 1]!;
  if (!SAFE_DEB_NAME.test(base)) unsafe(what, `package file name ${quote(base)} is not a plain .deb name`, filename);
  return `/${segs.join('/')}`;
}

/** Names from a Depends/Pre-Depends field (alternatives included), without versions or arch qualifiers. */
function dependencyNames(control: Stanza): string[] {
  const names: string[] = [];
  for (const f of ['Pre-Depends', 'Depends']) {
    const v = field(control, f);
    if (!v) continue;
    for (const alt of v.split(/[,|]/)) {
      const m = /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(alt);
      if (m) names.push(m[1]!);
    }
  }
  return names;
}

/** Orders packages so that each comes after those of the set it depends on (stable; cycles keep input order). */
export function dependencyOrder<T extends { name: string; control: Stanza }>(pkgs: readonly T[]): T[] {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  // Depth first with an explicit stack: a chain of thousands of packages each depending on the next must not overflow the call stack.
  const stack: { p: T; deps: T[]; next: number }[] = [];
  const enter = (p: T): void => {
    if (state.get(p.name)) return; // done, or a cycle: dpkg configures cycles together
    state.set(p.name, 'visiting');
    const deps: T[] = [];
    for (const d of dependencyNames(p.control)) {
      const dep = byName.get(d);
      if (dep && dep !== p) deps.push(dep);
    }
    stack.push({ p, deps, next: 0 });
  };
  for (const root of pkgs) {
    enter(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        enter(top.deps[top.next++]!);
        continue;
      }
      stack.pop();
      state.set(top.p.name, 'done');
      out.push(top.p);
    }
  }
  return out;
}

/** The packages of NEW (`newPackages`) that `diff` upgrades, downgrades or adds, checked and ordered. */
export function planRepo(diff: PackageDiff, newPackages: readonly ImagePackage[], what: string): RepoPackage[] {
  const wanted = new Map<string, { action: RepoAction; from?: string }>();
  for (const c of diff.upgraded) wanted.set(`${c.name}\u0000${c.arch}`, { action: 'upgrade', from: c.from });
  for (const c of diff.downgraded) wanted.set(`${c.name}\u0000${c.arch}`, { action: 'downgrade', from: c.from });
  for (const p of diff.added) wanted.set(`${p.name}\u0000${p.arch}`, { action: 'install' });
  const out: RepoPackage[] = [];
  const names = new Set<string>();
  for (const p of newPackages) {
    const w = wanted.get(`${p.name}\u0000${p.arch}`);
    if (!w || p.format !== 'deb') continue;
    if (p.filename === undefined) unsafe(what, `package ${p.name} ${p.version} has no file name`, '');
    const imagePath = checkImagePackagePath(p.filename, what);
    if (p.origin === 'index') unsafe(what, `package ${p.name} ${p.version} is listed at ${quote(p.filename)}, which the image lacks`, p.filename);
    if (!p.control) unsafe(what, `package ${p.name} ${p.version} has no control fields`, p.filename);
    const repoName = imagePath.slice(imagePath.lastIndexOf('/') + 1);
    if (names.has(repoName)) unsafe(what, `two packages would both be written as ${quote(repoName)}`, p.filename);
    names.add(repoName);
    out.push({ action: w.action, name: p.name, arch: p.arch, version: p.version, from: w.from, imagePath, repoName, control: p.control });
  }
  return dependencyOrder(out);
}

/** Fields of a Packages stanza that describe the file; recomputed for the repository copy. */
const FILE_FIELDS = new Set(['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512']);

/**
 * One Packages stanza: the package's control fields (continuation lines as
 * they were), then Filename (relative, `./name.deb`), Size and checksums of
 * the copy in the repository.
 */
export function packagesStanza(p: RepoPackage, file: { size: number; md5: string; sha256: string }): string {
  const lines: string[] = [];
  for (const [name, value] of p.control.fields) {
    if (FILE_FIELDS.has(name.toLowerCase())) continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Filename: ./${p.repoName}`, `Size: ${file.size}`, `MD5sum: ${file.md5}`, `SHA256: ${file.sha256}`);
  return `${lines.join('\n')}\n`;
}
