/**
 * Nested layouts: the filesystem images inside an image (a squashfs or EROFS
 * root filesystem, an EFI FAT image), found and read recursively.
 *
 * Candidates are files whose name says "image" (`.squashfs`, `.sfs`,
 * `.erofs`, `.img`, `.efi`), El Torito EFI boot images that are no file of
 * the tree, and MBR partitions of type 0xEF (the ESP of a hybrid image);
 * only their first 4 KiB are read to recognize a format, so a target image
 * read over the network costs a few sectors per candidate. Nesting is
 * bounded by depth and by one metadata budget for the whole walk; a nested
 * image that does not read is skipped with a note (the plan then maps fewer
 * files), never a crash.
 *
 * A nested image's offsets are its own; `toImage` translates a span of it
 * into spans of the outermost image through its container's extents.
 */
import { IsosyncError } from '../errors.js';
import { spanBounds } from '../core/span.js';
import type { ByteSource, Span } from '../store/byte-source.js';
import { erofsReader } from './erofs/read.js';
import { fatReader } from './fat/read.js';
import { DEFAULT_LIMITS, MetadataBudget, type Layout, type LayoutFile, type LayoutLimits, type LayoutReader } from './layout.js';
import { squashfsReader } from './squashfs/read.js';
import { SB as SQ_SB } from './squashfs/superblock.js';

export const READERS: readonly LayoutReader[] = [squashfsReader, erofsReader, fatReader];

/** Names worth sniffing: filesystem images by their usual names. */
const IMAGE_NAME = /\.(squashfs|sfs|erofs|img|efi|fat)$/i;
/**
 * Bytes read to tell a candidate's format: what every reader's sniff and first read need (squashfs's 96-byte superblock,
 * a FAT boot sector, EROFS's superblock at 1024). Read while planning, they are fetched when the candidate's piece does
 * not verify locally: on the live bench pair four candidates (the squashfs, the EFI image, its .efi loader, an initrd named
 * .img) fetched 4 KiB each, most of it local data that the sync would not fetch.
 */
const HEAD_BYTES = 2048;
/** Files smaller than this are no filesystem image worth mapping. */
const MIN_IMAGE_BYTES = 8192;

export interface NestOptions {
  /** Most levels below the outer image (1: images inside the ISO only). */
  readonly maxDepth: number;
  /** Metadata bytes read in all nested images together. */
  readonly metadataBytes: number;
  readonly limits: LayoutLimits;
  /** Reports a nested image that was skipped. */
  readonly note?: (msg: string) => void;
}

export const DEFAULT_NEST: NestOptions = { maxDepth: 3, metadataBytes: 256 * 1024 * 1024, limits: DEFAULT_LIMITS };

/** A piece of a container: `length` bytes of its own offset `at` sit at `image` in the outer image. */
interface Piece {
  readonly at: number;
  readonly image: number;
  readonly length: number;
}

export interface NestedImage {
  /** Where it sits: the container's path in its parent, prefixed by the parents' ("/live/fs.squashfs", "/a.img:/b.img"). */
  readonly path: string;
  readonly depth: number;
  readonly layout: Layout;
  /** Outer-image spans of a span of this layout. */
  toImage(start: number, end: number): Span[];
  /** The outer image offset of a layout offset, when the container is one contiguous run (the usual case). */
  readonly base?: number;
}

