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
import type { IsoEntry, IsoImage } from '../iso/entry.js';
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
  /** Target file content spans (for reports: which bytes belong to files). */
  readonly fileSpans: Span[];
  /**
   * The mapping of files that hold nested images (`nestedContainers`): their
   * nested files are mapped one by one, so the whole-file mapping is only a
   * guess for what those leave (the container's own metadata).
   */
  readonly containerGuesses: LocalSegment[];
}

/** Byte spans of a file's content, in file order. */
/** Image bytes of a file's content and the file offset they hold. */
interface FileSpan extends Span {
  readonly fileOffset: number;
}

function contentSpans(e: IsoEntry, blockSize: number): FileSpan[] {
  const out: FileSpan[] = [];
  let fileOffset = 0;
  for (const x of e.extents) {
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

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * First candidate per (key, size): a key's candidates are few (one per
 * source image with that path, or the files of that name), so a short list
 * per key beats a "key\0size" string built for every entry of every image.
 * The values are the images' own entries (or loose files): no object is made
 * per candidate.
 */
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

/** One source image's files by path and by name (its first file of each name and size). */
interface SourceFiles {
  readonly src: ImageSourceInfo;
  readonly byPath: BySize<IsoEntry>;
  readonly byName: BySize<IsoEntry>;
}

function sourceFiles(src: ImageSourceInfo): SourceFiles {
  const byPath = new BySize<IsoEntry>();
  const byName = new BySize<IsoEntry>();
  for (const e of src.image.entries) {
    if (e.type !== 'file' || e.size === 0) continue;
    byPath.add(e.path, e);
    byName.add(baseName(e.path), e);
  }
  return { src, byPath, byName };
}

/** A target file's content in the sources: the first image with the same path and size, else the first with the same name and size. */
function candidateOf(files: readonly SourceFiles[], path: string, size: number): { src: ImageSourceInfo; entry: IsoEntry } | undefined {
  for (const f of files) {
    const entry = f.byPath.get(path, size);
    if (entry) return { src: f.src, entry };
  }
  const name = baseName(path);
  for (const f of files) {
    const entry = f.byName.get(name, size);
    if (entry) return { src: f.src, entry };
  }
  return undefined;
}

export function mapIsoFiles(target: IsoImage, sources: readonly ImageSourceInfo[], loose: readonly LooseFile[] = [], nestedContainers: ReadonlySet<string> = new Set()): IsoMapping {
  const bs = target.logicalBlockSize;
  const files = sources.map(sourceFiles);
  const looseByName = new BySize<LooseFile>();
  for (const f of loose) looseByName.add(f.name, f);

  const fileExact: LocalSegment[] = [];
  const containerGuesses: LocalSegment[] = [];
  const padding: LocalSegment[] = [];
  const missingFiles: { path: string; size: number }[] = [];
  const fileSpans: Span[] = [];
  const seenExtent = new Set<number>();
  for (const e of target.entries) {
    if (e.type !== 'file' || e.size === 0) continue;
    const tspans = contentSpans(e, bs);
    for (const t of tspans) {
      fileSpans.push({ start: t.start, end: t.end });
      const padEnd = Math.ceil(t.end / bs) * bs;
      if (padEnd > t.end) padding.push({ start: t.end, end: padEnd, source: ZERO_SOURCE, sourceOffset: 0, reason: 'zero' });
    }
    // Hard links and xorriso's shared content: map each extent once.
    if (seenExtent.has(e.lba)) continue;
    seenExtent.add(e.lba);
    const cand = candidateOf(files, e.path, e.size);
    const container = nestedContainers.has(e.path);
    const exact = container ? containerGuesses : fileExact;
    if (cand) {
      const candSpans = contentSpans(cand.entry, cand.src.image.logicalBlockSize);
      for (const t of tspans) {
        let at = t.start;
        while (at < t.end) {
          const src = sourceOffsetOf(candSpans, t.fileOffset + (at - t.start));
          if (!src) break;
          const len = Math.min(src.room, t.end - at);
          exact.push({ start: at, end: at + len, source: cand.src.index, sourceOffset: src.offset, reason: src.offset === at ? 'same-file' : 'moved-file' });
          at += len;
        }
      }
      continue;
    }
    const lf = looseByName.get(baseName(e.path), e.size);
    if (container) continue; // its nested files are reported one by one
    if (lf) {
      for (const t of tspans) exact.push({ start: t.start, end: t.end, source: lf.index, sourceOffset: t.fileOffset, reason: 'loose-file' });
      continue;
    }
    missingFiles.push({ path: e.path, size: e.size });
  }

  // Everything that is not file content nor padding: guess same offset, then zeros.
  const whole: Span[] = [{ start: 0, end: target.imageBytes }];
  let notFiles = subtractSpans(whole, mergeSpans([...fileSpans, ...padding]));
  // A target grown from a source (a session appended by libisofs/xorriso) starts its new
  // session at the source's end rounded up to 32 blocks, with a copy of its volume
  // descriptors 16 blocks in: those few blocks are new, so fetch them rather than guess.
  const sessionDescriptors: Span[] = [];
  const rootLba = target.entries.find((e) => e.path === '/')?.lba ?? 0;
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
  return { exact: fileExact, guesses, missingFiles, fileSpans: mergeSpans(fileSpans), containerGuesses };
}

/** Same-offset reuse for a target whose layout is unknown (not an ISO, metadata unavailable). */
export function sameOffsetGuesses(length: number, sources: readonly { index: number; size: number }[]): LocalSegment[][] {
  return sources.map((s) => {
    const end = Math.min(length, s.size);
    return end > 0 ? [{ start: 0, end, source: s.index, sourceOffset: 0, reason: 'same-offset' as const }] : [];
  });
}
