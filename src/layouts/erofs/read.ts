/**
 * The EROFS layout: the superblock, then a walk of the directory tree from
 * the root nid (iteratively, each directory once). Per regular file the
 * stored chunks are: the plain data blocks (FLAT_PLAIN), the full blocks and
 * the inline tail (FLAT_INLINE), or one chunk per extent of the cluster index
 * (compressed layouts, zmap.ts), with the extents' logical starts as
 * `evidence` (equal stored sizes and equal logical boundaries: very probably
 * the same compressed bytes). Chunk-based files are listed without chunks.
 *
 * Metadata: the superblock block and every inode, index and directory byte
 * read (EROFS keeps inodes in the metadata area; directory blocks may sit
 * among the data). With `visit` (a get of a few paths), only the entries it
 * accepts are read: the rest of the inodes are never touched.
 */
import { IsosyncError, quote } from '../../errors.js';
import type { ByteSource, Span } from '../../store/byte-source.js';
import { decodeBlock, type Codec } from '../codecs.js';
import { SpanTable, FileTableBuilder, type Layout, type LayoutLimits, type LayoutReader, type MetadataBudget } from '../layout.js';
import {
  ALGORITHMS, COMPACT, COMPACT_BYTES, DIRENT_BYTES, MAP_HEADER_BYTES, EROFS_MAGIC, EXTENDED, EXTENDED_BYTES, FT, INCOMPAT, LAYOUT, SB, SB_BYTES, SUPERBLOCK_OFFSET, u16, u32, u64,
} from './format.js';
import { indexSpan, readZMap, type ZExtent, type ZInode } from './zmap.js';
import { mergeSpans } from '../../core/span.js';

interface Inode {
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

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** Largest directory read (bytes), largest symlink target. */
const MAX_DIR_BYTES = 64 * 1024 * 1024;
const MAX_SYMLINK = 4096;
/** A compact cluster index of one or two lclusters (entries, 8-aligned, and the 8 bytes after them). */
const SMALL_INDEX_BYTES = 16;
/** Most stored bytes read at once while decoding a file. */
const RUN_BYTES = 1024 * 1024;

/**
 * Metadata spans as they are read, as numbers (two doubles each, not an object): a span that starts
 * inside or right after the last one extends it, so an inode, its map header and its cluster index,
 * which follow one another, are one entry. `merged` gives the same union as mergeSpans of every span.
 */
class SpanList {
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
      this.b = more;
    }
    this.b[n] = start;
    this.b[n + 1] = end;
    this.n = n + 2;
  }

  merged(): Span[] {
    const order = new Uint32Array(this.n / 2);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((x, y) => this.b[2 * x]! - this.b[2 * y]!);
    const out: { start: number; end: number }[] = [];
    for (const i of order) {
      const start = this.b[2 * i]!;
      const end = this.b[2 * i + 1]!;
      const last = out[out.length - 1];
      if (last && start <= last.end) {
        if (end > last.end) last.end = end;
      } else out.push({ start, end });
    }
    return out;
  }
}

/** Bytes read at an inode: the compact inode, a compressed file's map header and a small cluster index (one range of the level's prefetch). */
const HEAD_BYTES = COMPACT_BYTES + MAP_HEADER_BYTES + SMALL_INDEX_BYTES;

class Erofs {
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

  /** Announces ranges the walk will read soon (a network source fetches them in few requests). */
  async prefetch(ranges: Span[]): Promise<void> {
    if (!this.src.prefetch || ranges.length === 0) return;
    const inside = ranges.filter((r) => r.start >= 0 && r.end <= this.src.size && r.end > r.start).sort((a, b) => a.start - b.start);
    await this.src.prefetch(mergeSpans(inside));
  }

  /** Where a plain or inline inode's data (a directory's entries, a symlink's target) lies. */
  dataRanges(ino: Inode): Span[] {
    if (ino.layout === LAYOUT.FLAT_PLAIN) return [{ start: ino.u * this.blksz, end: ino.u * this.blksz + ino.size }];
    if (ino.layout !== LAYOUT.FLAT_INLINE) return [];
    const full = Math.floor(ino.size / this.blksz) * this.blksz;
    const tailAt = ino.iloc + ino.isize + ino.xattrBytes;
    return [{ start: ino.u * this.blksz, end: ino.u * this.blksz + full }, { start: tailAt, end: tailAt + ino.size - full }];
  }

  isCompressed(ino: Inode): boolean {
    return ino.layout === LAYOUT.COMPRESSED_FULL || ino.layout === LAYOUT.COMPRESSED_COMPACT;
  }

