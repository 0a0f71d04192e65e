/**
 * The squashfs 4.0 layout: reads the superblock, then walks the directory
 * table from the root inode (iteratively, each directory once), reading each
 * entry's inode; then the fragment table (where each file's tail sits) and
 * the id table. Files' stored chunks are their data blocks, one chunk per
 * block, consecutive from `blocks_start`; a file's tail in a fragment block
 * is a `tail` into a SharedBlock whose key names every tail it holds.
 *
 * Metadata (for the planner): the superblock and compressor options, and
 * everything from the first table to bytes_used (mksquashfs writes data and
 * fragments first, then the inode, directory, fragment, export, id and
 * xattr tables).
 */
import { createHash } from 'node:crypto';
import { IsosyncError, quote } from '../../errors.js';
import type { ByteSource, Span } from '../../store/byte-source.js';
import { decodeBlock, type Codec } from '../codecs.js';
import { SpanTable, FileTableBuilder, type FileInit, type FileTable, type Layout, type LayoutLimits, type LayoutReader, type MetadataBudget, type SharedBlock } from '../layout.js';
import { BLOCK_UNCOMPRESSED, NO_FRAGMENT, readInode, storedLength, T, UTF8, type Inode } from './inode.js';
import { PathUnits } from '../entry-keys.js';
import { MetadataReader } from './metadata.js';
import { COMPRESSORS, FLAG_COMPRESSOR_OPTIONS, INVALID_BLK, parseSuperblock, SQUASHFS_MAGIC, SUPERBLOCK_BYTES, type Superblock } from './superblock.js';

/** Fragment entries per 8 KiB metadata block (16 bytes each); ids per block (4 bytes each). */
const FRAGMENTS_PER_BLOCK = 512;
const IDS_PER_BLOCK = 2048;
/** Path units (2 bytes each) gathered before a fragment key's hash takes them: 16 KiB. */
const HASH_UNITS = 8192;
/** Entries under one directory header (squashfs.rst: at most 256). */
const MAX_HEADER_ENTRIES = 256;
/** Bytes of a decoded metadata block: an offset in one is below this. */
const METADATA_BLOCK = 8192;

class Squashfs {
  readonly fail: (p: string) => never;
  readonly meta: MetadataReader;
  readonly codec: Codec | undefined;
  fragments: { start: number; stored: number }[] = [];
  /**
   * Starts (in the inode table) of the blocks holding a regular file's inode, in the order met: a file's ref names
   * its block by its place here, ordinal * 8192 + offset, which fits 32 bits (file-table.ts keeps refs in 4 bytes
   * then), where start * 65536 + offset did not past 64 KiB of inode table (some 10,000 files).
   */
  private readonly refBlocks: number[] = [];
  private readonly refBlockAt = new Map<number, number>();

  constructor(readonly src: ByteSource, readonly name: string, readonly sb: Superblock, budget: MetadataBudget) {
    this.fail = (p: string): never => {
      throw new IsosyncError('BAD_ISO', `Cannot read squashfs ${quote(name)}: ${p}`, { image: name });
    };
    this.codec = COMPRESSORS[sb.compressor]?.codec;
    this.meta = new MetadataReader(src, this.codec, sb.bytesUsed, budget, this.fail);
  }

  /** A cursor at an inode reference: (block start in the inode table) * 65536 + offset in the decoded block. */
  inodeCursor(ref: bigint | number) {
    // The walk's references (a 32-bit block start and a 16-bit offset) are exact as numbers: no BigInt per inode.
    if (typeof ref === 'number') return this.meta.cursor(this.sb.inodeTable + Math.floor(ref / 65536), ref % 65536);
    return this.meta.cursor(this.sb.inodeTable + Number(ref >> 16n), Number(ref & 0xffffn));
  }

