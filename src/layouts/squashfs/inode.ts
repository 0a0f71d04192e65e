/**
 * Squashfs 4.0 inodes (squashfs_fs.h struct squashfs_*_inode): a 16-byte
 * header (type, mode, uid index, gid index, mtime, inode number) and a body
 * per type. Only what a layout needs is kept: for directories where their
 * listing is, for files their data blocks and fragment, for symlinks the
 * target.
 */
import type { MetaCursor } from './metadata.js';

/** squashfs_fs.h inode types. */
export const T = {
  DIR: 1, FILE: 2, SYMLINK: 3, BLKDEV: 4, CHRDEV: 5, FIFO: 6, SOCKET: 7,
  LDIR: 8, LFILE: 9, LSYMLINK: 10, LBLKDEV: 11, LCHRDEV: 12, LFIFO: 13, LSOCKET: 14,
} as const;

export const NO_FRAGMENT = 0xffffffff;
/** Block size entries: bit 24 set = stored uncompressed; low 24 bits = stored length (0 = sparse block). */
export const BLOCK_UNCOMPRESSED = 1 << 24;
const SIZE_MASK = BLOCK_UNCOMPRESSED - 1;
/** Most block-list entries read for one file (a 2 TiB file at 128 KiB blocks). */
const MAX_BLOCKS = 16 * 1024 * 1024;
/** One decoder for every name and target (making one costs more than decoding a name). */
export const UTF8 = new TextDecoder();
/** Longest symlink target read (Linux PATH_MAX). */
const MAX_SYMLINK = 4096;

export type Inode =
  | { kind: 'dir'; type: number; mode: number; mtime: number; number: number; block: number; offset: number; size: number; parent: number }
  | { kind: 'file'; type: number; mode: number; mtime: number; number: number; size: number; blocksStart: number; fragment: number; fragOffset: number; blocks: Uint32Array }
  | { kind: 'symlink'; type: number; mode: number; mtime: number; number: number; target: string }
  | { kind: 'other'; type: number; mode: number; mtime: number; number: number };

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}
function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
}

export function storedLength(entry: number): number {
  return entry & SIZE_MASK;
}

/** Reads one inode at the cursor. `blockSize` decides how many block-list entries a file has. */
export async function readInode(c: MetaCursor, blockSize: number, fail: (p: string) => never, bytesUsed = Infinity): Promise<Inode> {
  const h = c.takeNow(16) ?? (await c.take(16));
  const type = u16(h, 0);
  const mode = u16(h, 2);
  const mtime = u32(h, 8);
  const number = u32(h, 12);
  switch (type) {
    case T.DIR: {
      const b = c.takeNow(16) ?? (await c.take(16));
      return { kind: 'dir', type, mode, mtime, number, block: u32(b, 0), size: u16(b, 8), offset: u16(b, 10), parent: u32(b, 12) };
    }
    case T.LDIR: {
      const b = c.takeNow(24) ?? (await c.take(24));
      // Directory index entries follow (index_count of them); they only speed up lookups and are not read.
      return { kind: 'dir', type, mode, mtime, number, size: u32(b, 4), block: u32(b, 8), parent: u32(b, 12), offset: u16(b, 18) };
    }
    case T.FILE:
    case T.LFILE: {
      let size: number, blocksStart: number, fragment: number, fragOffset: number;
      if (type === T.FILE) {
        const b = c.takeNow(16) ?? (await c.take(16));
        blocksStart = u32(b, 0);
        fragment = u32(b, 4);
        fragOffset = u32(b, 8);
        size = u32(b, 12);
      } else {
        const b = c.takeNow(40) ?? (await c.take(40));
        blocksStart = u64(b, 0);
        size = u64(b, 8);
        fragment = u32(b, 28);
        fragOffset = u32(b, 32);
      }
      if (!Number.isSafeInteger(size)) fail(`inode ${number} has a file size beyond 2^53`);
      const n = fragment === NO_FRAGMENT ? Math.ceil(size / blockSize) : Math.floor(size / blockSize);
      // The block list is itself stored in the filesystem, 4 bytes an entry: it cannot be longer than that.
      if (n > MAX_BLOCKS || n * 4 > bytesUsed) fail(`inode ${number} lists ${n} blocks, more than the filesystem can hold`);
      const raw = c.takeNow(n * 4) ?? (await c.take(n * 4));
      const blocks = new Uint32Array(n);
      for (let i = 0; i < n; i++) blocks[i] = u32(raw, i * 4);
      return { kind: 'file', type, mode, mtime, number, size, blocksStart, fragment, fragOffset, blocks };
    }
    case T.SYMLINK:
    case T.LSYMLINK: {
      const b = c.takeNow(8) ?? (await c.take(8));
      const len = u32(b, 4);
      if (len > MAX_SYMLINK) fail(`symlink inode ${number} has a target of ${len} bytes`);
      const target = UTF8.decode(c.takeNow(len) ?? (await c.take(len)));
      return { kind: 'symlink', type, mode, mtime, number, target };
    }
    case T.BLKDEV: case T.CHRDEV: case T.FIFO: case T.SOCKET:
    case T.LBLKDEV: case T.LCHRDEV: case T.LFIFO: case T.LSOCKET:
      return { kind: 'other', type, mode, mtime, number };
    default:
      return fail(`inode ${number} has unknown type ${type}`);
  }
}
