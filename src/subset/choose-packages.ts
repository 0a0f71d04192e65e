/**
 * Which packages of an image a subset download takes (`get --packages`,
 * `--installed`, `--with-deps`). Pure: works on the image's package list
 * (from its indexes) and on what the system has installed.
 *
 *   by name       `NAME` takes every architecture of it the image has,
 *                 `NAME:ARCH` one; a name the image lacks is an error.
 *   installed     each installed package (name and architecture; `all` and
 *                 `noarch` match themselves) that the image holds in a newer
 *                 version, by the format's own version order.
 *   with deps     the Pre-Depends and Depends of every chosen Debian package,
 *                 recursively: an alternative is satisfied by an installed
 *                 package, a package already chosen, or a package of the
 *                 image (by name or by Provides), in that order; the first
 *                 alternative the image can satisfy is taken. Versions in
 *                 relations are not checked (the image is one release).
 *                 RPM packages carry no relations in the index read here.
 */
import { IsosyncError, quote } from '../errors.js';
import { field } from '../packages/deb822.js';
import type { ImagePackage } from '../packages/image-packages.js';
import { compareVersions, type PackageFormat } from '../packages/model.js';

/** A package installed on the system (dpkg status, rpm database). */
export interface InstalledPackage {
  readonly format: PackageFormat;
  readonly name: string;
  readonly arch: string;
  readonly version: string;
}

export interface PackageWish {
  /** `NAME` or `NAME:ARCH`. */
  readonly names?: readonly string[];
  /** Take the installed packages the image has in a newer version. */
  readonly installed?: readonly InstalledPackage[];
  readonly withDeps?: boolean;
}

export interface ChosenPackage {
  readonly pkg: ImagePackage;
  /** Why: asked by name, newer than the installed version, or needed by another. */
  readonly why: { readonly kind: 'named' } | { readonly kind: 'upgrade'; readonly from: string } | { readonly kind: 'dependency'; readonly of: string };
}

/** Most packages a dependency closure visits: a guard against a hostile index. */
export const MAX_CHOSEN = 100_000;

const key = (name: string, arch: string): string => `${name}\u0000${arch}`;

/** Names (without versions or arch qualifiers) of one relation field, as lists of alternatives. */
export function relationAlternatives(value: string | undefined): string[][] {
  if (!value) return [];
  const out: string[][] = [];
  for (const clause of value.split(',')) {
    const alts: string[] = [];
    for (const alt of clause.split('|')) {
      const m = /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(alt);
      if (m) alts.push(m[1]!);
    }
    if (alts.length > 0) out.push(alts);
  }
  return out;
}

export function choosePackages(image: readonly ImagePackage[], wish: PackageWish): ChosenPackage[] {
  const byName = new Map<string, ImagePackage[]>();
  const providers = new Map<string, ImagePackage[]>();
  for (const p of image) {
    (byName.get(p.name) ?? byName.set(p.name, []).get(p.name)!).push(p);
    if (p.control) {
      for (const alts of relationAlternatives(field(p.control, 'Provides'))) {
        for (const v of alts) (providers.get(v) ?? providers.set(v, []).get(v)!).push(p);
      }
    }
  }
  const chosen = new Map<string, ChosenPackage>();
  const chosenNames = new Set<string>();
  const order: ChosenPackage[] = [];
  const take = (pkg: ImagePackage, why: ChosenPackage['why']) => {
    const k = key(pkg.name, pkg.arch);
    if (chosen.has(k)) return;
    if (chosen.size >= MAX_CHOSEN) throw new IsosyncError('BAD_PACKAGE', `Cannot choose packages: more than ${MAX_CHOSEN}`);
    const c = { pkg, why };
    chosen.set(k, c);
    chosenNames.add(pkg.name);
    order.push(c);
  };

  const missing: string[] = [];
  for (const spec of wish.names ?? []) {
    const [name, arch] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, undefined];
    const found = (byName.get(name) ?? []).filter((p) => arch === undefined || p.arch === arch);
    if (found.length === 0) missing.push(spec);
    for (const p of found) take(p, { kind: 'named' });
  }
  if (missing.length > 0) {
    throw new IsosyncError('NOT_FOUND', `Cannot choose ${missing.map(quote).join(', ')}: the image's package index has no such package`, { packages: missing });
  }

  const installedByName = new Map<string, InstalledPackage[]>();
  for (const i of wish.installed ?? []) (installedByName.get(i.name) ?? installedByName.set(i.name, []).get(i.name)!).push(i);
  for (const i of wish.installed ?? []) {
    for (const p of byName.get(i.name) ?? []) {
      if (p.format !== i.format || p.arch !== i.arch) continue;
      if (compareVersions(p.format, p.version, i.version) > 0) take(p, { kind: 'upgrade', from: i.version });
    }
  }

  if (wish.withDeps) {
    const isInstalled = (name: string) => installedByName.has(name);
    const isChosen = (name: string) => chosenNames.has(name);
    // Breadth first over the chosen list as it grows: no recursion.
    for (let i = 0; i < order.length; i++) {
      const c = order[i]!;
      if (c.pkg.format !== 'deb' || !c.pkg.control) continue;
      for (const rel of ['Pre-Depends', 'Depends']) {
        for (const alts of relationAlternatives(field(c.pkg.control, rel))) {
          if (alts.some((n) => isInstalled(n) || isChosen(n))) continue;
          for (const n of alts) {
            const cand = pick(byName.get(n) ?? providers.get(n) ?? [], c.pkg.arch);
            if (!cand) continue;
            take(cand, { kind: 'dependency', of: c.pkg.name });
            break;
          }
        }
      }
    }
  }
  return order;
}

/** Of several packages of one name, the one of `arch`, else `all`, else the first. */
function pick(cands: readonly ImagePackage[], arch: string): ImagePackage | undefined {
  return cands.find((p) => p.arch === arch) ?? cands.find((p) => p.arch === 'all' || p.arch === 'noarch') ?? cands[0];
}