  /** A file's ref (FileInit.ref) for its inode at `start`, `offset`; an offset a block cannot hold keeps -(start * 65536 + offset) - 1. */
  fileRef(start: number, offset: number): number {
    if (offset >= METADATA_BLOCK) return -(start * 65536 + offset) - 1;
    let k = this.refBlockAt.get(start);
    if (k === undefined) {
      k = this.refBlocks.push(start) - 1;
      this.refBlockAt.set(start, k);
    }
    return k * METADATA_BLOCK + offset;
  }

  /** The inode reference (start * 65536 + offset) a file's ref stands for. */
  inodeOfRef(ref: number): number {
    if (ref < 0) return -ref - 1;
    const start = this.refBlocks[Math.floor(ref / METADATA_BLOCK)];
    return start === undefined ? this.fail(`no inode for reference ${ref}`) : start * 65536 + (ref % METADATA_BLOCK);
  }

  async walk(limits: LayoutLimits): Promise<FileTable> {
    // Sized by the inode count (an entry per inode but for hard links' second names): columns grow no copy at a time.
    const files = new FileTableBuilder(Math.min(this.sb.inodes, limits.entries));
    const root = await readInode(this.inodeCursor(this.sb.rootInode), this.sb.blockSize, this.fail, this.sb.bytesUsed);
    if (root.kind !== 'dir') this.fail('the root inode is not a directory');
    const stack: { dir: Inode & { kind: 'dir' }; path: string; index: number; depth: number }[] = [{ dir: root, path: '', index: files.add(-1, '/', { type: 'dir', size: 0 }), depth: 0 }];
    const seenDirs = new Set<string>([`${root.block}:${root.offset}`]);
    while (stack.length > 0) {
      const { dir, path, index, depth } = stack.pop()!;
      if (depth > limits.depth) this.fail(`directories nest deeper than ${limits.depth} levels at ${quote(path)}`);
      for (const ent of await this.listDir(dir)) {
        if (files.count >= limits.entries) this.fail(`more than ${limits.entries} entries`);
        const ino = await readInode(this.inodeCursor(ent.start * 65536 + ent.offset), this.sb.blockSize, this.fail, this.sb.bytesUsed);
        if (ino.kind === 'dir') {
          const key = `${ino.block}:${ino.offset}`;
          const at = files.add(index, ent.name, { type: 'dir', size: ino.size });
          if (!seenDirs.has(key)) {
            seenDirs.add(key);
            stack.push({ dir: ino, path: `${path}/${ent.name}`, index: at, depth: depth + 1 });
          }
        } else if (ino.kind === 'file') {
          // ref: where the inode is (fileRef), to read the content again later.
          files.add(index, ent.name, this.fileOf(path, ent.name, ino, this.fileRef(ent.start, ent.offset)));
        } else if (ino.kind === 'symlink') {
          files.add(index, ent.name, { type: 'symlink', size: 0, target: ino.target });
        } else files.add(index, ent.name, { type: 'other', size: 0 });
      }
    }
    return files.finish();
  }

  /** A file's entry; `dir` and `name` make its path for an error only (no path string per file of the tree). */
  private fileOf(dir: string, name: string, ino: Inode & { kind: 'file' }, ref: number): FileInit {
    const path = (): string => `${dir}/${name}`;
    const chunks = new Array<number>(ino.blocks.length * 2);
    let at = ino.blocksStart;
    for (let i = 0; i < ino.blocks.length; i++) {
      const len = storedLength(ino.blocks[i]!);
      chunks[2 * i] = at;
      chunks[2 * i + 1] = at + len;
      at += len;
    }
    if (at > this.sb.bytesUsed) this.fail(`file ${quote(path())} has data blocks up to byte ${at}, beyond bytes_used ${this.sb.bytesUsed}`);
    const tailLen = ino.size - ino.blocks.length * this.sb.blockSize;
    const tail = ino.fragment !== NO_FRAGMENT && tailLen > 0 ? { block: ino.fragment, offset: ino.fragOffset, length: tailLen } : undefined;
    if (tail && (tail.block >= this.sb.fragments || tail.offset + tail.length > this.sb.blockSize)) {
      this.fail(`file ${quote(path())} has its tail in fragment ${tail.block} at ${tail.offset}+${tail.length}, outside the ${this.sb.fragments} fragments of ${this.sb.blockSize} bytes`);
    }
    return { type: 'file', size: ino.size, chunks, ref, mode: ino.mode & 0o7777, ...(tail ? { tail } : {}) };
  }

