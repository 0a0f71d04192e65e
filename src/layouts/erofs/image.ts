/**
 * An EROFS image being read (read.ts walks it): its superblock's geometry,
 * inode decoding (compact and extended), directory blocks, symlink targets
 * and a file's stored bytes, with every metadata byte read kept as a span.
 */
import { quote } from '../../errors.js';
import type { ByteSource, Span } from '../../store/byte-source.js';
import { decodeBlock, type Codec } from '../codecs.js';
import type { MetadataBudget } from '../layout.js';
import {
  ALGORITHMS, COMPACT, COMPACT_BYTES, DIRENT_BYTES, MAP_HEADER_BYTES, EXTENDED, EXTENDED_BYTES, INCOMPAT, LAYOUT, SB, u16, u32, u64,
} from './format.js';
import { indexSpan, readZMap, type ZInode } from './zmap.js';
import { mergeBounds } from '../../core/span.js';
import { giveBack } from '../../core/give-back.js';

export interface Inode {
  nid: number;
  layout: number;
  mode: number;
  size: number;
  u: number;
  /** Byte offset of the inode and its header + xattr bytes. */
  iloc: number;
  isize: number;
  xattrBytes: number;
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
/** Largest directory read (bytes), largest symlink target. */
const MAX_DIR_BYTES = 64 * 1024 * 1024;
export const MAX_SYMLINK = 4096;
/** A compact cluster index of one or two lclusters (entries, 8-aligned, and the 8 bytes after them). */
const SMALL_INDEX_BYTES = 16;
/** Most stored bytes read at once while decoding a file. */
const RUN_BYTES = 1024 * 1024;

/**
 * Metadata spans as they are read, as numbers (two doubles each, not an object): a span that starts
 * inside or right after the last one extends it, so an inode, its map header and its cluster index,
 * which follow one another, are one entry (merged with the rest by mergeBounds: no span object per inode).
 */
export class SpanList {
  private b = new Float64Array(1024);
  private n = 0;

  push(start: number, end: number): void {
    if (end <= start) return;
    const n = this.n;
    if (n > 0 && start >= this.b[n - 2]! && start <= this.b[n - 1]!) {
      if (end > this.b[n - 1]!) this.b[n - 1] = end;
      return;
    }
    if (n + 2 > this.b.length) {
      const more = new Float64Array(this.b.length * 2);
      more.set(this.b);
      giveBack(this.b);
      this.b = more;
    }
    this.b[n] = start;
    this.b[n + 1] = end;
    this.n = n + 2;
  }

  /** Drops the spans (a layout's reads after its walk are counted in no layout): the readContent closure keeps the list. */
  clear(): void {
    giveBack(this.b);
    this.b = new Float64Array(16);
    this.n = 0;
  }

  /** The spans as [start, end) pairs, in the order read (a view, valid until the next push or clear). */
  bounds(): Float64Array {
    return this.b.subarray(0, this.n);
  }
}

/** Bytes read at an inode: the compact inode, a compressed file's map header and a small cluster index (one range of the level's prefetch). */
export const HEAD_BYTES = COMPACT_BYTES + MAP_HEADER_BYTES + SMALL_INDEX_BYTES;

export class Erofs {
  readonly blksz: number;
  readonly metaBase: number;
  readonly spans = new SpanList();

  constructor(
    readonly src: ByteSource,
    readonly name: string,
    readonly sb: Uint8Array,
    readonly budget: MetadataBudget,
    readonly fail: (p: string) => never,
  ) {
    this.blksz = 2 ** sb[SB.blkszbits]!;
    this.metaBase = u32(sb, SB.metaBlkaddr) * this.blksz;
  }

  get incompat(): number {
    return u32(this.sb, SB.featureIncompat);
  }

  async meta(at: number, len: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(at) || at < 0 || len < 0 || at + len > this.src.size) this.fail(`${what} at byte ${at} (${len} bytes) lies beyond the image (${this.src.size} bytes)`);
    this.account(at, len);
    return this.src.read(at, len);
  }

  /** Counts bytes read as metadata (the budget, the layout's metadata spans). */
  account(at: number, len: number): void {
    if (!this.budget.take(len)) this.fail(`metadata exceeds the limit of ${this.budget.limit} bytes`);
    this.spans.push(at, at + len);
  }

  /**
   * A metadata read served from `head` (bytes read at `headAt`) when it lies inside, else from the source;
   * counted the same either way.
   */
  metaFrom(head: Uint8Array | undefined, headAt: number, at: number, len: number, what: string): Promise<Uint8Array> | Uint8Array {
    if (head && at >= headAt && at + len <= headAt + head.length) {
      this.account(at, len);
      return head.subarray(at - headAt, at - headAt + len);
    }
    return this.meta(at, len, what);
  }

