/**
 * An old EROFS file's uncompressed bytes for delta/reencoded-clusters.ts,
 * decoded cluster by cluster where they are needed, not the whole file.
 * Re-encoding after an edit reads the old file near the edit (to find the
 * shift) and from there to where the new clusters fall back on old ones
 * (reencode-resync.ts): decoding whole old files was a third of that work on
 * the bench pair (66 MB decoded for 19 MB re-encoded).
 *
 * The file's stored clusters are read at once (one read per run of adjacent
 * clusters: a copy from the local image, cheap beside decoding), so `ensure`
 * is synchronous and fits the encoder's loop. A cluster that does not decode
 * to its extent's length is a raw (PLAIN) one, its first bytes the extent's
 * (the extents of a file's entry do not say which); one too short for that
 * reads as zeros (a wrong guess costs
 * bytes, never correctness: piece hashes decide).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { LayoutFile } from '../layouts/layout.js';
import type { NestedImage } from '../layouts/nested.js';
import { decodeLz4Block } from '../layouts/erofs/lz4-block.js';
import { extentsOf } from '../layouts/erofs/reencode.js';
import { readInto, type ByteSource } from '../store/byte-source.js';
import { DIRECT_BYTES } from '../store/block-cache.js';

/**
 * Runs of a batch this close in the image are read at once (bytes read for nothing, against a read each). Every read
 * is at least DIRECT_BYTES long: a shorter one would go through the sync's block cache of the local image, a 256 KiB
 * block read (and kept) for a cluster or two; the batch's files, in path order, thrashed its 8 blocks: 113 MB read and
 * copied for 45 MB of clusters on the live bench pair.
 */
const MERGE_GAP = 64 * 1024;
/** Longest merged read (SYNC_IO_BYTES: a local file's reads up to it are synchronous, store/file-source.ts). */
const MAX_READ = 1024 * 1024;

/** An OldContent as it crosses to a worker thread: the stored clusters in one buffer (transferred, not copied). */
export interface StoredFile {
  readonly size: number;
  /** Each extent's uncompressed start. */
  readonly las: readonly number[];
  /** Extent k's stored bytes are stored[ends[k - 1] (0 for the first), ends[k]). */
  readonly stored: Uint8Array;
  readonly ends: readonly number[];
  /**
   * Instead of `stored` (then empty): the local file that holds them, read where a cluster is decoded, and each
   * extent's offset in it (onDisk).
   */
  readonly disk?: { readonly path: string; readonly at: readonly number[] };
}

export class OldContent {
  /** The file's bytes; those of clusters not decoded yet are zeros. */
  readonly bytes: Uint8Array;
  /** Per extent: 0 not decoded yet, 1 decoded (or given up). */
  private readonly done: Uint8Array;
  readonly size: number;
  private readonly las: readonly number[];

  constructor(
    /** The stored clusters (undefined: `known` holds every byte). */
    readonly file: StoredFile | undefined,
    known?: Uint8Array,
    /** Zeroed bytes to decode into (the file's size), instead of a buffer of its own. */
    into?: Uint8Array,
  ) {
    this.size = file?.size ?? known?.length ?? 0;
    this.las = file?.las ?? [0];
    this.bytes = known ?? (into && into.length === this.size ? into : new Uint8Array(this.size));
    this.done = new Uint8Array(this.las.length).fill(known ? 1 : 0);
  }

  /** The file of `disk` (opened on first use), and a cluster read from it. */
  private fd: number | undefined;
  private cluster: Uint8Array | undefined;

  /** Bytes known already, all of them (nothing to decode). */
  static of(bytes: Uint8Array): OldContent {
    return new OldContent(undefined, bytes);
  }