  /** The entries of a directory (squashfs.rst "Directory table"): headers, each followed by up to 256 entries. */
  private async listDir(dir: Inode & { kind: 'dir' }): Promise<{ name: string; start: number; offset: number }[]> {
    // file_size counts 3 bytes for the implicit "." and ".." entries.
    let left = dir.size - 3;
    const out: { name: string; start: number; offset: number }[] = [];
    if (left <= 0) return out;
    const c = this.meta.cursor(this.sb.directoryTable + dir.block, dir.offset);
    while (left > 0) {
      if (left < 12) this.fail(`directory listing at ${dir.block}:${dir.offset} ends inside a header`);
      const h = c.takeNow(12) ?? (await c.take(12));
      left -= 12;
      const count = (h[0]! | (h[1]! << 8) | (h[2]! << 16)) + h[3]! * 0x1000000 + 1;
      const start = (h[4]! | (h[5]! << 8) | (h[6]! << 16)) + h[7]! * 0x1000000;
      if (count > MAX_HEADER_ENTRIES) this.fail(`directory header at ${dir.block}:${dir.offset} claims ${count} entries, over ${MAX_HEADER_ENTRIES}`);
      for (let i = 0; i < count; i++) {
        if (left < 8) this.fail(`directory listing at ${dir.block}:${dir.offset} ends inside an entry`);
        const e = c.takeNow(8) ?? (await c.take(8));
        const nameLen = (e[6]! | (e[7]! << 8)) + 1;
        // Read before the name: `e` is a view of a cached block's slot, which a block loaded for the name may take.
        const offset = e[0]! | (e[1]! << 8);
        left -= 8 + nameLen;
        if (left < 0) this.fail(`directory entry name runs past the listing at ${dir.block}:${dir.offset}`);
        const name = UTF8.decode(c.takeNow(nameLen) ?? (await c.take(nameLen)));
        if (name.includes('/') || name === '.' || name === '..') this.fail(`directory entry ${quote(name)} is not a plain name`);
        out.push({ name, start, offset });
      }
    }
    return out;
  }

  /** An index table (fragment, id): u64 pointers to metadata blocks, then the blocks' entries. */
  async indexTable(at: number, count: number, entryBytes: number, perBlock: number): Promise<Uint8Array> {
    const blocks = Math.ceil(count / perBlock);
    if (at + blocks * 8 > this.sb.bytesUsed) this.fail(`table index at byte ${at} (${blocks} blocks) runs past bytes_used`);
    const idx = await this.src.read(at, blocks * 8);
    this.meta.spans.push({ start: at, end: at + blocks * 8 });
    const out = new Uint8Array(count * entryBytes);
    for (let i = 0; i < blocks; i++) {
      const pos = (idx[i * 8]! | (idx[i * 8 + 1]! << 8) | (idx[i * 8 + 2]! << 16)) + idx[i * 8 + 3]! * 0x1000000 + (idx[i * 8 + 4]! | (idx[i * 8 + 5]! << 8)) * 0x1_0000_0000;
      const n = Math.min(perBlock, count - i * perBlock) * entryBytes;
      out.set(await this.meta.cursor(pos, 0).take(n), i * perBlock * entryBytes);
    }
    return out;
  }

