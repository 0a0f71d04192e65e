/**
 * The squashfs 4.0 superblock (squashfs-tools squashfs_fs.h, "struct
 * squashfs_super_block"; the Linux kernel's Documentation/filesystems/squashfs.rst):
 * 96 little-endian bytes at offset 0. Table positions are absolute byte
 * offsets in the filesystem; `bytesUsed` ends the filesystem (mksquashfs pads
 * it to 4 KiB after that).
 */
import type { Codec } from '../codecs.js';

export const SUPERBLOCK_BYTES = 96;
export const SQUASHFS_MAGIC = 0x73717368; // "hsqs"

/** Field offsets of struct squashfs_super_block. */
export const SB = {
  magic: 0, inodes: 4, mkfsTime: 8, blockSize: 12, fragments: 16, compressor: 20, blockLog: 22, flags: 24,
  noIds: 26, major: 28, minor: 30, rootInode: 32, bytesUsed: 40, idTable: 48, xattrIdTable: 56,
  inodeTable: 64, directoryTable: 72, fragmentTable: 80, lookupTable: 88,
} as const;

/** squashfs_fs.h SQUASHFS_COMPRESSOR_OPTIONS: a metadata block of options follows the superblock. */
export const FLAG_COMPRESSOR_OPTIONS = 0x0400;
/** Absent table (xattr, export, fragment) marker. */
export const INVALID_BLK = 2 ** 64 - 1;

/** squashfs_fs.h compressor ids: 1 ZLIB, 2 LZMA, 3 LZO, 4 XZ, 5 LZ4, 6 ZSTD. */
export const COMPRESSORS: Record<number, { name: string; codec?: Codec }> = {
  1: { name: 'gzip', codec: 'zlib' },
  2: { name: 'lzma', codec: 'lzma' },
  3: { name: 'lzo' },
  4: { name: 'xz', codec: 'xz' },
  5: { name: 'lz4', codec: 'lz4' },
  6: { name: 'zstd', codec: 'zstd' },
};

export interface Superblock {
  readonly inodes: number;
  readonly mkfsTime: number;
  readonly blockSize: number;
  readonly blockLog: number;
  readonly fragments: number;
  readonly compressor: number;
  readonly flags: number;
  readonly noIds: number;
  readonly rootInode: bigint;
  readonly bytesUsed: number;
  readonly idTable: number;
  readonly xattrIdTable: number;
  readonly inodeTable: number;
  readonly directoryTable: number;
  readonly fragmentTable: number;
  readonly lookupTable: number;
}

function u64(v: DataView, at: number): number {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  return hi === 0xffffffff && lo === 0xffffffff ? INVALID_BLK : hi * 0x1_0000_0000 + lo;
}

/** Parses and checks the superblock; `fail` gets a one-line problem. */
export function parseSuperblock(b: Uint8Array, size: number, fail: (p: string) => never): Superblock {
  if (b.length < SUPERBLOCK_BYTES) fail(`superblock is truncated (${b.length} bytes)`);
  const v = new DataView(b.buffer, b.byteOffset, SUPERBLOCK_BYTES);
  if (v.getUint32(SB.magic, true) !== SQUASHFS_MAGIC) fail('no squashfs magic "hsqs" at byte 0');
  const major = v.getUint16(SB.major, true);
  const minor = v.getUint16(SB.minor, true);
  if (major !== 4 || minor !== 0) fail(`squashfs version ${major}.${minor} is not 4.0`);
  const blockSize = v.getUint32(SB.blockSize, true);
  const blockLog = v.getUint16(SB.blockLog, true);
  if (blockLog < 12 || blockLog > 20 || blockSize !== 2 ** blockLog) fail(`block size ${blockSize} (log ${blockLog}) is not a power of two from 4 KiB to 1 MiB`);
  const sb: Superblock = {
    inodes: v.getUint32(SB.inodes, true),
    mkfsTime: v.getUint32(SB.mkfsTime, true),
    blockSize,
    blockLog,
    fragments: v.getUint32(SB.fragments, true),
    compressor: v.getUint16(SB.compressor, true),
    flags: v.getUint16(SB.flags, true),
    noIds: v.getUint16(SB.noIds, true),
    rootInode: v.getBigUint64(SB.rootInode, true),
    bytesUsed: u64(v, SB.bytesUsed),
    idTable: u64(v, SB.idTable),
    xattrIdTable: u64(v, SB.xattrIdTable),
    inodeTable: u64(v, SB.inodeTable),
    directoryTable: u64(v, SB.directoryTable),
    fragmentTable: u64(v, SB.fragmentTable),
    lookupTable: u64(v, SB.lookupTable),
  };
  if (!COMPRESSORS[sb.compressor]) fail(`unknown compressor id ${sb.compressor}`);
  if (sb.bytesUsed > size || sb.bytesUsed < SUPERBLOCK_BYTES) fail(`bytes_used ${sb.bytesUsed} lies outside the ${size} bytes of the image`);
  if (!(sb.inodeTable < sb.directoryTable && sb.directoryTable < sb.bytesUsed)) {
    fail(`inode table at ${sb.inodeTable} and directory table at ${sb.directoryTable} are out of order or beyond bytes_used ${sb.bytesUsed}`);
  }
  if (sb.idTable >= sb.bytesUsed) fail(`id table at ${sb.idTable} lies beyond bytes_used ${sb.bytesUsed}`);
  return sb;
}