  private zInode(ino: Inode): ZInode {
    return { headerPos: Math.ceil((ino.iloc + ino.isize + ino.xattrBytes) / 8) * 8, size: ino.size, compact: ino.layout === LAYOUT.COMPRESSED_COMPACT, blkszbits: Math.log2(this.blksz) };
  }

  /** A compressed inode's map header (8 bytes). */
  headerRanges(ino: Inode): Span[] {
    if (!this.isCompressed(ino) || ino.size === 0) return [];
    const at = this.zInode(ino).headerPos;
    return [{ start: at, end: at + MAP_HEADER_BYTES }];
  }

  /** What reading an inode's data map needs after its header: the cluster index, or a symlink's inline target. `head`: bytes read at the inode. */
  async indexRanges(ino: Inode, head?: Uint8Array): Promise<Span[]> {
    if (this.isCompressed(ino) && ino.size > 0) {
      const z = this.zInode(ino);
      if (z.headerPos + MAP_HEADER_BYTES > this.src.size) return [];
      const inHead = head && z.headerPos + MAP_HEADER_BYTES <= ino.iloc + head.length;
      const x = indexSpan(z, inHead ? head.subarray(z.headerPos - ino.iloc) : await this.src.read(z.headerPos, MAP_HEADER_BYTES));
      return [{ start: x.start, end: Math.min(x.end, x.start + Math.max(0, this.budget.limit - this.budget.used)) }];
    }
    return (ino.mode & S_IFMT) === S_IFLNK ? this.dataRanges(ino) : [];
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

  /** Stored chunks of an inode's data, with the compressed extents when compressed; `head`: bytes read at the inode, if any. */
  async chunksOf(ino: Inode, head?: Uint8Array): Promise<{ chunks: Span[]; extents?: ZExtent[]; algorithm?: number; raw: boolean }> {
    const { blksz } = this;
    const dataStart = ino.u * blksz;
    switch (ino.layout) {
      case LAYOUT.FLAT_PLAIN:
        if (ino.size === 0) return { chunks: [], raw: true };
        if (dataStart + ino.size > this.src.size) this.fail(`inode ${ino.nid} has data up to byte ${dataStart + ino.size}, beyond the image`);
        return { chunks: [{ start: dataStart, end: dataStart + ino.size }], raw: true };
      case LAYOUT.FLAT_INLINE: {
        const full = Math.floor(ino.size / blksz) * blksz;
        const tail = ino.size - full;
        const chunks: Span[] = [];
        if (full > 0) chunks.push({ start: dataStart, end: dataStart + full });
        const tailAt = ino.iloc + ino.isize + ino.xattrBytes;
        if (tail > 0) chunks.push({ start: tailAt, end: tailAt + tail });
        for (const c of chunks) if (c.end > this.src.size) this.fail(`inode ${ino.nid} has data up to byte ${c.end}, beyond the image`);
        return { chunks, raw: true };
      }
      case LAYOUT.COMPRESSED_FULL:
      case LAYOUT.COMPRESSED_COMPACT: {
        // Empty: no map header, no extents (a directory of size 0 reads as no entries).
        if (ino.size === 0) return { chunks: [], extents: [], raw: false };
        const map = await readZMap(
          this.zInode(ino),
          async (at, len) => this.metaFrom(head, ino.iloc, at, len, `cluster index of inode ${ino.nid}`),
          Math.max(0, this.budget.limit - this.budget.used),
          (p) => this.fail(`inode ${ino.nid}: ${p}`),
        );
        for (const x of map.extents) if (x.pa + x.plen > this.src.size) this.fail(`inode ${ino.nid} has a cluster at byte ${x.pa}, beyond the image`);
        return { chunks: map.extents.map((x) => ({ start: x.pa, end: x.pa + x.plen })), extents: map.extents, algorithm: map.algorithm, raw: false };
      }
      default:
        return { chunks: [], raw: false };
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
      for (const c of got.chunks) {
        out.set(await readStored(c.start, Math.min(c.end - c.start, ino.size - at)), at);
        at += c.end - c.start;
      }
      return out;
    }
    if (ino.layout !== LAYOUT.COMPRESSED_FULL && ino.layout !== LAYOUT.COMPRESSED_COMPACT) this.fail(`inode ${ino.nid} has data layout ${ino.layout}, which cannot be read`);
    const algo = ALGORITHMS[got.algorithm ?? 0];
    const codec: Codec | undefined = algo === 'lz4' ? 'lz4' : algo === 'lzma' ? 'lzma' : algo === 'zstd' ? 'zstd' : algo === 'deflate' ? undefined : undefined;
    const ext = got.extents ?? [];
    // One read for each run of adjacent stored clusters (a file's clusters follow one another), and each
    // cluster decoded straight into the file's bytes (lz4): no buffer and no copy per cluster. A cluster
    // that decodes past its extent writes into the next ones, which are decoded after it.
    let run: Uint8Array = new Uint8Array(0);
    let runStart = 0;
    for (let i = 0; i < ext.length; i++) {
      const x = ext[i]!;
      const end = i + 1 < ext.length ? ext[i + 1]!.la : ino.size;
      const want = end - x.la;
      if (want <= 0) continue;
      if (x.pa < runStart || x.pa + x.plen > runStart + run.length) {
        let runEnd = x.pa + x.plen;
        for (let j = i + 1; j < ext.length && ext[j]!.pa === runEnd && runEnd - x.pa < RUN_BYTES; j++) runEnd += ext[j]!.plen;
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

async function readErofs(src: ByteSource, name: string, limits: LayoutLimits, budget: MetadataBudget, visit?: (path: string) => boolean): Promise<Layout> {
  const fail = (p: string): never => {
    throw new IsosyncError('BAD_ISO', `Cannot read EROFS ${quote(name)}: ${p}`, { image: name });
  };
  if (src.size < SUPERBLOCK_OFFSET + SB_BYTES) fail(`image of ${src.size} bytes is too small`);
  const sb = await src.read(SUPERBLOCK_OFFSET, SB_BYTES);
  if (u32(sb, SB.magic) !== EROFS_MAGIC) fail('no EROFS magic at byte 1024');
  const bits = sb[SB.blkszbits]!;
  if (bits < 9 || bits > 16) fail(`block size 2^${bits} is not supported`);
  const fs = new Erofs(src, name, sb, budget, fail);
  const blocks = u32(sb, SB.blocks);
  const size = Math.min(src.size, blocks * fs.blksz);
  const files = new FileTableBuilder();
  const root = await fs.inode(u16(sb, SB.rootNid));
  if ((root.mode & S_IFMT) !== S_IFDIR) fail('the root inode is not a directory');
  const rootIndex = files.add(-1, '/', { type: 'dir', size: root.size });
  // Level by level: the directories of a level, then their children's inodes, then the children's
  // cluster indexes are each announced to the source at once (prefetch), so a target read over the
  // network costs a few multi-range requests per level, not one round trip per inode (EROFS keeps
  // each inode next to its file's data, spread over the whole image).
  let level: { ino: Inode; path: string; index: number; depth: number }[] = [{ ino: root, path: '', index: rootIndex, depth: 0 }];
  const seen = new Set<number>([root.nid]);
  const dec = new TextDecoder();
  while (level.length > 0) {
    await fs.prefetch(level.flatMap(({ ino }) => fs.dataRanges(ino)));
    // A level's children as columns (a level may hold most of the tree: one object each was most of the walk's
    // heap): name, nid, directory entry type, and the listing directory (its position in `level`).
    const names: string[] = [];
    const nids: number[] = [];
    const types: number[] = [];
    const from: number[] = [];
    for (let d = 0; d < level.length; d++) {
      const { ino, path, depth } = level[d]!;
      if (depth > limits.depth) fail(`directories nest deeper than ${limits.depth} levels at ${quote(path)}`);
      for (const e of await fs.list(ino)) {
        if (files.count + names.length >= limits.entries) fail(`more than ${limits.entries} entries`);
        if (!Number.isSafeInteger(e.nid)) fail(`entry ${quote(e.name)} has nid ${e.nid}`);
        // Inodes sit beside their data all over the image: an entry the caller does not want costs no read.
        if (visit && !visit(`${path}/${e.name}`)) continue;
        names.push(e.name);
        nids.push(e.nid);
        types.push(e.type);
        from.push(d);
      }
    }
    const n = names.length;
    const pathOf = (i: number) => `${level[from[i]!]!.path}/${names[i]!}`;
    // Compact inodes (32 bytes) are the rule, and a compressed one's map header follows it, then its
    // cluster index: one range each, with the index of a file of one or two clusters (most files of a
    // root tree are that small), since a part of a multi-range reply costs some 90 bytes of framing
    // and a longer index is another part. Each is read once (the inode, and what follows it when the
    // header and index lie there); an extended inode reads its other half on its own.
    await fs.prefetch(nids.map((nid) => ({ start: fs.metaBase + nid * 32, end: fs.metaBase + nid * 32 + HEAD_BYTES })));
    // The inodes' fields as columns too; each child's Inode object is made again when it is handled.
    const layouts = new Uint8Array(n);
    const modes = new Uint16Array(n);
    const sizes = new Float64Array(n);
    const us = new Float64Array(n);
    const isizes = new Uint8Array(n);
    const xattrs = new Uint32Array(n);
    // The bytes after a compressed inode (map header and small index), HEAD_BYTES a child.
    const heads = new Uint8Array(n * HEAD_BYTES);
    const headLengths = new Uint8Array(n);
    const inodeAt = (i: number): Inode => ({ nid: nids[i]!, layout: layouts[i]!, mode: modes[i]!, size: sizes[i]!, u: us[i]!, iloc: fs.metaBase + nids[i]! * 32, isize: isizes[i]!, xattrBytes: xattrs[i]! });
    const headAt = (i: number): Uint8Array => heads.subarray(i * HEAD_BYTES, i * HEAD_BYTES + headLengths[i]!);
    const headerRanges: Span[] = [];
    for (let i = 0; i < n; i++) {
      const { ino, head } = await fs.inodeHead(nids[i]!);
      layouts[i] = ino.layout;
      modes[i] = ino.mode;
      sizes[i] = ino.size;
      us[i] = ino.u;
      isizes[i] = ino.isize;
      xattrs[i] = ino.xattrBytes;
      if (fs.isCompressed(ino) && ino.size > 0) {
        heads.set(head, i * HEAD_BYTES);
        headLengths[i] = head.length;
        // Map headers not among the bytes read (after xattrs or an extended inode): prefetched next.
        for (const r of fs.headerRanges(ino)) if (r.end > ino.iloc + head.length) headerRanges.push(r);
      }
    }
    // Map headers first, then exactly the cluster indexes they describe (and symlink targets).
    await fs.prefetch(headerRanges);
    // One header at a time: the headers were just prefetched, and thousands of reads at once would each
    // load a block of a local source's cache before any could be evicted (220 MiB on the bench pair).
    const indexes: Span[] = [];
    for (let i = 0; i < n; i++) for (const r of await fs.indexRanges(inodeAt(i), headAt(i))) indexes.push(r);
    await fs.prefetch(indexes);
    const next: { ino: Inode; path: string; index: number; depth: number }[] = [];
    for (let i = 0; i < n; i++) {
      const child = inodeAt(i);
      const parent = level[from[i]!]!;
      const fmt = child.mode & S_IFMT;
      if (fmt === S_IFDIR) {
        const index = files.add(parent.index, names[i]!, { type: 'dir', size: child.size });
        if (!seen.has(child.nid)) {
          seen.add(child.nid);
          next.push({ ino: child, path: pathOf(i), index, depth: parent.depth + 1 });
        }
      } else if (fmt === S_IFREG) {
        const got = await fs.chunksOf(child, headAt(i));
        const chunks = new Array<number>(got.chunks.length * 2);
        got.chunks.forEach((x, k) => {
          chunks[2 * k] = x.start;
          chunks[2 * k + 1] = x.end;
        });
        // The extents' logical starts as numbers (the table keeps them so; `evidence` gives them as a string when asked).
        const las = got.extents && got.extents.length > 0 ? got.extents.map((x) => x.la) : undefined;
        files.add(parent.index, names[i]!, { type: 'file', size: child.size, chunks, ref: child.nid, mode: child.mode & 0o7777, ...(las ? { las } : {}), ...(got.raw ? { raw: true } : {}) });
      } else if (fmt === S_IFLNK) {
        if (child.size > MAX_SYMLINK) fail(`symlink ${quote(pathOf(i))} has a target of ${child.size} bytes`);
        files.add(parent.index, names[i]!, { type: 'symlink', size: 0, target: dec.decode(await fs.content(child, MAX_SYMLINK)) });
      } else files.add(parent.index, names[i]!, { type: types[i] === FT.REG ? 'file' : 'other', size: 0 });
    }
    level = next;
  }
  fs.spans.push(0, Math.min(size, Math.max(fs.blksz, SUPERBLOCK_OFFSET + SB_BYTES)));
  const metadata = SpanTable.merged(fs.spans.merged());
  return {
    format: 'erofs',
    size,
    files: files.finish(),
    metadata,
    shared: [],
    readContent: async (file, maxBytes) => {
      const nid = file.ref;
      if (nid === undefined) return fail(`${quote(file.path)} is not a regular file of this image`);
      return fs.content(await fs.inode(nid), maxBytes);
    },
  };
}

export const erofsReader: LayoutReader = {
  format: 'erofs',
  sniff: (head) => head.length >= SUPERBLOCK_OFFSET + 4 && u32(head, SUPERBLOCK_OFFSET) === EROFS_MAGIC,
  read: readErofs,
};
