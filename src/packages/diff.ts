/**
 * What changed between two package sets, and which other files changed.
 *
 * diffPackages (pure): packages are matched by (format, name, arch) and
 * ordered by their format's real algorithm (dpkg's, rpmvercmp): a higher
 * version in NEW is an upgrade, a lower one a downgrade; a key only in NEW is
 * added, only in OLD removed. Versions that compare equal are unchanged even
 * when spelled differently (`0:1.0` and `1.0`). Lists are sorted by name,
 * then arch.
 *
 * changedFiles: paths present in both images, other than package files,
 * whose size differs or, when sizes match, whose content differs (read
 * through a caller-supplied comparison, so the pure part reads nothing).
 * Files only in one image are not "changed" (they come with added/removed
 * packages or are new metadata); this matches what the fixture script records.
 */
import { compareVersions, packageKey, type PackageRecord } from './model.js';

export interface VersionChange {
  readonly name: string;
  readonly arch: string;
  readonly from: string;
  readonly to: string;
}

export interface PackageAtVersion {
  readonly name: string;
  readonly arch: string;
  readonly version: string;
}

export interface PackageDiff {
  readonly upgraded: VersionChange[];
  readonly downgraded: VersionChange[];
  readonly added: PackageAtVersion[];
  readonly removed: PackageAtVersion[];
}

/** The JSON of `isosync diff --json`: PackageDiff plus changed non-package files. */
export interface ImageDiff extends PackageDiff {
  readonly changedFiles: string[];
}

const byNameArch = <T extends { name: string; arch: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;

export function diffPackages(oldSet: readonly PackageRecord[], newSet: readonly PackageRecord[]): PackageDiff {
  const oldByKey = new Map(oldSet.map((p) => [packageKey(p), p]));
  const newByKey = new Map(newSet.map((p) => [packageKey(p), p]));
  const upgraded: VersionChange[] = [];
  const downgraded: VersionChange[] = [];
  const added: PackageAtVersion[] = [];
  const removed: PackageAtVersion[] = [];
  for (const [k, n] of newByKey) {
    const o = oldByKey.get(k);
    if (!o) {
      added.push({ name: n.name, arch: n.arch, version: n.version });
      continue;
    }
    const c = compareVersions(n.format, n.version, o.version);
    if (c > 0) upgraded.push({ name: n.name, arch: n.arch, from: o.version, to: n.version });
    else if (c < 0) downgraded.push({ name: n.name, arch: n.arch, from: o.version, to: n.version });
  }
  for (const [k, o] of oldByKey) if (!newByKey.has(k)) removed.push({ name: o.name, arch: o.arch, version: o.version });
  return { upgraded: upgraded.sort(byNameArch), downgraded: downgraded.sort(byNameArch), added: added.sort(byNameArch), removed: removed.sort(byNameArch) };
}

export interface FileInfo {
  readonly path: string;
  readonly size: number;
}

/**
 * Paths in both lists (package files excluded by the caller) whose size
 * differs, or whose content differs by `sameContent` when sizes match.
 * Sorted by path (code-unit order, as `sort` in the C locale).
 */
export async function changedFiles(
  oldFiles: readonly FileInfo[],
  newFiles: readonly FileInfo[],
  sameContent: (path: string) => Promise<boolean>,
): Promise<string[]> {
  const oldByPath = new Map(oldFiles.map((f) => [f.path, f]));
  const out: string[] = [];
  for (const f of newFiles) {
    const o = oldByPath.get(f.path);
    if (!o) continue;
    if (o.size !== f.size || !(await sameContent(f.path))) out.push(f.path);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
