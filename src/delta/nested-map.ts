/**
 * Maps the files of a target's nested images (the squashfs or EROFS root
 * filesystem of a live image, its EFI FAT image) onto the files of the
 * sources' nested images, by stored chunks.
 *
 * For each target nested image, the source nested images with the same
 * container path are searched first, then those of the same format. A
 * target file's stored chunks come from
 *   1. the source file with the same path and the same chunk signature (size,
 *      every stored chunk length, tail length, EROFS cluster boundaries): all
 *      its chunks, in order;
 *   2. else the source file with the same path: each chunk whose stored
 *      length (and EROFS logical start) is the same at the same index (a file
 *      changed in a few blocks keeps the others);
 *   3. else a source file anywhere with the same signature (a renamed file).
 * Compressed shared blocks (squashfs fragments) come from a source block with
 * the same key (the same tails of the same files) and the same stored length;
 * in an uncompressed one, each unchanged file's tail is mapped by itself.
 * Equal stored lengths are evidence, not proof: the segments' reason is
 * 'nested-file', and piece hashes decide. A block of the same path and index
 * that changed, and a compressed shared block whose key changed, are a weaker
 * guess of their own: the old block at the same index, or for a shared block
 * the old one that starts with the same tail (shared-prefix.ts)
 * ('changed-block': its prefix), kept apart for a guess layer.
 *
 * Pure: works on NestedImage values; no I/O. Memory: two hash indexes per
 * source nested image (a hash of the path and of the signature beside the
 * file's index in its table: string-index.ts SortedHashIndex, one sorted
 * Float64Array each, 8 bytes a file), built once; paths and signatures are hashed and compared on the layouts'
 * columns (layouts/entry-keys.ts), so no string is made per file but for the
 * changed files' report.
 */
import type { FileTable } from '../layouts/layout.js';
import { PathHasher, samePath, sameSignature, sigHash } from '../layouts/entry-keys.js';
import type { NestedImage } from '../layouts/nested.js';
import { SegmentList, type LocalSegment, type Reason } from './segments.js';
import { mergeSpans, type Span } from '../core/span.js';
import { blocksByLeadingTail, leadingTails, oldSharedIndex } from './shared-prefix.js';
import { HashIndex, SORTED_INDEX_MAX, SortedHashIndex } from './string-index.js';

export interface NestedSource {
  /** Index in the sync's source list. */
  readonly index: number;
  readonly nested: readonly NestedImage[];
}

export interface NestedChange {
  /** Container path and file path: "/live/filesystem.squashfs:/usr/lib/x86_64-linux-gnu/libssl.so.3". */
  readonly path: string;
  readonly size: number;
  /** Outer-image spans of the file's stored bytes that no source provides. */
  readonly unmapped: Span[];
}

export interface NestedMapping {
  /** In typed columns, in the order of the target's files (one or more segments per file: a layer of the plan). */
  readonly exact: SegmentList;
  /**
   * Changed stored blocks guessed from the old block at the same index of the
   * same path, from the same relative offset, for the shorter of the two
   * lengths (the first changed block of each run of them only): a compressor writes the same bytes up to the first change, so the
   * old block holds the new one's prefix (how far, only sampling tells:
   * delta/probe.ts). A guess layer, reason 'changed-block'.
   */
  readonly changedBlocks: LocalSegment[];
  /** Target nested files whose stored bytes were not all found locally. */
  readonly changed: NestedChange[];
  /** Container paths (at the outer level) of the target's nested images. */
  readonly containers: ReadonlySet<string>;
  readonly mappedFiles: number;
  readonly files: number;
}

/** A source table's files by a hash (SortedHashIndex: 8 bytes a file; HashIndex past its size). */
interface EntryIndex {
  get(h: number, same: (j: number) => boolean): number | undefined;
  release(): void;
}

interface Indexed {
  readonly img: NestedImage;
  readonly index: number;
  readonly files: FileTable;
  /** Source files with stored data by path (the last of equal paths) and by signature (the first), no string kept. */
  readonly byPath: EntryIndex;
  readonly bySig: EntryIndex;
  readonly shared: Map<string, { start: number; end: number }>;
  /** Compressed shared blocks by the tail they start with (shared-prefix.ts). */
  readonly byLeadingTail: Map<string, number>;
}