  /** Decodes every cluster holding bytes of [from, to) not decoded yet. */
  ensure(from: number, to: number): void {
    const las = this.las;
    if (!this.file || las.length === 0 || to <= from) return;
    // The last extent starting at or before `from`.
    let lo = 0;
    let hi = las.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (las[mid]! <= from) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < las.length && las[i]! < to; i++) if (this.done[i] === 0) this.decode(this.file, i);
  }

  private decode(file: StoredFile, i: number): void {
    this.done[i] = 1;
    const la = this.las[i]!;
    const end = i + 1 < this.las.length ? this.las[i + 1]! : this.size;
    const want = end - la;
    if (want <= 0) return;
    const stored = file.disk ? this.fromDisk(file, i) : file.stored.subarray(i > 0 ? file.ends[i - 1]! : 0, file.ends[i]!);
    // LZ4_0PADDING: the stream is at the end of its cluster, after zeros.
    let z = 0;
    while (z < stored.length && stored[z] === 0) z++;
    const n = decodeLz4Block(stored, z, stored.length, this.bytes, la, end);
    if (n === want) return;
    if (stored.length >= want) this.bytes.set(stored.subarray(0, want), la);
    else this.bytes.fill(0, la, end);
  }

  /** Extent `i`'s stored bytes from `disk` (one pread); zeros where they cannot be read (a wrong guess costs bytes, never correctness). */
  private fromDisk(file: StoredFile, i: number): Uint8Array {
    const len = file.ends[i]! - (i > 0 ? file.ends[i - 1]! : 0);
    if (!this.cluster || this.cluster.length < len) this.cluster = new Uint8Array(Math.max(len, 4096));
    const out = this.cluster.subarray(0, len);
    let got = 0;
    try {
      this.fd ??= openSync(file.disk!.path, 'r');
      while (got < len) {
        const n = readSync(this.fd, out, got, len - got, file.disk!.at[i]! + got);
        if (n <= 0) break;
        got += n;
      }
    } catch {
      // Read as zeros below.
    }
    out.fill(0, got);
    return out;
  }

  /** Closes the file of `disk`, if it was opened (the bytes decoded stay). */
  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}

/**
 * `f`'s clusters to be read from the local file at `path` where they are decoded (OldContent), not read ahead:
 * a chain decodes the old file only near its edit and up to where the new clusters fall back on old ones
 * (reencode-resync.ts), some 40 % of the stored bytes on the live bench pair. Undefined when `f` has no cluster
 * index, or when a cluster is not in one piece of the image (`img` in the file, as toImage places it).
 */
export function onDisk(img: NestedImage, f: LayoutFile, path: string): StoredFile | undefined {
  const ex = extentsOf(f);
  if (!ex) return undefined;
  const ends: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < ex.extents.length; i++) {
    const x = ex.extents[i]!;
    ends.push((ends.at(-1) ?? 0) + x.plen);
    const spans = img.toImage(ex.pas[i]!, ex.pas[i]! + x.plen);
    if (spans.length !== 1) return undefined;
    at.push(spans[0]!.start);
  }
  return { size: f.size, las: ex.extents.map((x) => x.la), stored: new Uint8Array(0), ends, disk: { path, at } };
}

/** Stored bytes of `f`'s clusters (what readStored reads), 0 when its entry has no cluster index. */
export function storedBytes(f: LayoutFile): number {
  let n = 0;
  for (const x of extentsOf(f)?.extents ?? []) n += x.plen;
  return n;
}

/**
 * Reads `f`'s stored clusters from the local image (`bytes`: the outer image `img` sits in); undefined when its
 * entry has no cluster index. `into`: where to read them (at least storedBytes(f)), instead of a buffer of their own.
 */
