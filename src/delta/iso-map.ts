/**
 * Maps a target image's files onto local sources using ISO 9660 metadata
 * alone (what a client can do with a stock torrent isosync did not publish).
 *
 * Exact layer: each target file's content comes from
 *   1. a source image's file with the same path and size (`same-file` when
 *      it also sits at the same byte offset, else `moved-file`),
 *   2. else a source image's file with the same name and size elsewhere in
 *      its tree (`moved-file`),
 *   3. else a loose file (--source DIR) with the same name and size (`loose-file`).
 * "Exact" means: worth trusting before fetching; every piece is still
 * verified, and a piece that fails is fetched whole.
 *
 * Guess layers (alternatives tried per piece, in order): the zeros that pad
 * each file's last sector, then for everything not a file (system area,
 * unused sectors, boot areas) the same offset in each source image (zeros
 * past its end), and finally zeros. In a target grown from a source by an
 * appended session, the session's copy of the volume descriptors is left to
 * be fetched (it is new, and small).
 *
 * Pure: works on IsoImage values and sizes; no I/O.
 */
import type { Extent, IsoImage } from '../iso/entry.js';
import { fileTableOf, type FileTable } from '../iso/file-table.js';
import { SegmentList, ZERO_SOURCE, type LocalSegment } from './plan.js';
import { reasonCode } from './segments.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';

/** libisofs aligns a new session to 32 blocks (64 KiB at 2048 bytes per block). */
const SESSION_ALIGN_BLOCKS = 32;

export interface ImageSourceInfo {
  /** Index in the sync's source list. */
  readonly index: number;
  readonly image: IsoImage;
  readonly size: number;
}

/** A source image as mapIsoFiles reads it (an IsoImage, or what readPlanImage reads). */
export interface MapSourceInfo {
  readonly index: number;
  readonly image: IsoImage | MappedImage;
  readonly size: number;
}

export interface LooseFile {
  readonly index: number;
  readonly name: string;
  readonly size: number;
}

export interface IsoMapping {
  /** Exact segments: file content mapped to local files (columns: no object per file). */
  readonly exact: SegmentList;
  /** Guess layers, to try in order. */
  readonly guesses: SegmentList[];
  /** Target files whose content was found nowhere locally (path, size). */
  readonly missingFiles: { path: string; size: number }[];
  /** The extents of each of missingFiles (changed-files.ts missingFetchReport). */
  readonly missingExtents: (readonly Extent[])[];
  /** Target file content spans (for reports: which bytes belong to files). */
  readonly fileSpans: Span[];
  /**
   * The mapping of files that hold nested images (`nestedContainers`): their
   * nested files are mapped one by one, so the whole-file mapping is only a
   * guess for what those leave (the container's own metadata).
   */
  readonly containerGuesses: SegmentList;
}

/** Image bytes of a file's content and the file offset they hold. */
interface FileSpan extends Span {
  readonly fileOffset: number;
}

/** What mapIsoFiles reads of an image: its files with content (FileTable, in path order) and a few facts. */
export interface MappedImage {
  readonly logicalBlockSize: number;
  readonly imageBytes: number;
  readonly descriptors: { readonly length: number };
  readonly rootLba: number;
  readonly files: FileTable;
}

/** An IsoImage as mapIsoFiles reads it (its entries' files put in a FileTable). */
export function mappedImageOf(img: IsoImage | MappedImage): MappedImage {
  if ('files' in img) return img;
  return { logicalBlockSize: img.logicalBlockSize, imageBytes: img.imageBytes, descriptors: img.descriptors, rootLba: img.entries.find((e) => e.path === '/')?.lba ?? 0, files: fileTableOf(img.entries) };
}

function contentSpans(t: FileTable, i: number, blockSize: number): FileSpan[] {
  const many = t.extentsOf(i);
  if (many === undefined) {
    const start = t.lba(i) * blockSize;
    return [{ start, end: start + t.size(i), fileOffset: 0 }];
  }
  const out: FileSpan[] = [];
  let fileOffset = 0;
  for (const x of many) {
    if (x.size <= 0) continue;
    const start = x.lba * blockSize;
    out.push({ start, end: start + x.size, fileOffset });
    fileOffset += x.size;
  }
  return out;
}