function indexImage(img: NestedImage, index: number): Indexed {
  const files = img.layout.files;
  let n = 0;
  for (let f = 0; f < files.count; f++) if (storesData(files, f)) n++;
  const hasher = new PathHasher(files);
  let byPath: EntryIndex;
  let bySig: EntryIndex;
  if (files.count <= SORTED_INDEX_MAX) {
    // Every file kept (8 bytes each) and told apart when looked up: of equal paths the last, of equal signatures the first.
    const p = new SortedHashIndex(n);
    const s = new SortedHashIndex(n, true);
    for (let f = 0; f < files.count; f++) {
      if (!storesData(files, f)) continue;
      p.add(hasher.hash(f), f);
      s.add(sigHash(files, f), f);
    }
    [byPath, bySig] = [p, s];
  } else {
    const p = new HashIndex(n);
    const s = new HashIndex(n);
    let f = 0;
    const samePathAsF = (j: number) => samePath(files, f, files, j);
    const sameSigAsF = (j: number) => sameSignature(files, f, files, j);
    for (; f < files.count; f++) {
      if (!storesData(files, f)) continue;
      p.set(hasher.hash(f), f, samePathAsF);
      s.set(sigHash(files, f), f, sameSigAsF, true);
    }
    [byPath, bySig] = [p, s];
  }
  const shared = new Map<string, { start: number; end: number }>();
  for (const b of img.layout.shared) shared.set(`${b.end - b.start}\0${b.key}`, b);
  return { img, index, files, byPath, bySig, shared, byLeadingTail: blocksByLeadingTail(img.layout) };
}

/** Segments for target [ts, te) of `t` from source [ss, ...) of `s`, through both containers' pieces. */
function pair(t: NestedImage, ts: number, te: number, s: Indexed, ss: number, out: SegmentList, reason: Reason = 'nested-file'): void {
  // Both containers one run each (the usual case): one segment, no span list made.
  if (t.base !== undefined && s.img.base !== undefined) {
    if (te > ts) out.add(ts + t.base, te + t.base, s.index, ss + s.img.base, reason);
    return;
  }
  const tSpans = t.toImage(ts, te);
  const sSpans = s.img.toImage(ss, ss + (te - ts));
  let j = 0;
  let sAt = sSpans[0]?.start ?? 0;
  for (const tsp of tSpans) {
    let at = tsp.start;
    while (at < tsp.end && j < sSpans.length) {
      const room = sSpans[j]!.end - sAt;
      const len = Math.min(room, tsp.end - at);
      out.add(at, at + len, s.index, sAt, reason);
      at += len;
      sAt += len;
      if (sAt >= sSpans[j]!.end) {
        j++;
        sAt = sSpans[j]?.start ?? 0;
      }
    }
  }
}

/**
 * Bytes at the start of a changed compressed block that are not guessed: its
 * header, which holds the block's sizes (xz's block header, measured 12-20
 * differing bytes in the first 64), differs even where the data does not. Fetched
 * outright, they spare the samples that would find where agreement starts.
 */
export const CHANGED_BLOCK_HEADER = 64;

/** The guess of changed target block [ts, te) from the old block [ss, se): its prefix, after the header. */
function changedBlock(t: NestedImage, ts: number, te: number, s: Indexed, ss: number, se: number, out: SegmentList): void {
  const len = Math.min(te - ts, se - ss);
  if (len > CHANGED_BLOCK_HEADER) pair(t, ts + CHANGED_BLOCK_HEADER, ts + len, s, ss + CHANGED_BLOCK_HEADER, out, 'changed-block');
}

/** Logical start of chunk k of file y (of `count` chunks), undefined past the last: the '.'-parts of its evidence, as numbers. */
function laOf(x: FileTable, y: number, count: number, k: number): number | undefined {
  return k < count ? x.lasAt(y, k) : undefined;
}

/** A regular file with stored data (chunks or a tail). */
function storesData(files: FileTable, f: number): boolean {
  return files.type(f) === 'file' && (files.chunkCount(f) > 0 || files.tailBlock(f) >= 0);
}

