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
import type { ByteSource } from '../../store/byte-source.js';
import { SpanTable, FileTableBuilder, type Layout, type LayoutLimits, type LayoutReader, type MetadataBudget } from '../layout.js';
import { EROFS_MAGIC, FT, MAP_HEADER_BYTES, SB, SB_BYTES, SUPERBLOCK_OFFSET, u16, u32 } from './format.js';
import { giveBack } from '../../core/give-back.js';
import { Erofs, HEAD_BYTES, MAX_SYMLINK, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type Inode } from './image.js';

/**
 * Children of a level handled at once: their columns (name, nid, inode fields, the bytes read at each inode: some
 * 150 bytes a child) are a batch's, not a level's (a live tree's level of files: all of it), for a few more
 * multi-range requests (one per BATCH inodes).
 */
const BATCH = 16384;

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
  // Sized by the inode count (an entry per inode but for hard links' second names): columns grow no copy at a time.
  const files = new FileTableBuilder(visit ? 0 : Math.min(u32(sb, SB.inos) + u32(sb, SB.inos + 4) * 0x1_0000_0000, limits.entries));
  const root = await fs.inode(u16(sb, SB.rootNid));
  if ((root.mode & S_IFMT) !== S_IFDIR) fail('the root inode is not a directory');
  const rootIndex = files.add(-1, '/', { type: 'dir', size: root.size });
  // Level by level: the directories of a level, then their children's inodes, then the children's
  // cluster indexes are each announced to the source at once (prefetch), so a target read over the
  // network costs a few multi-range requests per level (per BATCH children), not one round trip per
  // inode (EROFS keeps each inode next to its file's data, spread over the whole image).
  let level: { ino: Inode; path: string; index: number; depth: number }[] = [{ ino: root, path: '', index: rootIndex, depth: 0 }];
  const seen = new Set<number>([root.nid]);
  const dec = new TextDecoder();
  while (level.length > 0) {
    const dirData: number[] = [];
    for (const { ino } of level) fs.dataRanges(ino, dirData);
    await fs.prefetch(dirData);
    const next: { ino: Inode; path: string; index: number; depth: number }[] = [];
    // In batches of directories (BATCH children or one directory's): a level may hold most of the tree.
    for (let d = 0; d < level.length; ) {
      // A batch's children as columns (one object each was most of the walk's heap): name, nid, directory entry
      // type, and the listing directory (its position in `level`).
      const names: string[] = [];
      const nids: number[] = [];
      const types: number[] = [];
      const from: number[] = [];
      for (; d < level.length && names.length < BATCH; d++) {
        const { ino, path, depth } = level[d]!;
        if (depth > limits.depth) fail(`directories nest deeper than ${limits.depth} levels at ${quote(path)}`);
        const listed = await fs.list(ino);
        for (let k = 0; k < listed.length; k++) {
          const e = listed[k]!;
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
      const heads0 = new Float64Array(2 * nids.length);
      for (let i = 0; i < nids.length; i++) {
        heads0[2 * i] = fs.metaBase + nids[i]! * 32;
        heads0[2 * i + 1] = fs.metaBase + nids[i]! * 32 + HEAD_BYTES;
      }
      await fs.prefetch(heads0);
      giveBack(heads0);
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
      // Ranges as start, end pairs (one object per range was a level's worth of garbage).
      const headerRanges: number[] = [];
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
          const at = fs.headerRange(ino);
          if (at >= 0 && at + MAP_HEADER_BYTES > ino.iloc + head.length) headerRanges.push(at, at + MAP_HEADER_BYTES);
        }
      }
      // Map headers first, then exactly the cluster indexes they describe (and symlink targets).
      await fs.prefetch(headerRanges);
      // One header at a time: the headers were just prefetched, and thousands of reads at once would each
      // load a block of a local source's cache before any could be evicted (220 MiB on the bench pair).
      const indexes: number[] = [];
      for (let i = 0; i < n; i++) await fs.indexRanges(inodeAt(i), indexes, headAt(i));
      await fs.prefetch(indexes);
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
          // The extents' logical starts as numbers (the table keeps them so, copied; `evidence` gives them as a string when asked).
          const las = got.las && got.las.length > 0 ? got.las : undefined;
          files.add(parent.index, names[i]!, { type: 'file', size: child.size, chunks: got.bounds, ref: child.nid, mode: child.mode & 0o7777, ...(las ? { las } : {}), ...(got.raw ? { raw: true } : {}) });
        } else if (fmt === S_IFLNK) {
          if (child.size > MAX_SYMLINK) fail(`symlink ${quote(pathOf(i))} has a target of ${child.size} bytes`);
          files.add(parent.index, names[i]!, { type: 'symlink', size: 0, target: dec.decode(await fs.content(child, MAX_SYMLINK)) });
        } else files.add(parent.index, names[i]!, { type: types[i] === FT.REG ? 'file' : 'other', size: 0 });
      }
      // The batch's columns go now (core/give-back.ts): left to the collector, a batch's 1.5 MB each piled up for the walk.
      for (const a of [layouts, modes, sizes, us, isizes, xattrs, heads, headLengths]) giveBack(a);
    }
    level = next;
  }
  fs.spans.push(0, Math.min(size, Math.max(fs.blksz, SUPERBLOCK_OFFSET + SB_BYTES)));
  const metadata = SpanTable.mergedBounds(fs.spans.bounds());
  // Its array (16 bytes a span, about one span per inode) would stay with the layout's readContent.
  fs.spans.clear();
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
