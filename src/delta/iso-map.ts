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
import { ZERO_SOURCE, type LocalSegment } from './plan.js';
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
  /** Exact segments: file content mapped to local files. */
  readonly exact: LocalSegment[];
  /** Guess layers, to try in order. */
  readonly guesses: LocalSegment[][];
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
  readonly containerGuesses: LocalSegment[];
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

/**
 * `target` and the sources' images: IsoImages, or what readPlanImage (iso/plan-image.ts) reads, which keeps
 * no entry per file. The result is the same.
 */
export function mapIsoFiles(targetImage: IsoImage | MappedImage, sourceImages: readonly MapSourceInfo[], loose: readonly LooseFile[] = [], nestedContainers: ReadonlySet<string> = new Set()): IsoMapping {
  const target = mappedImageOf(targetImage);
  const sources = sourceImages.map((s) => ({ index: s.index, size: s.size }));
  const bs = target.logicalBlockSize;
  const files: SourceFiles[] = sourceImages.map((s) => {
    const m = mappedImageOf(s.image);
    return { index: s.index, blockSize: m.logicalBlockSize, files: m.files };
  });
  const looseByName = new BySize<LooseFile>();
  for (const f of loose) looseByName.add(f.name, f);

  const fileExact: LocalSegment[] = [];
  const containerGuesses: LocalSegment[] = [];
  const padding: LocalSegment[] = [];
  const missingFiles: { path: string; size: number }[] = [];
  const missingExtents: (readonly Extent[])[] = [];
  const fileSpans: Span[] = [];
  const seenExtent = new Set<number>();
  const t = target.files;
  for (let i = 0; i < t.count; i++) {
    const size = t.size(i);
    const lba = t.lba(i);
    const tspans = contentSpans(t, i, bs);
    for (const x of tspans) {
      fileSpans.push({ start: x.start, end: x.end });
      const padEnd = Math.ceil(x.end / bs) * bs;
      if (padEnd > x.end) padding.push({ start: x.end, end: padEnd, source: ZERO_SOURCE, sourceOffset: 0, reason: 'zero' });
    }
    // Hard links and xorriso's shared content: map each extent once.
    if (seenExtent.has(lba)) continue;
    seenExtent.add(lba);
    const name = t.name(i);
    const dir = t.dirPath(i);
    const cand = candidateOf(files, dir, name, size);
    const container = nestedContainers.size > 0 && nestedContainers.has(t.path(i));
    const exact = container ? containerGuesses : fileExact;
    if (cand) {
      const candSpans = contentSpans(cand.src.files, cand.file, cand.src.blockSize);
      for (const x of tspans) {
        let at = x.start;
        while (at < x.end) {
          const src = sourceOffsetOf(candSpans, x.fileOffset + (at - x.start));
          if (!src) break;
          const len = Math.min(src.room, x.end - at);
          exact.push({ start: at, end: at + len, source: cand.src.index, sourceOffset: src.offset, reason: src.offset === at ? 'same-file' : 'moved-file' });
          at += len;
        }
      }
      continue;
    }
    const lf = looseByName.get(name, size);
    if (container) continue; // its nested files are reported one by one
    if (lf) {
      for (const x of tspans) exact.push({ start: x.start, end: x.end, source: lf.index, sourceOffset: x.fileOffset, reason: 'loose-file' });
      continue;
    }
    missingFiles.push({ path: t.path(i), size });
    missingExtents.push(t.extents(i));
  }

  // Everything that is not file content nor padding: guess same offset, then zeros.
  const whole: Span[] = [{ start: 0, end: target.imageBytes }];
  let notFiles = subtractSpans(whole, mergeSpans([...fileSpans, ...padding]));
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
  const zerosIn = (spans: readonly Span[]): LocalSegment[] => spans.map((s) => ({ start: s.start, end: s.end, source: ZERO_SOURCE, sourceOffset: 0, reason: 'zero' as const }));
  const guesses: LocalSegment[][] = [];
  for (const src of sources) {
    // Same offset where the source has bytes, zeros past its end.
    const same: LocalSegment[] = [...padding];
    const beyond: Span[] = [];
    for (const s of notFiles) {
      const end = Math.min(s.end, src.size);
      if (end > s.start) same.push({ start: s.start, end, source: src.index, sourceOffset: s.start, reason: 'same-offset' });
      if (s.end > Math.max(s.start, src.size)) beyond.push({ start: Math.max(s.start, src.size), end: s.end });
    }
    guesses.push([...same, ...zerosIn(beyond)]);
  }
  guesses.push([...padding, ...zerosIn(notFiles)]);
  return { exact: fileExact, guesses, missingFiles, missingExtents, fileSpans: mergeSpans(fileSpans), containerGuesses };
}

/** Same-offset reuse for a target whose layout is unknown (not an ISO, metadata unavailable). */
export function sameOffsetGuesses(length: number, sources: readonly { index: number; size: number }[]): LocalSegment[][] {
  return sources.map((s) => {
    const end = Math.min(length, s.size);
    return end > 0 ? [{ start: 0, end, source: s.index, sourceOffset: 0, reason: 'same-offset' as const }] : [];
  });
}
