/**
 * Diff of two images: their package sets (image-packages.ts) through
 * diffPackages, plus their changed non-package files.
 *
 * Takes ByteSources, so either side may be a partly present image (a torrent
 * whose metadata pieces were fetched): pass `readPackageFiles: false` then,
 * and the diff uses the indexes only. Content comparison streams both files
 * chunk by chunk and stops at the first difference.
 */
import { readEntryChunks, readIso, type IsoEntry, type IsoImage } from '../iso/index.js';
import type { Warning } from '../core/warnings.js';
import type { ByteSource } from '../store/byte-source.js';
import type { ZstdDecoder } from './compression.js';
import { changedFiles, diffPackages, type ImageDiff } from './diff.js';
import { scanImagePackages, type ImagePackages } from './image-packages.js';
import { livePackages } from './live-packages.js';

export interface DiffSide {
  readonly src: ByteSource;
  readonly name: string;
  /** Default true: read every package file's control fields (needs the package files present). */
  readonly readPackageFiles?: boolean;
}

export interface ImageDiffResult {
  readonly diff: ImageDiff;
  readonly old: { image: IsoImage; packages: ImagePackages };
  readonly new: { image: IsoImage; packages: ImagePackages };
  /** Warnings of both sides (each names its image in its source). */
  readonly warnings: Warning[];
}

/** Whether two entries of two images hold the same bytes (sizes already equal). */
export async function sameEntryContent(a: ByteSource, ea: IsoEntry, aBlock: number, b: ByteSource, eb: IsoEntry, bBlock: number): Promise<boolean> {
  const CHUNK = 256 * 1024; // bounded memory per comparison
  const ia = readEntryChunks(a, ea, CHUNK, aBlock);
  const ib = readEntryChunks(b, eb, CHUNK, bBlock);
  for (;;) {
    const [x, y] = await Promise.all([ia.next(), ib.next()]);
    if (x.done || y.done) return x.done === y.done;
    if (Buffer.compare(x.value, y.value) !== 0) {
      await Promise.all([ia.return(undefined), ib.return(undefined)]);
      return false;
    }
  }
}

export async function loadImagePackages(side: DiffSide, zstd?: ZstdDecoder): Promise<{ image: IsoImage; packages: ImagePackages }> {
  const image = await readIso(side.src, { name: side.name });
  const packages = await scanImagePackages(side.src, image, { name: side.name, readPackageFiles: side.readPackageFiles, zstd });
  // A live image has no pool: its packages are those its root filesystem's dpkg status lists.
  if (packages.packages.length === 0 && packages.indexes.length === 0) {
    const live = await livePackages(side.src, image, side.name);
    if (live.source) return { image, packages: { ...packages, packages: live.packages, indexes: [live.source], warnings: [...packages.warnings, ...live.warnings] } };
    return { image, packages: { ...packages, warnings: [...packages.warnings, ...live.warnings] } };
  }
  return { image, packages };
}

export async function diffImages(oldSide: DiffSide, newSide: DiffSide, opts: { zstd?: ZstdDecoder | undefined } = {}): Promise<ImageDiffResult> {
  const o = await loadImagePackages(oldSide, opts.zstd);
  const n = await loadImagePackages(newSide, opts.zstd);
  const plain = (side: { image: IsoImage; packages: ImagePackages }): IsoEntry[] =>
    side.image.entries.filter((e) => e.type === 'file' && !side.packages.packageFiles.has(e.path));
  const oldFiles = plain(o);
  const newFiles = plain(n);
  const oldByPath = new Map(oldFiles.map((e) => [e.path, e]));
  const newByPath = new Map(newFiles.map((e) => [e.path, e]));
  const files = await changedFiles(oldFiles, newFiles, (path) =>
    sameEntryContent(oldSide.src, oldByPath.get(path)!, o.image.logicalBlockSize, newSide.src, newByPath.get(path)!, n.image.logicalBlockSize));
  const diff: ImageDiff = { ...diffPackages(o.packages.packages, n.packages.packages), changedFiles: files };
  const warnings = [...o.packages.warnings, ...n.packages.warnings];
  return { diff, old: o, new: n, warnings };
}