const SAME_FILE = reasonCode('same-file');
const MOVED_FILE = reasonCode('moved-file');
const LOOSE_FILE = reasonCode('loose-file');
const SAME_OFFSET = reasonCode('same-offset');

/** Growable [start, end) pairs, merged at the end (mergeSpans' result: overlapping and touching pairs joined, empty ones gone). */
class Pairs {
  private starts = new Float64Array(64);
  private ends = new Float64Array(64);
  private n = 0;

  push(start: number, end: number): void {
    if (end <= start) return;
    if (this.n === this.starts.length) {
      const s = new Float64Array(this.n * 2);
      s.set(this.starts);
      this.starts = s;
      const e = new Float64Array(this.n * 2);
      e.set(this.ends);
      this.ends = e;
    }
    this.starts[this.n] = start;
    this.ends[this.n++] = end;
  }

  /** The union, merged. Starts and ends are sorted apart: a union is where more have started than ended. */
  union(): Span[] {
    const n = this.n;
    const starts = this.starts.subarray(0, n).sort();
    const ends = this.ends.subarray(0, n).sort();
    const out: Span[] = [];
    let depth = 0;
    let from = 0;
    for (let i = 0, j = 0; j < n; ) {
      // A start at an end's offset comes first: touching pairs join.
      if (i < n && starts[i]! <= ends[j]!) {
        if (depth++ === 0) from = starts[i]!;
        i++;
      } else {
        if (--depth === 0) out.push({ start: from, end: ends[j]! });
        j++;
      }
    }
    return out;
  }
}

/**
 * Which files share their first block with a file before them (hard links, xorriso's shared content: such an extent
 * is mapped once, for its first file in path order); undefined when none do. Blocks sorted with their file's index
 * (block * count + index, exact below 2^53), not a set of every block.
 */
function sharedExtents(t: FileTable): Uint8Array | undefined {
  const n = t.count;
  let out: Uint8Array | undefined;
  if (n * 2 ** 32 >= 2 ** 53) {
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (seen.has(t.lba(i))) (out ??= new Uint8Array(n))[i] = 1;
      else seen.add(t.lba(i));
    }
    return out;
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = t.lba(i) * n + i;
  keys.sort();
  // Integers below 2^53: % and the division of what is left are exact.
  let prev = -1;
  for (let k = 0; k < n; k++) {
    const i = keys[k]! % n;
    const lba = (keys[k]! - i) / n;
    if (lba === prev) (out ??= new Uint8Array(n))[i] = 1;
    prev = lba;
  }
  return out;
}

/** Source byte offset of a file's byte `fileOffset` (files may have several extents). */
function sourceOffsetOf(spans: FileSpan[], fileOffset: number): { offset: number; room: number } | undefined {
  for (const s of spans) {
    const len = s.end - s.start;
    if (fileOffset >= s.fileOffset && fileOffset < s.fileOffset + len) {
      const into = fileOffset - s.fileOffset;
      return { offset: s.start + into, room: len - into };
    }
  }
  return undefined;
}

/** First loose file per (name, size). */
class BySize<T extends { readonly size: number }> {
  private readonly map = new Map<string, T | T[]>();
  add(key: string, v: T): void {
    const have = this.map.get(key);
    if (have === undefined) this.map.set(key, v);
    else if (Array.isArray(have)) {
      if (!have.some((x) => x.size === v.size)) have.push(v);
    } else if (have.size !== v.size) this.map.set(key, [have, v]);
  }
  get(key: string, size: number): T | undefined {
    const have = this.map.get(key);
    if (have === undefined || !Array.isArray(have)) return have?.size === size ? have : undefined;
    return have.find((x) => x.size === size);
  }
}

/** One source image's files (its FileTable answers by path and by name: the first file of each name and size, in path order). */
interface SourceFiles {
  readonly index: number;
  readonly blockSize: number;
  readonly files: FileTable;
}

