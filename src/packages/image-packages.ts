/**
 * The package set of an image: what its indexes list, reconciled with what
 * its package files say.
 *
 * Indexes: every `Packages`, `Packages.gz` or `Packages.xz` under a `dists/`
 * directory (one per directory: the first of those names that is present,
 * uncompressed preferred), with Filename resolved against the directory
 * holding `dists/`; every `repodata/repomd.xml` (its primary.xml, with
 * location resolved against the directory holding `repodata/`).
 * Package files: every `.deb`/`.udeb` file of the image, whose control fields
 * are read from the file itself (a few KB each), and every `.rpm`, whose name,
 * epoch:version-release and arch come from its header (rpm-header.ts).
 *
 * Reconciliation, per package file: when an index entry names the file and
 * the two disagree on name, version, architecture or size, a warning says so
 * and the file wins. An index entry whose file is absent stays (origin
 * 'index') with a warning; a package file no index lists is kept (origin
 * 'file') with a warning when the image has indexes at all. When one (name,
 * arch) appears with several versions, the highest is kept, with a warning.
 * A package file that cannot be read is a warning; its index entry stands.
 *
 * Reads through the ISO reader's ByteSource: no file system access here.
 */
import { IsosyncError, quote } from '../errors.js';
import type { Warning, WarningCode } from '../core/warnings.js';
import type { IsoEntry, IsoImage } from '../iso/index.js';
import type { ByteSource } from '../store/byte-source.js';
import { compressionOfName, decompress, type ZstdDecoder } from './compression.js';
import { readDebControl } from './deb.js';
import { EntrySource } from './entry-source.js';
import { parsePackagesIndex, parseRpmPrimary, primaryLocation, type IndexedPackage } from './indexes.js';
import { compareVersions, packageKey, type PackageRecord } from './model.js';
import { readRpmHeader } from './rpm-header.js';

/** An index larger than this (decompressed) is refused; Debian's biggest Packages is ~60 MB. */
export const MAX_INDEX_BYTES = 512 * 1024 * 1024;

export interface ImagePackage extends PackageRecord {
  /** The Debian control stanza (from the file when read, else from the index). */
  readonly control?: IndexedPackage['stanza'];
}

export interface ImagePackages {
  /** One per (format, name, arch), sorted by name, then arch. */
  readonly packages: readonly ImagePackage[];
  /** Paths (with leading `/`) of the index files read. */
  readonly indexes: readonly string[];
  /** Paths of every package file (.deb, .udeb, .rpm) of the image, indexed or not. */
  readonly packageFiles: ReadonlySet<string>;
  /** Inconsistencies found (the source names the image and the path). */
  readonly warnings: readonly Warning[];
}

export interface ScanOptions {
  /** Name of the image in messages. */
  readonly name: string;
  /** Read each .deb's control fields and .rpm's header (default true). Off: indexes only (e.g. a partly present image). */
  readonly readPackageFiles?: boolean;
  readonly zstd?: ZstdDecoder | undefined;
  readonly blockSize?: number;
  /**
   * Default true. False when `image` lists only part of the tree (the
   * directories of the indexes: a subset download): a package file not
   * listed is then not missing, and its path is the one the index resolves to.
   */
  readonly wholeTree?: boolean;
  /** Read the smallest index of a directory (Packages.xz, then .gz, then plain): its bytes come over the network. */
  readonly preferCompressed?: boolean;
}

const INDEX_NAMES = ['Packages', 'Packages.gz', 'Packages.xz'] as const;

const dirOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';
const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** Resolves `rel` against directory `dir` (both `/`-rooted); undefined when it climbs out of the image. */
export function resolveInImage(dir: string, rel: string): string | undefined {
  const parts = rel.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

async function readWhole(src: ByteSource, entry: IsoEntry, blockSize: number): Promise<Uint8Array> {
  const es = new EntrySource(src, entry, blockSize);
  return es.read(0, es.size);
}

async function readText(src: ByteSource, entry: IsoEntry, blockSize: number, opts: ScanOptions): Promise<string> {
  const kind = compressionOfName(entry.path);
  if (kind === undefined) throw new IsosyncError('UNSUPPORTED', `Cannot read ${quote(entry.path)} in ${quote(opts.name)}: unknown compression`);
  const raw = await readWhole(src, entry, blockSize);
  return new TextDecoder().decode(await decompress(raw, kind, `${opts.name}:${entry.path}`, { maxBytes: MAX_INDEX_BYTES, zstd: opts.zstd }));
}

/** What a package file says about itself: Debian control fields, or an RPM's header tags. */
interface FileIdentity {
  readonly format: PackageRecord['format'];
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly stanza?: IndexedPackage['stanza'];
}

async function readPackageFile(file: ByteSource, path: string, what: string, opts: ScanOptions): Promise<FileIdentity> {
  if (path.endsWith('.rpm')) {
    const h = await readRpmHeader(file, what);
    return { format: 'rpm', name: h.name, version: h.evr, arch: h.arch };
  }
  const ctl = await readDebControl(file, what, { zstd: opts.zstd });
  return { format: 'deb', name: ctl.name, version: ctl.version, arch: ctl.arch, stanza: ctl.stanza };
}

export async function scanImagePackages(src: ByteSource, image: IsoImage, opts: ScanOptions): Promise<ImagePackages> {
  const bs = opts.blockSize ?? image.logicalBlockSize;
  const files = new Map<string, IsoEntry>();
  for (const e of image.entries) if (e.type === 'file') files.set(e.path, e);
  const warnings: Warning[] = [];
  const warn = (code: WarningCode, path: string, detail: string, error?: IsosyncError) => warnings.push({ code, source: `${opts.name}:${path}`, detail, ...(error ? { error } : {}) });
  const indexes: string[] = [];
  const indexed: Array<IndexedPackage & { path?: string | undefined }> = [];

  // Debian indexes: one per directory under a dists/ tree.
  const order: readonly string[] = opts.preferCompressed ? [...INDEX_NAMES].reverse() : INDEX_NAMES;
  const indexDirs = new Map<string, IsoEntry>();
  for (const e of files.values()) {
    const name = baseOf(e.path);
    if (!order.includes(name) || !/(^|\/)dists\//.test(e.path)) continue;
    const dir = dirOf(e.path);
    const held = indexDirs.get(dir);
    if (!held || order.indexOf(name) < order.indexOf(baseOf(held.path))) {
      indexDirs.set(dir, e);
    }
  }
  for (const e of [...indexDirs.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const root = e.path.slice(0, e.path.lastIndexOf('/dists/')) || '/';
    indexes.push(e.path);
    for (const p of parsePackagesIndex(await readText(src, e, bs, opts), `${opts.name}:${e.path}`)) {
      indexed.push({ ...p, path: p.filename === undefined ? undefined : resolveInImage(root, p.filename) });
    }
  }
  // RPM repodata.
  for (const e of files.values()) {
    if (!e.path.endsWith('/repodata/repomd.xml')) continue;
    const root = dirOf(dirOf(e.path));
    indexes.push(e.path);
    const primaryPath = resolveInImage(root, primaryLocation(await readText(src, e, bs, opts), `${opts.name}:${e.path}`));
    const primary = primaryPath === undefined ? undefined : files.get(primaryPath);
    if (!primary) {
      warn('PACKAGE_INDEX_BROKEN', e.path, `names primary metadata ${quote(primaryPath ?? '(outside the image)')} that the image lacks`);
      continue;
    }
    indexes.push(primary.path);
    for (const p of parseRpmPrimary(await readText(src, primary, bs, opts), `${opts.name}:${primary.path}`)) {
      indexed.push({ ...p, path: p.filename === undefined ? undefined : resolveInImage(root, p.filename) });
    }
  }

  // Package files, and reconciliation.
  const packageFiles = new Set<string>();
  for (const path of files.keys()) if (/\.(u?deb|rpm)$/.test(path)) packageFiles.add(path);
  const byPath = new Map<string, IndexedPackage>();
  for (const p of indexed) if (p.path !== undefined && !byPath.has(p.path)) byPath.set(p.path, p);

  const records: ImagePackage[] = [];
  const covered = new Set<string>();
  if (opts.readPackageFiles !== false) {
    for (const path of [...packageFiles].sort()) {
      const entry = files.get(path)!;
      let ctl: FileIdentity;
      try {
        ctl = await readPackageFile(new EntrySource(src, entry, bs), path, `${opts.name}:${path}`, opts);
      } catch (e) {
        // A broken package file is reported; its index entry (if any) stands in for it.
        if (e instanceof IsosyncError && (e.code === 'BAD_PACKAGE' || e.code === 'UNSUPPORTED')) {
          warn('PACKAGE_UNREADABLE', path, e.message, e);
          continue;
        }
        throw e;
      }
      const idx = byPath.get(path);
      covered.add(path);
      if (idx) {
        const differ: { field: string; index: string | number; file: string | number }[] = [];
        if (idx.name !== ctl.name) differ.push({ field: 'Package', index: idx.name, file: ctl.name });
        if (idx.version !== ctl.version) differ.push({ field: 'Version', index: idx.version, file: ctl.version });
        if (idx.arch !== ctl.arch) differ.push({ field: 'Architecture', index: idx.arch, file: ctl.arch });
        if (idx.size !== undefined && idx.size !== entry.size) differ.push({ field: 'Size', index: idx.size, file: entry.size });
        if (differ.length > 0) {
          const detail = `index and package file disagree (${differ.map((d) => `${d.field} ${quote(d.index)} vs ${quote(d.file)}`).join(', ')}); using the package file`;
          warn('PACKAGE_INDEX_DISAGREES', path, detail, new IsosyncError('BAD_PACKAGE', `Cannot trust the index entry of ${quote(path)}: it ${detail.slice('index and package file '.length)}`, { path, differ }));
        }
      } else if (indexes.length > 0) {
        warn('PACKAGE_NOT_INDEXED', path, 'the package file is not listed in any index');
      }
      records.push({
        format: ctl.format, name: ctl.name, version: ctl.version, arch: ctl.arch,
        filename: path.slice(1), size: entry.size, sha256: idx && idx.size === entry.size ? idx.sha256 : undefined,
        origin: idx ? 'both' : 'file', control: ctl.stanza,
      });
    }
  }
  for (const p of indexed) {
    if (p.path !== undefined && covered.has(p.path)) continue;
    if (p.path !== undefined) covered.add(p.path);
    const present = p.path !== undefined && files.has(p.path);
    const partial = opts.wholeTree === false && p.path !== undefined;
    if (!present && !partial) warn('PACKAGE_MISSING', p.filename ?? '(no Filename)', `an index lists ${p.name} ${p.version} here, which the image lacks`);
    records.push({
      format: p.format, name: p.name, version: p.version, arch: p.arch,
      filename: present || partial ? p.path!.slice(1) : p.filename, size: p.size, sha256: p.sha256,
      origin: 'index', control: p.stanza,
    });
  }

  // One record per (format, name, arch): the highest version.
  const best = new Map<string, ImagePackage>();
  for (const r of records) {
    const k = packageKey(r);
    const held = best.get(k);
    if (!held) best.set(k, r);
    else if (held.version !== r.version) {
      const keep = compareVersions(r.format, r.version, held.version) > 0 ? r : held;
      warn('PACKAGE_TWICE', r.filename ?? r.name, `${r.name} (${r.arch}) appears as ${held.version} and ${r.version}; using ${keep.version}`);
      best.set(k, keep);
    }
  }
  const packages = [...best.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  return { packages, indexes, packageFiles, warnings };
}