  async readFragments(): Promise<void> {
    const n = this.sb.fragments;
    if (n === 0 || this.sb.fragmentTable === INVALID_BLK) return;
    const t = await this.indexTable(this.sb.fragmentTable, n, 16, FRAGMENTS_PER_BLOCK);
    const v = new DataView(t.buffer, t.byteOffset, t.length);
    for (let i = 0; i < n; i++) {
      const start = v.getUint32(i * 16, true) + v.getUint32(i * 16 + 4, true) * 0x1_0000_0000;
      const size = v.getUint32(i * 16 + 8, true);
      const stored = storedLength(size);
      if (start + stored > this.sb.bytesUsed) this.fail(`fragment ${i} at byte ${start} (${stored} bytes) runs past bytes_used`);
      this.fragments.push({ start, stored: size });
    }
  }

  async readContent(ino: Inode & { kind: 'file' }, path: string, maxBytes: number): Promise<Uint8Array> {
    if (ino.size > maxBytes) this.fail(`file ${quote(path)} has ${ino.size} bytes, over the limit of ${maxBytes}`);
    const out = new Uint8Array(ino.size);
    const bs = this.sb.blockSize;
    let at = ino.blocksStart;
    for (let i = 0; i < ino.blocks.length; i++) {
      const e = ino.blocks[i]!;
      const len = storedLength(e);
      const want = Math.min(bs, ino.size - i * bs);
      if (len > 0) {
        const block = await this.dataBlock(at, e, `block ${i} of ${quote(path)}`);
        if (block.length !== want) this.fail(`block ${i} of ${quote(path)} holds ${block.length} bytes, not ${want}`);
        out.set(block, i * bs);
      }
      at += len;
    }
    const tailLen = ino.size - ino.blocks.length * bs;
    if (ino.fragment !== NO_FRAGMENT && tailLen > 0) {
      const f = this.fragments[ino.fragment];
      if (!f) this.fail(`file ${quote(path)} names fragment ${ino.fragment}, beyond the fragment table`);
      const block = await this.dataBlock(f.start, f.stored, `fragment ${ino.fragment}`);
      if (ino.fragOffset + tailLen > block.length) this.fail(`the tail of ${quote(path)} lies beyond fragment ${ino.fragment}`);
      out.set(block.subarray(ino.fragOffset, ino.fragOffset + tailLen), ino.blocks.length * bs);
    }
    return out;
  }

  private async dataBlock(at: number, entry: number, what: string): Promise<Uint8Array> {
    const len = storedLength(entry);
    const stored = await this.src.read(at, len);
    if (entry & BLOCK_UNCOMPRESSED) return stored;
    if (!this.codec) this.fail(`${what} is compressed with an unsupported compressor`);
    return decodeBlock(this.codec, stored, this.sb.blockSize, (p) => this.fail(`${what}: ${p}`));
  }
}

/**
 * SharedBlocks for the fragment table, keyed by the tails they hold (the keys made, all at once, when first asked for):
 * a SHA-1 of the block's stored size and, for each file with a tail in it, in table (path) order, its path's code units
 * (entry-keys.ts PathUnits), the tail's offset and length, all written into one reused buffer per block. No string is
 * made per file: a "path:offset:length" string per tail, sorted and joined, was 1.1 KB of garbage per entry of the
 * tree while a sync mapped its files (both images' keys are made then).
 */
