/**
 * The changed-files part of a plan report: the target's files (and the
 * files inside its nested images) found nowhere locally, with the bytes of
 * each that the plan fetches.
 */
import { basename } from 'node:path';
import { clipSpans, spanBytes, type Span } from '../core/span.js';
import { missingIsoFiles, type ImageSourceInfo, type IsoMapping, type LooseFile } from '../delta/iso-map.js';
import { mapNestedFiles, type NestedChange } from '../delta/nested-map.js';
import type { Plan } from '../delta/plan.js';
import { readIso } from '../iso/index.js';
import type { IsoImage } from '../iso/entry.js';
import { readPlanImage, type PlanImage } from '../iso/plan-image.js';
import { WindowSource } from '../iso/read-window.js';
import { espPartitions } from '../layouts/nested.js';
import { BlockCache } from '../store/block-cache.js';
import type { ByteSource } from '../store/byte-source.js';
import { FileSource } from '../store/file-source.js';
import { nestedImagesOf } from './nested-plan.js';
import { mayBeImageFile, sourceIsos, type PlanSourceInfo } from './plan-images.js';
import type { PlanReport } from './report.js';
import type { LocalSource } from './sources.js';

/**
 * Nested metadata is many small reads all over an image (EROFS keeps each inode beside its file's data):
 * walked through small cached blocks, as planning does (sync/prepare.ts), not the 256 KiB blocks of piece
 * filling, each of which a walk loads for a few bytes (on the EROFS bench pair's hinted sync: 9.5 -> 5.0 s of
 * CPU, 203 -> 168 MiB).
 */
const WALK_BLOCK_BYTES = 4096;
const WALK_BLOCKS = 4096;

function walkSource(s: LocalSource): ByteSource | undefined {
  return s.kind === 'image' ? new BlockCache(s.source, WALK_BLOCK_BYTES, WALK_BLOCKS, true) : undefined;
}

/**
 * The changed-files report of a sync whose plan did not read the target's
 * metadata (PrepareOptions.deferHintedMetadata): read from the finished
 * image, which is local now. Null when the image or no source reads as ISO 9660.
 *
 * Read as planning reads images (plan-images.ts): the target's and the
 * sources' files into columns (iso/plan-image.ts) through one reused window
 * each (iso/read-window.ts), no IsoEntry per file, only the tree that lists
 * the entries (otherTree: false); the files are mapped from those columns.
 * Only a target that may hold nested images (mayHoldNested's test, on the
 * image itself: every byte is here and verified) is read again as
 * IsoImages, with its sources, for the files inside its nested images. On
 * the DVD bench pair (no nested image) a client's report went from
 * 0.41 s of CPU (two IsoImages with every Rock Ridge field) to the columns'.
 * Only the missing files are worked out (delta/iso-map.ts missingIsoFiles),
 * not the whole file map planning needs (segments, spans, guesses).
 */
export async function changedFilesAfter(output: string, p: { sources: readonly LocalSource[]; byteSources: readonly (ByteSource | undefined)[]; plan: Plan }): Promise<PlanReport['changedFiles']> {
  const image = await FileSource.open(output);
  try {
    const target = await readPlanImage(new WindowSource(image), { name: basename(output), otherTree: false, flagFile: mayBeImageFile });
    const planInfos: PlanSourceInfo[] = [];
    for (const [i, s] of p.sources.entries()) {
      if (s.kind !== 'image') continue;
      try {
        planInfos.push({ index: i, image: await readPlanImage(new WindowSource(s.source), { name: s.path, otherTree: false }), size: s.source.size, path: s.path });
      } catch {
        // Not ISO 9660: it maps no files (it was used through its hints).
      }
    }
    if (planInfos.length === 0) return null;
    const loose: LooseFile[] = p.sources.flatMap((s, i) => (s.kind === 'loose' ? [{ index: i, name: s.name, size: s.size }] : []));
    if (!(await mayNest(target, image))) return missingFetchReport(target.logicalBlockSize, missingIsoFiles(target, planInfos, loose), p.plan.fetch);
    return await nestedChangedFiles(output, image, p, await sourceIsos(planInfos, p.byteSources), loose);
  } catch {
    return null;
  } finally {
    await image.close();
  }
}