  /**
   * Announces ranges the walk will read soon (a network source fetches them in few requests). `bounds`: the ranges as
   * start, end pairs (a level's inodes: one pair each, no object per range).
   */
  async prefetch(bounds: ArrayLike<number>): Promise<void> {
    if ((!this.src.prefetch && !this.src.prefetchBounds) || bounds.length === 0) return;
    const inside = new Float64Array(bounds.length);
    let n = 0;
    for (let k = 0; k + 1 < bounds.length; k += 2) {
      const start = bounds[k]!;
      const end = bounds[k + 1]!;
      if (start < 0 || end > this.src.size || end <= start) continue;
      inside[n++] = start;
      inside[n++] = end;
    }
    const merged = mergeBounds(inside.subarray(0, n));
    giveBack(inside);
    if (this.src.prefetchBounds) return this.src.prefetchBounds(merged);
    const spans: Span[] = [];
    for (let k = 0; k < merged.length; k += 2) spans.push({ start: merged[k]!, end: merged[k + 1]! });
    await this.src.prefetch!(spans);
  }

  /** Where a plain or inline inode's data (a directory's entries, a symlink's target) lies. */
  dataRanges(ino: Inode, out: number[]): void {
    if (ino.layout === LAYOUT.FLAT_PLAIN) {
      out.push(ino.u * this.blksz, ino.u * this.blksz + ino.size);
      return;
    }
    if (ino.layout !== LAYOUT.FLAT_INLINE) return;
    const full = Math.floor(ino.size / this.blksz) * this.blksz;
    const tailAt = ino.iloc + ino.isize + ino.xattrBytes;
    out.push(ino.u * this.blksz, ino.u * this.blksz + full, tailAt, tailAt + ino.size - full);
  }

  isCompressed(ino: Inode): boolean {
    return ino.layout === LAYOUT.COMPRESSED_FULL || ino.layout === LAYOUT.COMPRESSED_COMPACT;
  }

  private zInode(ino: Inode): ZInode {
    return { headerPos: Math.ceil((ino.iloc + ino.isize + ino.xattrBytes) / 8) * 8, size: ino.size, compact: ino.layout === LAYOUT.COMPRESSED_COMPACT, blkszbits: Math.log2(this.blksz) };
  }

  /** A compressed inode's map header (8 bytes). */
  headerRange(ino: Inode): number {
    return !this.isCompressed(ino) || ino.size === 0 ? -1 : this.zInode(ino).headerPos;
  }

  /** What reading an inode's data map needs after its header: the cluster index, or a symlink's inline target. `head`: bytes read at the inode. */
  async indexRanges(ino: Inode, out: number[], head?: Uint8Array): Promise<void> {
    if (this.isCompressed(ino) && ino.size > 0) {
      const z = this.zInode(ino);
      if (z.headerPos + MAP_HEADER_BYTES > this.src.size) return;
      const inHead = head && z.headerPos + MAP_HEADER_BYTES <= ino.iloc + head.length;
      const x = indexSpan(z, inHead ? head.subarray(z.headerPos - ino.iloc) : await this.src.read(z.headerPos, MAP_HEADER_BYTES));
      out.push(x.start, Math.min(x.end, x.start + Math.max(0, this.budget.limit - this.budget.used)));
      return;
    }
    if ((ino.mode & S_IFMT) === S_IFLNK) this.dataRanges(ino, out);
  }

  async inode(nid: number): Promise<Inode> {
    const iloc = this.metaBase + nid * 32;
    return this.parseInode(nid, await this.meta(iloc, Math.min(COMPACT_BYTES, Math.max(0, this.src.size - iloc)), `inode ${nid}`));
  }

  /**
   * The inode at `nid` and the bytes read there (up to HEAD_BYTES: the map header and a small cluster index
   * after a compact inode, which chunksOf and indexRanges then take from them); the inode's own bytes are counted.
   */
  async inodeHead(nid: number): Promise<{ ino: Inode; head: Uint8Array }> {
    const iloc = this.metaBase + nid * 32;
    if (!Number.isSafeInteger(iloc) || iloc < 0 || iloc > this.src.size) return { ino: await this.inode(nid), head: new Uint8Array(0) };
    const head = await this.src.read(iloc, Math.min(HEAD_BYTES, this.src.size - iloc));
    this.account(iloc, Math.min(COMPACT_BYTES, head.length));
    return { ino: await this.parseInode(nid, head.length > COMPACT_BYTES ? head.subarray(0, COMPACT_BYTES) : head), head };
  }

