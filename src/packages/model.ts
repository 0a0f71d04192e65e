/**
 * What a package is to isosync: the identity the package manager sees (name,
 * architecture, version with its epoch), where it sits in the image and how
 * big it is. Debian and RPM packages share the shape; `format` says which
 * version algorithm orders them.
 */
import { compareDebianVersions } from './debian-version.js';
import { compareRpmVersions } from './rpm-version.js';

export type PackageFormat = 'deb' | 'rpm';

export interface PackageRecord {
  readonly format: PackageFormat;
  readonly name: string;
  /** As the package manager prints it: Debian `[epoch:]upstream[-revision]`, RPM `[epoch:]version-release`. */
  readonly version: string;
  readonly arch: string;
  /** Path of the package file in the image, `/`-separated, without a leading `/`. */
  readonly filename?: string | undefined;
  readonly size?: number | undefined;
  /** Lower-case hex, from the index (SHA256 / checksum type="sha256"). */
  readonly sha256?: string | undefined;
  /** Where the fields came from: the index, the package file, or both (the file wins). */
  readonly origin: 'index' | 'file' | 'both';
}

/** Orders two versions of the same format with that format's real algorithm. */
export function compareVersions(format: PackageFormat, a: string, b: string): -1 | 0 | 1 {
  return format === 'deb' ? compareDebianVersions(a, b) : compareRpmVersions(a, b);
}

/** The key a diff compares by: name and architecture (and format, which never mix). */
export function packageKey(p: Pick<PackageRecord, 'format' | 'name' | 'arch'>): string {
  return `${p.format}\u0000${p.name}\u0000${p.arch}`;
}
