/**
 * The nested step of planning a sync (wiring only; the decisions are in
 * src/delta/nested-map.ts and src/layouts/): reads the target's nested
 * images (squashfs, EROFS, FAT inside the ISO) through a CheckedTarget, so
 * their metadata costs only the bytes not already local, reads the sources'
 * nested images from disk, and maps target nested files onto source ones.
 */
import type { IsoImage } from '../iso/entry.js';
import { IsosyncError } from '../errors.js';
import { CheckedTarget, type PieceTarget } from '../delta/checked-target.js';
import type { ImageSourceInfo, IsoMapping } from '../delta/iso-map.js';
import { CHANGED_BLOCK_HEADER, mapNestedFiles, type NestedMapping, type NestedSource } from '../delta/nested-map.js';
import { startsXzStream } from '../delta/probe.js';
import { overlay, SegmentList, ZERO_SOURCE, type LocalSegment } from '../delta/plan.js';
import { reasonCode } from '../delta/segments.js';
import { mergeBounds, subtractSpans } from '../core/span.js';
import { giveBack } from '../core/give-back.js';
import { isoLayout } from '../layouts/iso-layout.js';
import { SpanTable, usedBounds } from '../layouts/layout.js';
import { DEFAULT_NEST, espPartitions, findNested, mayBeImage, outerCandidates, type NestedImage } from '../layouts/nested.js';
import type { ByteSource } from '../store/byte-source.js';
import { reencodeChangedClusters } from '../delta/reencoded-clusters.js';
import { ChainPool } from '../delta/reencode-pool.js';
import type { ReencodedStore } from '../delta/reencoded-store.js';
import { shiftRawFiles } from '../delta/shifted-raw.js';
import { YieldingSource } from './yielding-source.js';

/** xz's stream magic. */
const XZ_MAGIC_BYTES = 6;
/** How long a source's nested walk runs before the target's walk beside it gets a turn (as prepare.ts's ISO walk). */
const SOURCE_WALK_SLICE_MS = 4;

export interface NestedPlan {
  readonly mapping: NestedMapping;
  /** Candidate segments whose pieces verified while reading the target's nested metadata: exact. */
  readonly verified: LocalSegment[];
  /**
   * A guess for the bytes of each container that are neither metadata nor
   * file data of its nested image (free clusters of a FAT image, the padding
   * after a squashfs): zeros. Columns: about one per EROFS inode.
   */
  readonly freeGuesses: SegmentList;
  /** Changed lz4hc EROFS clusters compressed again from the old files' bytes (a first-layer guess). */
  readonly reencoded: LocalSegment[];
}

/**
 * Outer-image [start, end) pairs of a depth-1 nested image that hold neither metadata nor stored file data, added to
 * `out` (pairs, not spans: an EROFS image has a gap or more per inode).
 */
function freeBounds(img: NestedImage, containerBytes: number, out: number[]): void {
  const merged = usedBounds(img.layout);
  const gap = (start: number, end: number) => {
    if (end <= start) return;
    // One run (the usual case): no span list per gap (about one gap per EROFS inode).
    if (img.base !== undefined) out.push(start + img.base, end + img.base);
    else for (const x of img.toImage(start, end)) out.push(x.start, x.end);
  };
  let at = 0;
  for (let k = 0; k < merged.length && at < containerBytes; k += 2) {
    gap(at, Math.min(merged[k]!, containerBytes));
    at = Math.max(at, merged[k + 1]!);
  }
  gap(at, containerBytes);
  giveBack(merged, true);
}

/**
 * Changed-block guesses of xz blocks start at the block itself rather than CHANGED_BLOCK_HEADER bytes into it:
 * the sampler (delta/probe.ts `xzHeaders`) knows which of the header bytes differ, and takes them with the
 * first sample of the data in one range, where a guess after the header left the header to be fetched
 * apart (one more part of a multipart reply, some 120 bytes of framing, per changed block) and kept the
 * stream header and the data's first bytes from being guessed.
 *
 * The magic is read through the small blocks of the nested walk (`sources`: 4 KiB), every block at once: read one
 * after the other through the 256 KiB blocks of piece filling, the live bench pair's 182 changed blocks cost 47 MB
 * of reads in a row (0.1-0.25 s of planning under load) for 6 bytes each.
 */