/** A target file's content in the sources: the first image with the same path and size, else the first with the same name and size. */
function candidateOf(sources: readonly SourceFiles[], dir: string, name: string, size: number): { src: SourceFiles; file: number } | undefined {
  const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
  for (const src of sources) {
    const file = src.files.findPath(path, size);
    if (file >= 0) return { src, file };
  }
  for (const src of sources) {
    const file = src.files.findName(name, size);
    if (file >= 0) return { src, file };
  }
  return undefined;
}

/** How one target file is found locally; `container`: its nested files are reported one by one. */
interface FileMatch {
  readonly cand?: { src: SourceFiles; file: number };
  readonly loose?: LooseFile;
  readonly container: boolean;
}

/**
 * The per-file decision mapIsoFiles and missingIsoFiles share: a source image's file (by path, then by name,
 * with the same size), else a container left to the nested report, else a loose file of the same name and size.
 * A file that none of these finds is missing.
 */
class FileMatcher {
  readonly sources: SourceFiles[];
  private readonly looseByName = new BySize<LooseFile>();

  constructor(sourceImages: readonly MapSourceInfo[], loose: readonly LooseFile[], private readonly nestedContainers: ReadonlySet<string>) {
    this.sources = sourceImages.map((s) => {
      const m = mappedImageOf(s.image);
      return { index: s.index, blockSize: m.logicalBlockSize, files: m.files };
    });
    for (const f of loose) this.looseByName.add(f.name, f);
  }

  match(t: FileTable, i: number): FileMatch {
    const size = t.size(i);
    const name = t.name(i);
    const container = this.nestedContainers.size > 0 && this.nestedContainers.has(t.path(i));
    const cand = candidateOf(this.sources, t.dirPath(i), name, size);
    if (cand || container) return { cand, container };
    return { loose: this.looseByName.get(name, size), container };
  }
}

/**
 * `target` and the sources' images: IsoImages, or what readPlanImage (iso/plan-image.ts) reads, which keeps
 * no entry per file. The result is the same.
 */