function sharedBlocks(fs: Squashfs, files: FileTable): SharedBlock[] {
  let keys: string[] | undefined;
  const keyOf = (i: number): string => {
    if (!keys) {
      const n = fs.fragments.length;
      // Files by block, in table order: a count per block, then each block's run of file indexes.
      const start = new Int32Array(n + 1);
      for (let f = 0; f < files.count; f++) {
        const b = files.tailBlock(f);
        if (b >= 0 && b < n) start[b + 1]!++;
      }
      for (let b = 0; b < n; b++) start[b + 1]! += start[b]!;
      const byBlock = new Int32Array(start[n]!);
      const at = start.slice(0, n);
      for (let f = 0; f < files.count; f++) {
        const b = files.tailBlock(f);
        if (b >= 0 && b < n) byBlock[at[b]!++] = f;
      }
      const w = new PathUnits();
      const put = (end: number, v: number): number => {
        w.room(end + 2);
        w.units[end] = v & 0xffff;
        w.units[end + 1] = v >>> 16;
        return end + 2;
      };
      keys = fs.fragments.map((fr, k) => {
        const h = createHash('sha1');
        let end = put(0, fr.stored);
        for (let m = start[k]!; m < start[k + 1]!; m++) {
          const f = byBlock[m]!;
          // The path's length first (the units alone would not say where one path ends), then the tail.
          const from = put(end, 0);
          end = w.write(files, f, from);
          put(from - 2, end - from);
          end = put(put(end, files.tailOffset(f)), files.tailLength(f));
          // Hashed a few KiB at a time (the same bytes as all at once): the buffer holds some paths, not a block's
          // (a block of 16,000 small tails grew it to 2 MB, doubling: 8 MB of garbage an image), and the hash is
          // not called once per file (a view and a native call per tail, most of a key's cost after the paths).
          if (end >= HASH_UNITS) {
            h.update(new Uint8Array(w.units.buffer, 0, end * 2));
            end = 0;
          }
        }
        return h.update(new Uint8Array(w.units.buffer, 0, end * 2)).digest('base64');
      });
    }
    return keys[i]!;
  };
  return fs.fragments.map((fr, i) => ({
    start: fr.start,
    end: fr.start + storedLength(fr.stored),
    get key() {
      return keyOf(i);
    },
    ...(fr.stored & BLOCK_UNCOMPRESSED ? { raw: true } : {}),
  }));
}

async function readSquashfs(src: ByteSource, name: string, limits: LayoutLimits, budget: MetadataBudget): Promise<Layout> {
  const head = await src.read(0, Math.min(src.size, SUPERBLOCK_BYTES));
  const fail = (p: string): never => {
    throw new IsosyncError('BAD_ISO', `Cannot read squashfs ${quote(name)}: ${p}`, { image: name });
  };
  const sb = parseSuperblock(head, src.size, fail);
  const fs = new Squashfs(src, name, sb, budget);
  const metadata: Span[] = [{ start: 0, end: SUPERBLOCK_BYTES }];
  if (sb.flags & FLAG_COMPRESSOR_OPTIONS) {
    const opt = await fs.meta.block(SUPERBLOCK_BYTES);
    metadata.push({ start: SUPERBLOCK_BYTES, end: SUPERBLOCK_BYTES + 2 + (opt.data.length > 0 ? opt.next - SUPERBLOCK_BYTES - 2 : 0) });
  }
  const files = await fs.walk(limits);
  await fs.readFragments();
  if (sb.noIds > 0) await fs.indexTable(sb.idTable, sb.noIds, 4, IDS_PER_BLOCK);
  const firstTable = Math.min(sb.inodeTable, sb.directoryTable, sb.idTable, sb.fragmentTable !== INVALID_BLK ? sb.fragmentTable : Infinity);
  metadata.push({ start: firstTable, end: sb.bytesUsed });
  for (const sp of fs.meta.spans) metadata.push(sp);
  const shared = sharedBlocks(fs, files);
  fs.meta.forget();
  return {
    format: 'squashfs',
    size: sb.bytesUsed,
    files,
    metadata: SpanTable.merged(metadata),
    shared,
    readContent: async (file, maxBytes) => {
      const ref = file.ref;
      const ino = ref === undefined ? undefined : await readInode(fs.inodeCursor(fs.inodeOfRef(ref)), sb.blockSize, fail, sb.bytesUsed);
      if (!ino || ino.kind !== 'file') return fail(`${quote(file.path)} is not a regular file of this image`);
      return fs.readContent(ino, file.path, maxBytes);
    },
  };
}

export const squashfsReader: LayoutReader = {
  format: 'squashfs',
  sniff: (head) => head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) === SQUASHFS_MAGIC,
  read: readSquashfs,
};

export { T as SQUASHFS_INODE_TYPES };