export async function readStored(img: NestedImage, bytes: ByteSource, f: LayoutFile, into?: Uint8Array): Promise<StoredFile | undefined> {
  const ex = extentsOf(f);
  if (!ex) return undefined;
  const { extents, pas } = ex;
  const ends: number[] = [];
  for (const x of extents) ends.push((ends.at(-1) ?? 0) + x.plen);
  const total = ends.at(-1) ?? 0;
  const stored = into && into.length >= total ? into.subarray(0, total) : new Uint8Array(total);
  const reads: Promise<void>[] = [];
  for (let i = 0; i < extents.length; ) {
    // A run of adjacent clusters (a file's clusters follow one another): one read.
    let end = pas[i]! + extents[i]!.plen;
    let j = i + 1;
    while (j < extents.length && pas[j] === end) end += extents[j++]!.plen;
    let at = i > 0 ? ends[i - 1]! : 0;
    for (const s of img.toImage(pas[i]!, end)) {
      reads.push(readInto(bytes, stored, at, s.start, s.end - s.start));
      at += s.end - s.start;
    }
    i = j;
  }
  await Promise.all(reads);
  return { size: f.size, las: extents.map((x) => x.la), stored, ends };
}

/** A run of stored clusters to read: image span, where it goes in the batch's buffer, and whose file it is. */
interface Run {
  readonly start: number;
  readonly end: number;
  readonly at: number;
  readonly file: number;
}

/**
 * readStored for a batch of files at once, into consecutive parts of `into` (at least the sum of their storedBytes):
 * the runs of all of them sorted by place in the image and read in merged stretches (see MERGE_GAP). Undefined for
 * a file without a cluster index, or one whose bytes could not be read.
 */
export async function readStoredBatch(img: NestedImage, bytes: ByteSource, files: readonly LayoutFile[], into: Uint8Array): Promise<(StoredFile | undefined)[]> {
  const out: (StoredFile | undefined)[] = [];
  const runs: Run[] = [];
  let off = 0;
  files.forEach((f, fi) => {
    const ex = extentsOf(f);
    if (!ex) {
      out.push(undefined);
      return;
    }
    const { extents, pas } = ex;
    const ends: number[] = [];
    for (const x of extents) ends.push((ends.at(-1) ?? 0) + x.plen);
    const total = ends.at(-1) ?? 0;
    for (let i = 0; i < extents.length; ) {
      let end = pas[i]! + extents[i]!.plen;
      let j = i + 1;
      while (j < extents.length && pas[j] === end) end += extents[j++]!.plen;
      let at = off + (i > 0 ? ends[i - 1]! : 0);
      for (const s of img.toImage(pas[i]!, end)) {
        runs.push({ start: s.start, end: s.end, at, file: fi });
        at += s.end - s.start;
      }
      i = j;
    }
    out.push({ size: f.size, las: extents.map((x) => x.la), stored: into.subarray(off, off + total), ends });
    off += total;
  });
  runs.sort((a, b) => a.start - b.start);
  let scratch = new Uint8Array(0);
  for (let i = 0; i < runs.length; ) {
    let end = runs[i]!.end;
    let j = i + 1;
    while (j < runs.length && runs[j]!.start <= end + MERGE_GAP && Math.max(end, runs[j]!.end) - runs[i]!.start <= MAX_READ) end = Math.max(end, runs[j++]!.end);
    const group = runs.slice(i, j);
    i = j;
    try {
      if (group.length === 1 && end - group[0]!.start >= DIRECT_BYTES) {
        await readInto(bytes, into, group[0]!.at, group[0]!.start, end - group[0]!.start);
        continue;
      }
      // Read at least DIRECT_BYTES (within the image), then each run copied where it goes.
      const stop = Math.min(bytes.size, Math.max(end, group[0]!.start + DIRECT_BYTES));
      const start = Math.max(0, Math.min(group[0]!.start, stop - DIRECT_BYTES));
      if (scratch.length < stop - start) scratch = new Uint8Array(stop - start);
      await readInto(bytes, scratch, 0, start, stop - start);
      for (const r of group) into.set(scratch.subarray(r.start - start, r.end - start), r.at);
    } catch {
      // Those files only lose their guesses.
      for (const r of group) out[r.file] = undefined;
    }
  }
  return out;
}