  private async parseInode(nid: number, first: Uint8Array): Promise<Inode> {
    const iloc = this.metaBase + nid * 32;
    let head = first;
    if (head.length < COMPACT_BYTES) this.fail(`inode ${nid} is truncated`);
    const format = u16(head, 0);
    const extended = (format & 1) === 1;
    if (extended) {
      if (iloc + EXTENDED_BYTES > this.src.size) this.fail(`extended inode ${nid} is truncated`);
      const rest = await this.meta(iloc + COMPACT_BYTES, EXTENDED_BYTES - COMPACT_BYTES, `inode ${nid}`);
      const both = new Uint8Array(EXTENDED_BYTES);
      both.set(head);
      both.set(rest, COMPACT_BYTES);
      head = both;
    }
    const layout = (format >> 1) & 7;
    const xcount = u16(head, 2);
    const xattrBytes = xcount === 0 ? 0 : 12 + (xcount - 1) * 4;
    return extended
      ? { nid, layout, mode: u16(head, EXTENDED.mode), size: u64(head, EXTENDED.size), u: u32(head, EXTENDED.u), iloc, isize: EXTENDED_BYTES, xattrBytes }
      : { nid, layout, mode: u16(head, COMPACT.mode), size: u32(head, COMPACT.size), u: u32(head, COMPACT.u), iloc, isize: COMPACT_BYTES, xattrBytes };
  }

  /**
   * Stored chunks of an inode's data as [start, end) pairs (numbers, not a Span each: the walk keeps them so), with
   * the compressed extents when compressed; `head`: bytes read at the inode, if any.
   */
  async chunksOf(ino: Inode, head?: Uint8Array): Promise<{ bounds: number[]; las?: number[]; rawExtents?: number[]; algorithm?: number; raw: boolean }> {
    const { blksz } = this;
    const dataStart = ino.u * blksz;
    switch (ino.layout) {
      case LAYOUT.FLAT_PLAIN:
        if (ino.size === 0) return { bounds: [], raw: true };
        if (dataStart + ino.size > this.src.size) this.fail(`inode ${ino.nid} has data up to byte ${dataStart + ino.size}, beyond the image`);
        return { bounds: [dataStart, dataStart + ino.size], raw: true };
      case LAYOUT.FLAT_INLINE: {
        const full = Math.floor(ino.size / blksz) * blksz;
        const tail = ino.size - full;
        const bounds: number[] = [];
        if (full > 0) bounds.push(dataStart, dataStart + full);
        const tailAt = ino.iloc + ino.isize + ino.xattrBytes;
        if (tail > 0) bounds.push(tailAt, tailAt + tail);
        for (let k = 1; k < bounds.length; k += 2) if (bounds[k]! > this.src.size) this.fail(`inode ${ino.nid} has data up to byte ${bounds[k]}, beyond the image`);
        return { bounds, raw: true };
      }
      case LAYOUT.COMPRESSED_FULL:
      case LAYOUT.COMPRESSED_COMPACT: {
        // Empty: no map header, no extents (a directory of size 0 reads as no entries).
        if (ino.size === 0) return { bounds: [], las: [], rawExtents: [], raw: false };
        const map = await readZMap(
          this.zInode(ino),
          (at, len) => this.metaFrom(head, ino.iloc, at, len, `cluster index of inode ${ino.nid}`),
          Math.max(0, this.budget.limit - this.budget.used),
          (p) => this.fail(`inode ${ino.nid}: ${p}`),
        );
        const { bounds } = map;
        for (let k = 0; k < bounds.length; k += 2) if (bounds[k + 1]! > this.src.size) this.fail(`inode ${ino.nid} has a cluster at byte ${bounds[k]}, beyond the image`);
        return { bounds, las: map.las, rawExtents: map.raw, algorithm: map.algorithm, raw: false };
      }
      default:
        return { bounds: [], raw: false };
    }
  }

