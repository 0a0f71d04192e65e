/**
 * The layout interface: what any filesystem image can say about a byte range
 * — "these are my files, each with its stored extents, and these byte ranges
 * are my metadata". ISO 9660 (iso-layout.ts), squashfs, EROFS and FAT are
 * implementations; the planner never cares which format a file came from.
 *
 * Offsets here are relative to the layout's own byte space (0 = the first
 * byte of the filesystem image); nested.ts translates them into offsets of
 * the outermost image.
 *
 * Stored extents are the bytes as they sit in the image: for compressed
 * filesystems, the compressed blocks. Two files whose `chunks` have the same
 * lengths (and the same size and path) very probably hold byte-identical
 * stored bytes; piece hashes decide.
 *
 * Memory: the entries are columns (file-table.ts): a file costs its name,
 * some 45 bytes of typed-array slots and 16 bytes a chunk; no object per
 * file, no path string kept.
 */
import type { ByteSource, Span } from '../store/byte-source.js';
import { mergeBounds, mergeSpans } from '../core/span.js';
import { giveBack } from '../core/give-back.js';
import { fitsUint32 } from './column.js';
import type { FileTable, LayoutFile } from './file-table.js';

export type LayoutFormat = 'iso9660' | 'squashfs' | 'erofs' | 'fat';

export type { FileInit, LayoutEntryType, LayoutFile, Tail } from './file-table.js';
export { FileTable, FileTableBuilder } from './file-table.js';

/** A stored block shared by several files (a squashfs fragment block). */
export interface SharedBlock {
  readonly start: number;
  readonly end: number;
  /** Files and their tails in this block, as "path:offset:length" joined: equal keys + equal stored size = very probably equal bytes. */
  readonly key: string;
  /** Stored uncompressed: each tail sits at `start + offset` as is. */
  readonly raw?: boolean;
}

export interface Layout {
  readonly format: LayoutFormat;
  /** Bytes of the filesystem (its own notion of size, at most the byte range it was read from). */
  readonly size: number;
  /** Every entry, in path order, as columns (file-table.ts). */
  readonly files: FileTable;
  /** Byte ranges that hold metadata (superblock, tables, directories, inodes), sorted and merged. */
  readonly metadata: SpanTable;
  readonly shared: readonly SharedBlock[];
  /** Reads a file's uncompressed content (at most `maxBytes`, else an IsosyncError). */
  readContent(file: LayoutFile, maxBytes: number): Promise<Uint8Array>;
}

/** Bounds for one layout read from hostile bytes. */
export interface LayoutLimits {
  /** Most entries (files, directories, symlinks) listed. */
  readonly entries: number;
  /** Most bytes of metadata read (compressed, as stored). */
  readonly metadataBytes: number;
  /** Directory nesting depth. */
  readonly depth: number;
}

export const DEFAULT_LIMITS: LayoutLimits = {
  entries: 2_000_000,
  metadataBytes: 512 * 1024 * 1024,
  depth: 256,
};

/** A reader of one format: recognizes the first bytes, then reads the whole layout. */
export interface LayoutReader {
  readonly format: LayoutFormat;
  /** Whether `head` (the first 4 KiB of the range, or fewer) looks like this format. */
  sniff(head: Uint8Array): boolean;
  /**
   * `visit` (optional) says which paths of the tree to read: a directory it
   * refuses is not listed, another entry it refuses not read (the layout then
   * lists only what was visited). Readers whose metadata lies together may
   * ignore it (squashfs's tables are fetched in one go anyway).
   */
  read(src: ByteSource, name: string, limits: LayoutLimits, budget: MetadataBudget, visit?: (path: string) => boolean): Promise<Layout>;
}

/** Metadata bytes still allowed for the whole nested walk (shared by every layout of one image). */
export class MetadataBudget {
  used = 0;
  constructor(readonly limit: number) {}
  /** Counts `n` bytes; false once the limit is passed. */
  take(n: number): boolean {
    this.used += n;
    return this.used <= this.limit;
  }
}

/**
 * Sorted, merged spans as one array of bounds (an EROFS layout has about one metadata span per file): a Uint32Array
 * when every bound fits (an image under 4 GiB: 8 bytes a span, not 16), else a Float64Array.
 */
export class SpanTable implements Iterable<Span> {
  static readonly EMPTY = new SpanTable(new Float64Array(0));

  private readonly bounds: Float64Array | Uint32Array;

  private constructor(bounds: Float64Array) {
    if (bounds.length === 0 || !fitsUint32(bounds)) this.bounds = bounds;
    else {
      this.bounds = new Uint32Array(bounds);
      giveBack(bounds);
    }
  }

