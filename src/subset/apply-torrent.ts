import type { Warning } from '../core/warnings.js';
/**
 * `isosync apply NEW.torrent (--from OLD.iso | --installed)`: the flat apt
 * repository of the packages an upgrade needs, built from a release torrent
 * without its image. Through a subset session (session.ts) it reads NEW's
 * package indexes, decides what changes against OLD's packages or against
 * what is installed (`upgrades`), reads the directories of just those
 * package files, builds and verifies their pieces (OLD and --source folders
 * first, the rest fetched) and writes the repository from them
 * (packages/write-repo.ts, as from an image).
 */
import { unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readIso, type IsoImage } from '../iso/index.js';
import type { ZstdDecoder } from '../packages/compression.js';
import { diffPackages, type PackageDiff } from '../packages/diff.js';
import { planRepo, type RepoPackage } from '../packages/flat-repo.js';
import { loadImagePackages } from '../packages/image-diff.js';
import type { ImagePackage } from '../packages/image-packages.js';
import { writeFlatRepo, type WrittenRepo } from '../packages/write-repo.js';
import { FileSource } from '../store/file-source.js';
import type { SyncInput } from '../sync/report.js';
import { choosePackages, type InstalledPackage } from './choose-packages.js';
import { getPartBase } from './get.js';
import { readPackageIndex } from './package-index.js';
import { contentSpans, piecesTouched } from './pieces.js';
import { SubsetSession } from './session.js';

export type ApplyBase = { readonly kind: 'image'; readonly path: string } | { readonly kind: 'installed'; readonly packages: readonly InstalledPackage[] };

export interface TorrentApplyInput extends Omit<SyncInput, 'output' | 'from'> {
  readonly repoDir: string;
  readonly base: ApplyBase;
  readonly zstd?: ZstdDecoder;
}

export interface TorrentApply {
  readonly diff: PackageDiff;
  readonly packages: readonly RepoPackage[];
  readonly written: WrittenRepo;
  readonly warnings: readonly Warning[];
  readonly fetchedBytes: number;
  readonly reusedBytes: number;
}

/** The upgrades of installed packages that `image` holds: each installed package the image has in a newer version. */
export function upgrades(installed: readonly InstalledPackage[], image: readonly ImagePackage[]): PackageDiff {
  const chosen = choosePackages(image, { installed });
  return {
    upgraded: chosen.flatMap((c) => (c.why.kind === 'upgrade' ? [{ name: c.pkg.name, arch: c.pkg.arch, from: c.why.from, to: c.pkg.version }] : [])),
    downgraded: [],
    added: [],
    removed: [],
  };
}

export async function repoFromTorrent(input: TorrentApplyInput): Promise<TorrentApply> {
  const { target } = input;
  const warnings: Warning[] = [];
  let diff: PackageDiff | undefined;
  const session = await SubsetSession.open({ ...input, from: input.base.kind === 'image' ? [input.base.path] : [], output: getPartBase(dirname(input.repoDir), basename(input.repoDir)) });
  try {
    const idx = await readPackageIndex(session, target.name, input.zstd);
    for (const w of idx.packages.warnings) warnings.push(w);
    if (input.base.kind === 'image') {
      const src = await FileSource.open(input.base.path);
      try {
        const old = await loadImagePackages({ src, name: input.base.path }, input.zstd);
        for (const w of old.packages.warnings) warnings.push(w);
        diff = diffPackages(old.packages.packages, idx.packages.packages);
      } finally {
        await src.close();
      }
    } else diff = upgrades(input.base.packages, idx.packages.packages);
    // The package files the repository needs: their directories, then their pieces.
    const needed = new Set([...diff.upgraded, ...diff.downgraded, ...diff.added].map((c) => `${c.name}\u0000${c.arch}`));
    const paths = idx.packages.packages.filter((p) => needed.has(`${p.name}\u0000${p.arch}`) && p.filename !== undefined).map((p) => `/${p.filename!.replace(/^\/+/, '')}`);
    const ancestors = new Set<string>();
    for (const p of paths) for (let d = p.slice(0, p.lastIndexOf('/')); d.length > 0; d = d.slice(0, d.lastIndexOf('/'))) ancestors.add(d);
    const image: IsoImage = await readIso(session, { name: target.name, descend: (dir) => ancestors.has(dir) });
    session.located();
    const present = new Set(image.entries.filter((e) => e.type === 'file').map((e) => e.path.slice(1)));
    // A package whose file the tree holds is known from both its index and its file (planRepo refuses index-only ones).
    const records: ImagePackage[] = idx.packages.packages.map((p) => (p.filename !== undefined && present.has(p.filename.replace(/^\/+/, '')) ? { ...p, origin: 'both' as const } : p));
    const packages = planRepo(diff, records, target.name);
    await session.mapFiles(image);
    const byPath = new Map(image.entries.map((e) => [e.path, e]));
    const spans = packages.flatMap((p) => contentSpans(byPath.get(p.imagePath)?.extents ?? [], image.logicalBlockSize));
    await session.ensure(piecesTouched(spans, target.pieceLength, target.length));
    const written = await writeFlatRepo(input.repoDir, session, image, packages);
    const stats = { ...session.stats };
    await session.close();
    await unlink(session.part.path).catch(() => undefined);
    return { diff, packages, written, warnings, fetchedBytes: stats.fetchedBytes, reusedBytes: stats.reusedBytes };
  } catch (e) {
    await session.close();
    throw e;
  }
}