/** A ByteSource over a container's pieces in the outer image. */
export class SliceSource implements ByteSource {
  constructor(private readonly outer: ByteSource, private readonly pieces: readonly Piece[], readonly size: number) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new IsosyncError('IO', `Cannot read a nested image: range ${offset}+${length} is outside its ${this.size} bytes`, { offset, length, size: this.size });
    }
    const parts = toOuter(this.pieces, offset, offset + length);
    if (parts.length === 1) return this.outer.read(parts[0]!.start, length);
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(await this.outer.read(p.start, p.end - p.start), at);
      at += p.end - p.start;
    }
    return out;
  }

  prefetch(ranges: readonly Span[]): Promise<void> {
    return this.prefetchBounds(spanBounds(ranges));
  }

  /** prefetch for ranges as [start, end) pairs, handed on as pairs of outer-image ranges (no Span per range). */
  async prefetchBounds(bounds: Float64Array): Promise<void> {
    if (!this.outer.prefetchBounds && !this.outer.prefetch) return;
    const out: number[] = [];
    for (let k = 0; k < bounds.length; k += 2) {
      const start = bounds[k]!;
      const end = Math.min(bounds[k + 1]!, this.size);
      for (const p of this.pieces) {
        const a = Math.max(start, p.at);
        const b = Math.min(end, p.at + p.length);
        if (b > a) out.push(p.image + (a - p.at), p.image + (b - p.at));
      }
    }
    const outer = Float64Array.from(out);
    if (this.outer.prefetchBounds) return this.outer.prefetchBounds(outer);
    const spans: Span[] = [];
    for (let k = 0; k < outer.length; k += 2) spans.push({ start: outer[k]!, end: outer[k + 1]! });
    await this.outer.prefetch!(spans);
  }
}

function toOuter(pieces: readonly Piece[], start: number, end: number): Span[] {
  const out: Span[] = [];
  for (const p of pieces) {
    const a = Math.max(start, p.at);
    const b = Math.min(end, p.at + p.length);
    if (b > a) out.push({ start: p.image + (a - p.at), end: p.image + (b - p.at) });
  }
  return out;
}

function piecesOf(file: LayoutFile, parent: NestedImage | undefined): Piece[] {
  const own: Piece[] = [];
  let at = 0;
  for (let i = 0; i < file.chunks.length; i += 2) {
    const len = file.chunks[i + 1]! - file.chunks[i]!;
    own.push({ at, image: file.chunks[i]!, length: len });
    at += len;
  }
  if (!parent) return own;
  // Compose with the parent's pieces: the chunks are in the parent's space.
  const out: Piece[] = [];
  for (const p of own) {
    let at2 = p.at;
    for (const s of parent.toImage(p.image, p.image + p.length)) {
      out.push({ at: at2, image: s.start, length: s.end - s.start });
      at2 += s.end - s.start;
    }
  }
  return out;
}

function nestedImage(path: string, depth: number, layout: Layout, pieces: readonly Piece[]): NestedImage {
  const single = pieces.length === 1 ? pieces[0]!.image - pieces[0]!.at : undefined;
  return {
    path,
    depth,
    layout,
    toImage: (start, end) => (single !== undefined ? [{ start: start + single, end: end + single }] : toOuter(pieces, start, end)),
    ...(single !== undefined ? { base: single } : {}),
  };
}

/** Whether a file of a layout is worth sniffing for a nested image (by its name and size). */
export function mayBeImage(f: { readonly type: string; readonly size: number; readonly path: string; readonly raw?: boolean }): boolean {
  return f.type === 'file' && f.raw === true && f.size >= MIN_IMAGE_BYTES && IMAGE_NAME.test(f.path);
}

/** MBR partitions of type 0xEF (EFI system partition) as pseudo-files, from sector 0 of the outer image. */
export async function espPartitions(src: ByteSource): Promise<LayoutFile[]> {
  if (src.size < 512) return [];
  const mbr = await src.read(0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) return [];
  const out: LayoutFile[] = [];
  for (let i = 0; i < 4; i++) {
    const e = 446 + i * 16;
    if (mbr[e + 4] !== 0xef) continue;
    const lba = (mbr[e + 8]! | (mbr[e + 9]! << 8) | (mbr[e + 10]! << 16)) + mbr[e + 11]! * 0x1000000;
    const sectors = (mbr[e + 12]! | (mbr[e + 13]! << 8) | (mbr[e + 14]! << 16)) + mbr[e + 15]! * 0x1000000;
    const start = lba * 512;
    const end = Math.min(src.size, start + sectors * 512);
    if (end - start >= MIN_IMAGE_BYTES) out.push({ path: `[mbr-partition-${i + 1}]`, type: 'file', size: end - start, chunks: [start, end], raw: true });
  }
  return out;
}