  /** The uncompressed bytes of an inode (bounded by maxBytes). */
  async content(ino: Inode, maxBytes: number, asMetadata = false): Promise<Uint8Array> {
    const readStored = (at: number, len: number) => (asMetadata ? this.meta(at, len, `directory inode ${ino.nid}`) : this.src.read(at, len));
    if (ino.size > maxBytes) this.fail(`inode ${ino.nid} has ${ino.size} bytes, over the limit of ${maxBytes}`);
    const got = await this.chunksOf(ino);
    const out = new Uint8Array(ino.size);
    if (got.raw) {
      let at = 0;
      const b = got.bounds;
      for (let k = 0; k < b.length; k += 2) {
        out.set(await readStored(b[k]!, Math.min(b[k + 1]! - b[k]!, ino.size - at)), at);
        at += b[k + 1]! - b[k]!;
      }
      return out;
    }
    if (ino.layout !== LAYOUT.COMPRESSED_FULL && ino.layout !== LAYOUT.COMPRESSED_COMPACT) this.fail(`inode ${ino.nid} has data layout ${ino.layout}, which cannot be read`);
    const algo = ALGORITHMS[got.algorithm ?? 0];
    const codec: Codec | undefined = algo === 'lz4' ? 'lz4' : algo === 'lzma' ? 'lzma' : algo === 'zstd' ? 'zstd' : algo === 'deflate' ? undefined : undefined;
    const las = got.las ?? [];
    const eb = got.bounds;
    const raw = new Set(got.rawExtents ?? []);
    // One read for each run of adjacent stored clusters (a file's clusters follow one another), and each
    // cluster decoded straight into the file's bytes (lz4): no buffer and no copy per cluster. A cluster
    // that decodes past its extent writes into the next ones, which are decoded after it.
    let run: Uint8Array = new Uint8Array(0);
    let runStart = 0;
    for (let i = 0; i < las.length; i++) {
      const x = { la: las[i]!, pa: eb[2 * i]!, plen: eb[2 * i + 1]! - eb[2 * i]!, raw: raw.has(i) };
      const end = i + 1 < las.length ? las[i + 1]! : ino.size;
      const want = end - x.la;
      if (want <= 0) continue;
      if (x.pa < runStart || x.pa + x.plen > runStart + run.length) {
        let runEnd = x.pa + x.plen;
        for (let j = i + 1; j < las.length && eb[2 * j] === runEnd && runEnd - x.pa < RUN_BYTES; j++) runEnd = eb[2 * j + 1]!;
        run = await readStored(x.pa, runEnd - x.pa);
        runStart = x.pa;
      }
      let stored = run.subarray(x.pa - runStart, x.pa - runStart + x.plen);
      let bytes: Uint8Array;
      if (x.raw) bytes = stored.subarray(0, want);
      else {
        if (!codec) this.fail(`inode ${ino.nid} uses compression ${algo ?? got.algorithm}, which is not supported`);
        // LZ4_0PADDING: the compressed stream is at the end of its cluster, after zeros.
        if (this.incompat & INCOMPAT.ZERO_PADDING) {
          let z = 0;
          while (z < stored.length && stored[z] === 0) z++;
          stored = stored.subarray(z);
        }
        const direct = codec === 'lz4';
        const maxOut = direct ? ino.size - x.la : Math.max(want, x.plen * 64);
        bytes = await decodeBlock(codec, stored, maxOut, (p) => this.fail(`inode ${ino.nid}, extent at ${x.la}: ${p}`), direct ? out.subarray(x.la) : undefined);
        if (direct && bytes.length >= want) continue;
      }
      if (bytes.length < want) this.fail(`inode ${ino.nid}: extent at ${x.la} holds ${bytes.length} bytes, not ${want}`);
      out.set(bytes.subarray(0, want), x.la);
    }
    return out;
  }

  async list(dir: Inode): Promise<{ name: string; nid: number; type: number }[]> {
    if (dir.size > MAX_DIR_BYTES) this.fail(`directory inode ${dir.nid} has ${dir.size} bytes, over ${MAX_DIR_BYTES}`);
    const data = await this.content(dir, MAX_DIR_BYTES, true);
    const out: { name: string; nid: number; type: number }[] = [];
    const dec = new TextDecoder();
    for (let blk = 0; blk < data.length; blk += this.blksz) {
      const end = Math.min(data.length, blk + this.blksz);
      const first = u16(data, blk + 8);
      if (first < DIRENT_BYTES || first % DIRENT_BYTES !== 0 || blk + first > end) this.fail(`directory inode ${dir.nid} has a bad first name offset ${first}`);
      const n = first / DIRENT_BYTES;
      for (let i = 0; i < n; i++) {
        const at = blk + i * DIRENT_BYTES;
        const nameoff = u16(data, at + 8);
        const nextoff = i + 1 < n ? u16(data, at + DIRENT_BYTES + 8) : end - blk;
        if (nameoff >= nextoff || blk + nextoff > end) this.fail(`directory inode ${dir.nid} has name offsets out of order`);
        let nameEnd = blk + nextoff;
        if (i + 1 === n) {
          const nul = data.subarray(blk + nameoff, nameEnd).indexOf(0);
          if (nul >= 0) nameEnd = blk + nameoff + nul;
        }
        const name = dec.decode(data.subarray(blk + nameoff, nameEnd));
        if (name === '.' || name === '..') continue;
        if (name.length === 0 || name.includes('/')) this.fail(`directory inode ${dir.nid} has entry ${quote(name)}, not a plain name`);
        out.push({ name, nid: u64(data, at), type: data[at + 10]! });
      }
    }
    return out;
  }
}