async function fromXzBlockStart(guesses: readonly LocalSegment[], sources: readonly (ByteSource | undefined)[]): Promise<LocalSegment[]> {
  return Promise.all(
    guesses.map(async (g) => {
      const src = sources[g.source];
      const at = g.sourceOffset - CHANGED_BLOCK_HEADER;
      const xz = src !== undefined && at >= 0 && startsXzStream(await src.read(at, XZ_MAGIC_BYTES));
      return xz ? { ...g, start: g.start - CHANGED_BLOCK_HEADER, sourceOffset: at } : g;
    }),
  );
}

/**
 * A source's nested image without its metadata spans: only a target's free space is computed from them (freeBounds),
 * and an EROFS layout keeps about one span per inode (16 bytes an entry, held with the layout to the end of planning).
 */
function withoutMetadata(img: NestedImage): NestedImage {
  giveBack(img.layout.metadata.pairs());
  return { ...img, layout: { ...img.layout, metadata: SpanTable.EMPTY } };
}

/** Nested images of an ISO read through `src` (its layout, its El Torito EFI images and ESP partitions). */
export async function nestedImagesOf(src: ByteSource, iso: IsoImage, note: (m: string) => void): Promise<NestedImage[]> {
  // No file named like an image, no EFI boot image, no ESP partition: nothing to sniff, so no layout
  // of every file (a file table and the region map) is built for a plain package image.
  const boot = iso.boot?.entries ?? [];
  if (!boot.some((b) => b.platform === 0xef) && !iso.entries.some((e) => mayBeImage({ type: e.type, size: e.size, path: e.path, raw: true })) && (await espPartitions(src)).length === 0) return [];
  const outer = isoLayout(iso, src);
  const extra = await outerCandidates(src, outer, iso.boot?.entries ?? [], iso.logicalBlockSize);
  return findNested(src, outer, { ...DEFAULT_NEST, note }, extra);
}

