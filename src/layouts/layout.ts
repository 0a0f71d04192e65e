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
 * Memory: a file costs its path, one small object and one typed array of
 * chunk bounds; no per-chunk objects.
 */
import type { ByteSource, Span } from '../store/byte-source.js';

export type LayoutFormat = 'iso9660' | 'squashfs' | 'erofs' | 'fat';

export type LayoutEntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface LayoutFile {
  /** '/'-separated, leading '/'. */
  readonly path: string;
  readonly type: LayoutEntryType;
  /** Logical (uncompressed) size in bytes. */
  readonly size: number;
  /**
   * Stored chunks in file order, as [start0, end0, start1, end1, ...] (a plain
   * array: most files have one or two chunks, and a typed array costs some
   * 200 bytes of its own); for
   * squashfs one chunk per data block (a sparse block is an empty chunk),
   * for EROFS one per physical cluster (or the plain data run), for ISO and
   * FAT one per contiguous run.
   */
  readonly chunks: readonly number[];
  /** Part of a block shared with other files (a squashfs fragment): which shared block, where in its uncompressed bytes. */
  readonly tail?: { readonly block: number; readonly offset: number; readonly length: number };
  /** Extra evidence that equal-sized chunk lists hold the same bytes (EROFS: the cluster index's decompressed boundaries). */
  readonly evidence?: string;
  readonly target?: string;
  /** The reader's own handle to find the file again (squashfs inode reference, EROFS nid). */
  readonly ref?: number;
  /** Whether the chunks hold the file's bytes as they are (no compression): content can be read straight. */
  readonly raw?: boolean;
  /** Permission bits (mode & 0o7777) of a regular file, where the format keeps them (squashfs, EROFS). */
  readonly mode?: number;
}

/** A stored block shared by several files (a squashfs fragment block). */
export interface SharedBlock {
  readonly start: number;
  readonly end: number;
  /** Files and their tails in this block, as "path:offset:length" joined: equal keys + equal stored size = very probably equal bytes. */
  key: string;
  /** Stored uncompressed: each tail sits at `start + offset` as is. */
  readonly raw?: boolean;
}

export interface Layout {
  readonly format: LayoutFormat;
  /** Bytes of the filesystem (its own notion of size, at most the byte range it was read from). */
  readonly size: number;
  readonly files: readonly LayoutFile[];
  /** Byte ranges that hold metadata (superblock, tables, directories, inodes), sorted and merged. */
  readonly metadata: readonly Span[];
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
export function chunkBytes(chunks: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < chunks.length; i += 2) n += chunks[i + 1]! - chunks[i]!;
  return n;
}

/** The chunk lengths as a compact signature (for "same size and block-size list"). */
export function chunkSignature(f: LayoutFile): string {
  const parts: string[] = [String(f.size)];
  for (let i = 0; i < f.chunks.length; i += 2) parts.push((f.chunks[i + 1]! - f.chunks[i]!).toString(36));
  if (f.tail) parts.push(`t${f.tail.length}`);
  if (f.evidence) parts.push(f.evidence);
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