export function mapIsoFiles(targetImage: IsoImage | MappedImage, sourceImages: readonly MapSourceInfo[], loose: readonly LooseFile[] = [], nestedContainers: ReadonlySet<string> = new Set()): IsoMapping {
  const target = mappedImageOf(targetImage);
  const sources = sourceImages.map((s) => ({ index: s.index, size: s.size }));
  const bs = target.logicalBlockSize;
  const matcher = new FileMatcher(sourceImages, loose, nestedContainers);

  const fileExact = new SegmentList();
  const containerGuesses = new SegmentList(16);
  const padding = new SegmentList();
  const missingFiles: { path: string; size: number }[] = [];
  const missingExtents: (readonly Extent[])[] = [];
  // File content and padding as [start, end) pairs (no Span per file), merged once all are in.
  const fileBounds = new Pairs();
  const paddedBounds = new Pairs();
  const t = target.files;
  const shared = sharedExtents(t);
  const zero = reasonCode('zero');
  for (let i = 0; i < t.count; i++) {
    const size = t.size(i);
    const tspans = contentSpans(t, i, bs);
    for (const x of tspans) {
      fileBounds.push(x.start, x.end);
      const padEnd = Math.ceil(x.end / bs) * bs;
      paddedBounds.push(x.start, padEnd);
      if (padEnd > x.end) padding.push(x.end, padEnd, ZERO_SOURCE, 0, zero);
    }
    // Hard links and xorriso's shared content: map each extent once.
    if (shared?.[i]) continue;
    const { cand, loose: lf, container } = matcher.match(t, i);
    const exact = container ? containerGuesses : fileExact;
    if (cand) {
      const candSpans = contentSpans(cand.src.files, cand.file, cand.src.blockSize);
      for (const x of tspans) {
        let at = x.start;
        while (at < x.end) {
          const src = sourceOffsetOf(candSpans, x.fileOffset + (at - x.start));
          if (!src) break;
          const len = Math.min(src.room, x.end - at);
          exact.push(at, at + len, cand.src.index, src.offset, src.offset === at ? SAME_FILE : MOVED_FILE);
          at += len;
        }
      }
      continue;
    }
    if (container) continue; // its nested files are reported one by one
    if (lf) {
      for (const x of tspans) exact.push(x.start, x.end, lf.index, x.fileOffset, LOOSE_FILE);
      continue;
    }
    missingFiles.push({ path: t.path(i), size });
    missingExtents.push(t.extents(i));
  }

  // Everything that is not file content nor padding: guess same offset, then zeros.
  const whole: Span[] = [{ start: 0, end: target.imageBytes }];
  let notFiles = subtractSpans(whole, paddedBounds.union());
  // A target grown from a source (a session appended by libisofs/xorriso) starts its new
  // session at the source's end rounded up to 32 blocks, with a copy of its volume
  // descriptors 16 blocks in: those few blocks are new, so fetch them rather than guess.
  const sessionDescriptors: Span[] = [];
  const rootLba = target.rootLba;
  for (const src of sources) {
    if (target.imageBytes <= src.size || rootLba * bs < src.size) continue;
    const session = Math.ceil(src.size / (SESSION_ALIGN_BLOCKS * bs)) * SESSION_ALIGN_BLOCKS * bs;
    const start = session + 16 * bs;
    sessionDescriptors.push({ start, end: Math.min(target.imageBytes, start + target.descriptors.length * bs) });
  }
  notFiles = subtractSpans(notFiles, mergeSpans(sessionDescriptors));
  const guesses: SegmentList[] = [];
  for (const src of sources) {
    // Same offset where the source has bytes, zeros past its end.
    const same = new SegmentList(padding.length + notFiles.length + 1);
    same.append(padding);
    const beyond: Span[] = [];
    for (const s of notFiles) {
      const end = Math.min(s.end, src.size);
      if (end > s.start) same.push(s.start, end, src.index, s.start, SAME_OFFSET);
      if (s.end > Math.max(s.start, src.size)) beyond.push({ start: Math.max(s.start, src.size), end: s.end });
    }
    for (const s of beyond) same.push(s.start, s.end, ZERO_SOURCE, 0, zero);
    guesses.push(same);
  }
  const last = new SegmentList(padding.length + notFiles.length + 1);
  last.append(padding);
  for (const s of notFiles) last.push(s.start, s.end, ZERO_SOURCE, 0, zero);
  guesses.push(last);
  return { exact: fileExact, guesses, missingFiles, missingExtents, fileSpans: fileBounds.union(), containerGuesses };
}

/**
 * mapIsoFiles' missingFiles and missingExtents alone, as the changed-files report after a sync reads them
 * (sync/changed-files.ts): the same decision per file (FileMatcher; shared extents skipped), without the
 * segments, spans and guesses it does not use.
 */
export function missingIsoFiles(targetImage: IsoImage | MappedImage, sourceImages: readonly MapSourceInfo[], loose: readonly LooseFile[] = [], nestedContainers: ReadonlySet<string> = new Set()): Pick<IsoMapping, 'missingFiles' | 'missingExtents'> {
  const t = mappedImageOf(targetImage).files;
  const matcher = new FileMatcher(sourceImages, loose, nestedContainers);
  const shared = sharedExtents(t);
  const missingFiles: { path: string; size: number }[] = [];
  const missingExtents: (readonly Extent[])[] = [];
  for (let i = 0; i < t.count; i++) {
    if (shared?.[i]) continue;
    const m = matcher.match(t, i);
    if (m.cand || m.container || m.loose) continue;
    missingFiles.push({ path: t.path(i), size: t.size(i) });
    missingExtents.push(t.extents(i));
  }
  return { missingFiles, missingExtents };
}

/** Same-offset reuse for a target whose layout is unknown (not an ISO, metadata unavailable). */
export function sameOffsetGuesses(length: number, sources: readonly { index: number; size: number }[]): LocalSegment[][] {
  return sources.map((s) => {
    const end = Math.min(length, s.size);
    return end > 0 ? [{ start: 0, end, source: s.index, sourceOffset: 0, reason: 'same-offset' as const }] : [];
  });
}