/** Undefined when the target has no nested image. */
export async function planNested(
  target: PieceTarget,
  targetIso: IsoImage,
  vt: ByteSource,
  isoMapping: IsoMapping,
  sources: readonly ImageSourceInfo[],
  byteSources: readonly (ByteSource | undefined)[],
  note: (m: string) => void,
  /**
   * Sources to walk nested metadata through (small cached blocks: EROFS spreads inodes over the whole image); default
   * byteSources. Given as a function, they are made here and dropped when planning returns: a walk's cache holds up to
   * a few MiB, which the caller's frame kept alive while it built the plan.
   */
  walkWith: readonly (ByteSource | undefined)[] | (() => readonly (ByteSource | undefined)[]) = byteSources,
  /** Where re-encoded EROFS clusters are kept (a local source of its own, at `index` in byteSources). */
  reencode?: { readonly store: ReencodedStore; readonly index: number },
): Promise<NestedPlan | undefined> {
  const candidates = overlay(target.length, [isoMapping.exact, isoMapping.guesses[0] ?? []]);
  const checked = new CheckedTarget(target, candidates, byteSources, vt);
  const walkSources = typeof walkWith === 'function' ? walkWith() : walkWith;
  // The sources' walks (local reads and CPU) run while the target's waits for the network.
  const walked = (async () => {
    const out: NestedSource[] = [];
    for (const s of sources) {
      const src = walkSources[s.index] ?? byteSources[s.index];
      // With turns for the target's walk, whose replies would otherwise wait for this whole walk (yielding-source.ts).
      if (src) out.push({ index: s.index, nested: (await nestedImagesOf(new YieldingSource(src, SOURCE_WALK_SLICE_MS), s.image, note)).map(withoutMetadata) });
    }
    return out;
  })();
  // An old image holding an EROFS: the chain worker starts and warms up while the target's walk goes on (a core free now).
  const early = reencode ? walked.then((ns) => (ns.some((s) => s.nested.some((n) => n.layout.format === 'erofs')) ? ChainPool.startAhead() : undefined)).catch(() => undefined) : undefined;
  // Ended without waiting (on an error, the source walk may still be running): an unreferenced thread keeps nothing alive.
  const dropEarly = (): void => void early?.then((p) => p?.close());
  const [targetImages, nestedSources] = await Promise.all([nestedImagesOf(checked, targetIso, note), walked]).catch((e: unknown) => {
    dropEarly();
    throw e;
  });
  if (targetImages.length === 0) {
    dropEarly();
    return undefined;
  }
  const mapped = mapNestedFiles(targetImages, nestedSources);
  const sourcesWithBytes = nestedSources.flatMap((s) => (byteSources[s.index] ? [{ nested: s.nested, bytes: byteSources[s.index]!, index: s.index }] : []));
  // Changed files stored raw (a FAT image's loader): stretches of the old file at shifted offsets, not its changed-block guess.
  // A failed read there only loses these guesses (the file is fetched like any other). Its requests run while the
  // changed blocks' magics are read locally.
  const [shifted, fromStart] = await Promise.all([
    shiftRawFiles({ targets: targetImages, sources: sourcesWithBytes, target: checked }).catch((e: unknown) => {
      if (e instanceof IsosyncError && e.code === 'CANCELLED') throw e;
      return { files: 0, segments: [], covered: [] };
    }),
    fromXzBlockStart(mapped.changedBlocks, byteSources.map((b, i) => walkSources[i] ?? b)),
  ]).catch((e: unknown) => {
    dropEarly();
    throw e;
  });
  const changedBlocks = shifted.files > 0 ? fromStart.filter((g) => subtractSpans([g], shifted.covered).length > 0) : fromStart;
  mapped.exact.append(shifted.segments);
  const mapping = { ...mapped, changedBlocks };
  let reencoded: LocalSegment[] = [];
  if (reencode) {
    try {
      const r = await reencodeChangedClusters({ targets: targetImages, sources: sourcesWithBytes, target: checked, store: reencode.store, storeIndex: reencode.index, ...(early ? { pool: early } : {}) });
      reencoded = r.guesses;
      if (r.files > 0) note(`EROFS: ${r.kept} changed clusters of ${r.files} files compressed again from the old files' bytes (${r.resynced} of them the old files' own clusters, shifted; ${r.fetched} clusters fetched while planning to find the edits)`);
    } catch (e) {
      // A failed read there only loses these guesses: the clusters are fetched like any other.
      if (e instanceof IsosyncError && e.code === 'CANCELLED') throw e;
      note(`EROFS: changed clusters not compressed again (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const sizes = new Map(targetIso.entries.map((e) => [e.path, e.size]));
  const free: number[] = [];
  for (const img of targetImages) if (img.depth === 1) freeBounds(img, sizes.get(img.path) ?? img.layout.size, free);
  const freeSorted = mergeBounds(free);
  // Free space is zeros as the tools write it (mkfs.vfat, mksquashfs's padding): a rollback's source
  // may hold data where the target's free clusters are, so zeros beat the old container's bytes.
  const freeGuesses = new SegmentList(freeSorted.length >> 1);
  for (let k = 0; k < freeSorted.length; k += 2) freeGuesses.push(freeSorted[k]!, freeSorted[k + 1]!, ZERO_SOURCE, 0, reasonCode('zero'));
  giveBack(freeSorted, true);
  // The nested images (their file tables: some 60 bytes an entry) are not returned: they go before the plan is built.
  return { mapping, verified: checked.verifiedSegments(), freeGuesses, reencoded };
}