/** Extra candidates of the outer ISO: El Torito EFI images that are no file of the tree, and ESP partitions. */
export async function outerCandidates(src: ByteSource, outer: Layout, boot: readonly { platform: number; lba: number; imageBytes: number }[], blockSize: number): Promise<LayoutFile[]> {
  const starts = new Set<number>();
  for (let f = 0; f < outer.files.count; f++) if (outer.files.chunkCount(f) > 0) starts.add(outer.files.chunkStart(f, 0));
  const out: LayoutFile[] = [];
  boot.forEach((b, i) => {
    const start = b.lba * blockSize;
    if (b.platform !== 0xef || starts.has(start) || start >= src.size) return;
    // The catalog's size is often a stub for EFI images: the FAT's own size is read when sniffed.
    const end = src.size;
    out.push({ path: `[boot-${i}-efi]`, type: 'file', size: end - start, chunks: [start, end], raw: true });
  });
  for (const p of await espPartitions(src)) if (!starts.has(p.chunks[0]!)) out.push(p);
  return out;
}

/**
 * Reads the nested image stored in `file` (a file of the outer image, or of
 * `parent`'s layout), named `path`; undefined when no reader recognizes its
 * first bytes. Reads its head, then (squashfs) its tables in one go, then
 * walks it; an unreadable image is an IsosyncError.
 */
export async function openNested(
  src: ByteSource,
  file: LayoutFile,
  parent: NestedImage | undefined,
  path: string,
  limits: LayoutLimits,
  budget: MetadataBudget,
  /** Which paths of its tree to read (LayoutReader.read); all when absent. */
  visit?: (path: string) => boolean,
): Promise<NestedImage | undefined> {
  const pieces = piecesOf(file, parent);
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const slice = new SliceSource(src, pieces, total);
  const head = await slice.read(0, Math.min(HEAD_BYTES, total));
  const reader = READERS.find((r) => r.sniff(head));
  if (!reader) return undefined;
  // Squashfs keeps its tables at the end: fetch them in one go before walking them.
  if (reader.format === 'squashfs' && head.length >= 96) {
    const v = new DataView(head.buffer, head.byteOffset, 96);
    const used = Number(v.getBigUint64(SQ_SB.bytesUsed, true));
    const first = Number(v.getBigUint64(SQ_SB.inodeTable, true));
    if (first < used && used <= total) await slice.prefetch([{ start: first, end: used }]);
  }
  const layout = await reader.read(slice, path, limits, budget, visit);
  return nestedImage(path, (parent?.depth ?? 0) + 1, layout, pieces);
}

/**
 * Every nested image below `outer` (a layout of `src`, offsets = outer image
 * offsets), breadth first, bounded by opts. `extra` are more candidates of
 * the outer level (outerCandidates).
 */
export async function findNested(src: ByteSource, outer: Layout, opts: NestOptions = DEFAULT_NEST, extra: readonly LayoutFile[] = []): Promise<NestedImage[]> {
  const budget = new MetadataBudget(opts.metadataBytes);
  const found: NestedImage[] = [];
  const queue: { layout: Layout; parent?: NestedImage; prefix: string; depth: number; extra: readonly LayoutFile[] }[] = [{ layout: outer, prefix: '', depth: 0, extra }];
  while (queue.length > 0) {
    const level = queue.shift()!;
    if (level.depth >= opts.maxDepth) continue;
    // By the table's columns: an entry object is made only for a candidate (a root tree has thousands of files, none an image).
    const files = level.layout.files;
    const candidates: LayoutFile[] = [];
    for (let i = 0; i < files.count; i++) if (files.type(i) === 'file' && files.raw(i) && files.size(i) >= MIN_IMAGE_BYTES && IMAGE_NAME.test(files.name(i))) candidates.push(files.get(i));
    for (const e of level.extra) candidates.push(e);
    for (const file of candidates) {
      const path = `${level.prefix}${file.path}`;
      try {
        const img = await openNested(src, file, level.parent, path, opts.limits, budget);
        if (!img) continue;
        found.push(img);
        if (img.depth < opts.maxDepth) queue.push({ layout: img.layout, parent: img, prefix: `${path}:`, depth: img.depth, extra: [] });
      } catch (e) {
        if (!(e instanceof IsosyncError)) throw e;
        opts.note?.(`${path} is not read as a nested image: ${e.message}`);
      }
    }
  }
  return found;
}