export function mapNestedFiles(targets: readonly NestedImage[], sources: readonly NestedSource[]): NestedMapping {
  const indexed: Indexed[] = [];
  for (const s of sources) for (const img of s.nested) indexed.push(indexImage(img, s.index));
  // Columns, not objects: a segment or more per file of the target, held until the plan is built.
  const exact = new SegmentList(1024);
  const changedBlocks = new SegmentList();
  const changed: NestedChange[] = [];
  const containers = new Set<string>();
  let mappedFiles = 0;
  let files = 0;
  for (const t of targets) {
    if (t.depth === 1) containers.add(t.path);
    const candidates = [...indexed.filter((s) => s.img.path === t.path), ...indexed.filter((s) => s.img.path !== t.path && s.img.layout.format === t.layout.format)];
    const erofs = t.layout.format === 'erofs';
    const tf = t.layout.files;
    const hasher = new PathHasher(tf);
    // Target file f's path and signature against a candidate's files, on the columns (one function each per candidate).
    let f = 0;
    const pathIs = candidates.map((c) => (j: number) => samePath(tf, f, c.files, j));
    const sigIs = candidates.map((c) => (j: number) => sameSignature(tf, f, c.files, j));
    for (; f < tf.count; f++) {
      if (!storesData(tf, f)) continue;
      files++;
      const pathHash = hasher.hash(f);
      const sig = sigHash(tf, f);
      const n = tf.chunkCount(f);
      let src: Indexed | undefined;
      /** Index of the source file in src's table. */
      let from: number | undefined;
      let whole = false;
      for (let k = 0; k < candidates.length; k++) {
        const c = candidates[k]!;
        const same = c.byPath.get(pathHash, pathIs[k]!);
        if (same !== undefined && sameSignature(c.files, same, tf, f)) {
          src = c;
          from = same;
          whole = true;
          break;
        }
        if (same !== undefined && from === undefined) {
          src = c;
          from = same;
        }
      }
      if (!whole) {
        for (let k = 0; k < candidates.length; k++) {
          const c = candidates[k]!;
          const moved = c.bySig.get(sig, sigIs[k]!);
          if (moved !== undefined) {
            src = c;
            from = moved;
            whole = true;
            break;
          }
        }
      }
      let unmapped: Span[] | undefined;
      const sf = src?.img.layout.files;
      const sn = sf && from !== undefined ? sf.chunkCount(from) : 0;
      // EROFS extents' logical starts: compared as the numbers the tables keep; as the evidence strings' '.'-parts
      // when either file's are not one number per chunk (rare).
      const numeric = erofs && n > 0 && sn > 0 && tf.lasAt(f, 0) !== undefined && sf!.lasAt(from!, 0) !== undefined;
      const tEvidence = erofs && !numeric ? tf.evidence(f) : undefined;
      const sEvidence = erofs && !numeric && sf && from !== undefined ? sf.evidence(from) : undefined;
      const tLa = tEvidence ? tEvidence.split('.') : undefined;
      const sLa = sEvidence ? sEvidence.split('.') : undefined;
      // Only the first changed chunk of a run is guessed: the chunks after it hold other bytes (EROFS
      // clusters start at new logical offsets, squashfs blocks after an insertion shift).
      let prevOk = true;
      for (let i = 0; i < n; i++) {
        const ts = tf.chunkStart(f, i);
        const te = tf.chunkEnd(f, i);
        if (te <= ts) continue;
        let ok = false;
        const first = prevOk;
        if (src && sf && from !== undefined && i < sf.chunkCount(from)) {
          const ss = sf.chunkStart(from, i);
          const se = sf.chunkEnd(from, i);
          const sameStarts = numeric
            ? laOf(tf, f, n, i) === laOf(sf, from, sn, i) && laOf(tf, f, n, i + 1) === laOf(sf, from, sn, i + 1)
            : !tLa || (tLa[i] === sLa?.[i] && tLa[i + 1] === sLa?.[i + 1]);
          ok = whole || (se - ss === te - ts && sameStarts);
          if (ok) pair(t, ts, te, src, ss, exact);
          else if (first) changedBlock(t, ts, te, src, ss, se, changedBlocks);
        }
        prevOk = ok;
        if (!ok) for (const sp of t.toImage(ts, te)) (unmapped ??= []).push(sp);
      }
      // A tail in an uncompressed shared block sits there as is: an unchanged file's tail maps byte for byte.
      const tTail = whole && t.layout.shared[tf.tailBlock(f)]?.raw ? tf.tail(f) : undefined;
      const sTail = tTail && sf && from !== undefined ? sf.tail(from) : undefined;
      if (src && tTail && sTail) {
        const tb = t.layout.shared[tTail.block];
        const sb = src.img.layout.shared[sTail.block];
        if (tb?.raw && sb?.raw) pair(t, tb.start + tTail.offset, tb.start + tTail.offset + tTail.length, src, sb.start + sTail.offset, exact);
      }
      if (!unmapped) mappedFiles++;
      if (!whole) changed.push({ path: `${t.path}:${tf.path(f)}`, size: tf.size(f), unmapped: mergeSpans(unmapped ?? []) });
    }
    const same = candidates[0]?.img.path === t.path ? candidates[0] : undefined;
    const leading = same ? leadingTails(t.layout) : [];
    t.layout.shared.forEach((b, i) => {
      // An uncompressed block always has the same stored size, so its key says nothing about a tail
      // that changed in place: its unchanged tails were mapped one by one above.
      if (b.raw) return;
      const key = `${b.end - b.start}\0${b.key}`;
      const c = candidates.find((x) => x.shared.has(key));
      const sb = c?.shared.get(key);
      if (c && sb) return pair(t, b.start, b.end, c, sb.start, exact);
      // A changed shared block (a tail in it changed): the old block that starts with the same tail holds its prefix.
      const old = same?.img.layout.shared[oldSharedIndex(i, leading[i], same.byLeadingTail)];
      if (same && old && !old.raw) changedBlock(t, b.start, b.end, same, old.start, old.end, changedBlocks);
    });
  }
  // The indexes (16 bytes a source file) go now, not at the next full collection.
  for (const s of indexed) for (const x of [s.byPath, s.bySig]) x.release();
  return { exact, changedBlocks: changedBlocks.toArray(), changed, containers, mappedFiles, files };
}