  /** `spans` sorted and merged. */
  static merged(spans: readonly Span[]): SpanTable {
    const m = mergeSpans(spans);
    const b = new Float64Array(m.length * 2);
    m.forEach((s, i) => {
      b[2 * i] = s.start;
      b[2 * i + 1] = s.end;
    });
    return new SpanTable(b);
  }

  /** Spans given as [start, end) pairs (mergeBounds: sorted and merged), with no span object per pair. */
  static mergedBounds(bounds: ArrayLike<number>): SpanTable {
    const m = mergeBounds(bounds);
    // A subarray would keep the pairs' whole buffer (about one pair per EROFS inode before merging): copied when kept whole.
    if (m.length === m.buffer.byteLength / 8) return new SpanTable(m);
    return new SpanTable(fitsUint32(m) ? m : m.slice());
  }

  get length(): number {
    return this.bounds.length / 2;
  }

  /** The spans as [start, end) pairs (a view: no copy). */
  pairs(): Float64Array | Uint32Array {
    return this.bounds;
  }

  *[Symbol.iterator](): Iterator<Span> {
    for (let i = 0; i < this.bounds.length; i += 2) yield { start: this.bounds[i]!, end: this.bounds[i + 1]! };
  }
}

/**
 * The bytes a layout uses (metadata, every entry's stored chunks, the shared blocks), sorted and merged, as [start,
 * end) pairs: its free space is what lies between. Made from the tables' own pairs into one array of exactly their
 * size: a list of numbers grown pair by pair was the largest transient of an EROFS sync's end (about one metadata span
 * and one chunk per inode).
 */
export function usedBounds(layout: Layout): Float64Array {
  const meta = layout.metadata.pairs();
  const chunks = layout.files.allChunks();
  const all = new Float64Array(meta.length + chunks.length + 2 * layout.shared.length);
  all.set(meta);
  all.set(chunks, meta.length);
  let at = meta.length + chunks.length;
  for (const b of layout.shared) {
    all[at++] = b.start;
    all[at++] = b.end;
  }
  const merged = mergeBounds(all);
  giveBack(all);
  return merged;
}

/** The chunks of an entry without stored data (directories, symlinks, empty files): shared, never written. */
export const NO_CHUNKS: readonly number[] = Object.freeze([]);

/** Packs spans into the chunk array form. */
export function chunkArray(spans: readonly Span[]): number[] {
  const out = new Array<number>(spans.length * 2);
  spans.forEach((s, i) => {
    out[2 * i] = s.start;
    out[2 * i + 1] = s.end;
  });
  return out;
}

/** Stored bytes of a file's chunks. */
export function chunkBytes(chunks: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < chunks.length; i += 2) n += chunks[i + 1]! - chunks[i]!;
  return n;
}

/** The chunk lengths as a compact signature (for "same size and block-size list"). */
export function chunkSignature(f: LayoutFile): string {
  return signature(f.size, f.chunks, f.tail?.length, f.evidence);
}

/** chunkSignature of entry i of a table, without making its object. */
export function entrySignature(files: FileTable, i: number): string {
  // The same string as `signature`, read from the columns: no view of the chunks, no tail object (once per file of both trees).
  let s = String(files.size(i));
  const n = files.chunkCount(i);
  for (let k = 0; k < n; k++) s += `,${(files.chunkEnd(i, k) - files.chunkStart(i, k)).toString(36)}`;
  if (files.tailBlock(i) >= 0) s += `,t${files.tail(i)!.length}`;
  const evidence = files.evidence(i);
  return evidence ? `${s},${evidence}` : s;
}

function signature(size: number, chunks: ArrayLike<number>, tail: number | undefined, evidence: string | undefined): string {
  const parts: string[] = [String(size)];
  for (let i = 0; i < chunks.length; i += 2) parts.push((chunks[i + 1]! - chunks[i]!).toString(36));
  if (tail !== undefined) parts.push(`t${tail}`);
  if (evidence) parts.push(evidence);
  return parts.join(',');
}

/** A file's bytes, read chunk by chunk (`file.chunks`: start, end pairs) into one buffer. */
export async function readChunks(src: ByteSource, file: LayoutFile): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let at = 0;
  for (let i = 0; i < file.chunks.length; i += 2) {
    const len = file.chunks[i + 1]! - file.chunks[i]!;
    out.set(await src.read(file.chunks[i]!, len), at);
    at += len;
  }
  return out;
}