/** mayHoldNested (plan-images.ts) for a finished image: the same test, its partition table read from the image. */
async function mayNest(img: PlanImage, image: ByteSource): Promise<boolean> {
  return img.flagged || (img.boot?.entries ?? []).some((b) => b.platform === 0xef) || (await espPartitions(image)).length > 0;
}

/** The report of a target that may hold nested images: its files and those inside its nested images, from IsoImages. */
async function nestedChangedFiles(output: string, image: ByteSource, p: { sources: readonly LocalSource[]; byteSources: readonly (ByteSource | undefined)[]; plan: Plan }, infos: readonly ImageSourceInfo[], loose: readonly LooseFile[]): Promise<PlanReport['changedFiles']> {
  if (infos.length === 0) return null;
  const targetIso = await readIso(new BlockCache(image), { name: basename(output), otherTree: false });
  const quiet = () => undefined;
  const targetNested = await nestedImagesOf(new BlockCache(image, WALK_BLOCK_BYTES, WALK_BLOCKS, true), targetIso, quiet);
  if (targetNested.length === 0) return changedFileReport(targetIso, missingIsoFiles(targetIso, infos, loose).missingFiles, p.plan.fetch);
  const sourceNested = [];
  for (const info of infos) sourceNested.push({ index: info.index, nested: await nestedImagesOf(walkSource(p.sources[info.index]!) ?? p.byteSources[info.index]!, info.image, quiet) });
  const nm = mapNestedFiles(targetNested, sourceNested);
  const missing = missingIsoFiles(targetIso, infos, loose, nm.containers).missingFiles;
  return [...changedFileReport(targetIso, missing, p.plan.fetch), ...nestedChangeReport(nm.changed, p.plan.fetch)];
}

/** For each target file found nowhere locally: how many of its bytes the plan fetches (binary search over sorted fetch spans). */
export function changedFileReport(img: IsoImage, missing: readonly { path: string; size: number }[], fetch: readonly Span[]): { path: string; size: number; fetchBytes: number }[] {
  const byPath = new Map(img.entries.map((e) => [e.path, e]));
  return missing.map((f) => {
    let fetchBytes = 0;
    for (const x of byPath.get(f.path)?.extents ?? []) {
      const a = x.lba * img.logicalBlockSize;
      fetchBytes += spanBytes(clipSpans(fetch, a, a + x.size, true));
    }
    return { ...f, fetchBytes };
  });
}

/** changedFileReport from the mapping's own extents of each missing file (no entry of the image is kept). */
export function missingFetchReport(blockSize: number, mapping: Pick<IsoMapping, 'missingFiles' | 'missingExtents'>, fetch: readonly Span[]): { path: string; size: number; fetchBytes: number }[] {
  return mapping.missingFiles.map((f, i) => {
    let fetchBytes = 0;
    for (const x of mapping.missingExtents[i]!) {
      const a = x.lba * blockSize;
      fetchBytes += spanBytes(clipSpans(fetch, a, a + x.size, true));
    }
    return { ...f, fetchBytes };
  });
}

/** Nested files found nowhere locally (whole), with the bytes of them the plan fetches. */
export function nestedChangeReport(changed: readonly NestedChange[], fetch: readonly Span[]): { path: string; size: number; fetchBytes: number }[] {
  return changed.map((c) => {
    let fetchBytes = 0;
    for (const u of c.unmapped) fetchBytes += spanBytes(clipSpans(fetch, u.start, u.end, true));
    return { path: c.path, size: c.size, fetchBytes };
  });
}
