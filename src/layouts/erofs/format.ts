/**
 * EROFS on-disk structures (the Linux kernel's fs/erofs/erofs_fs.h, as
 * written by erofs-utils' mkfs.erofs): the superblock at byte 1024, compact
 * (32-byte) and extended (64-byte) inodes at meta_blkaddr * block + nid * 32,
 * 12-byte directory entries, and the map header that precedes a compressed
 * inode's cluster index. All little endian.
 */

export const SUPERBLOCK_OFFSET = 1024;
export const EROFS_MAGIC = 0xe0f5e1e2;

/** struct erofs_super_block field offsets. */
export const SB = {
  magic: 0, checksum: 4, featureCompat: 8, blkszbits: 12, sbExtslots: 13, rootNid: 14, inos: 16,
  buildTime: 24, buildTimeNsec: 32, blocks: 36, metaBlkaddr: 40, xattrBlkaddr: 44, uuid: 48,
  volumeName: 64, featureIncompat: 80, comprAlgs: 84, extraDevices: 86, devtSlotoff: 88,
} as const;
export const SB_BYTES = 128;

/** feature_incompat bits (erofs_fs.h EROFS_FEATURE_INCOMPAT_*). */
export const INCOMPAT = {
  ZERO_PADDING: 0x1, COMPR_CFGS: 0x2, BIG_PCLUSTER: 0x2, CHUNKED_FILE: 0x4, DEVICE_TABLE: 0x8,
  ZTAILPACKING: 0x10, FRAGMENTS: 0x20, DEDUPE: 0x40, XATTR_PREFIXES: 0x80,
} as const;

/** i_format bit 0: 0 compact, 1 extended; bits 1-3: data layout. */
export const LAYOUT = { FLAT_PLAIN: 0, COMPRESSED_FULL: 1, FLAT_INLINE: 2, COMPRESSED_COMPACT: 3, CHUNK_BASED: 4 } as const;

/** struct erofs_inode_compact (32 bytes) and erofs_inode_extended (64 bytes) field offsets. */
export const COMPACT = { format: 0, xattrCount: 2, mode: 4, nlink: 6, size: 8, u: 16, ino: 20, uid: 24, gid: 26 } as const;
export const EXTENDED = { format: 0, xattrCount: 2, mode: 4, size: 8, u: 16, ino: 20, uid: 24, gid: 28, mtime: 32, nlink: 44 } as const;
export const COMPACT_BYTES = 32;
export const EXTENDED_BYTES = 64;

/** struct erofs_dirent: nid u64, nameoff u16, file_type u8, reserved u8. */
export const DIRENT_BYTES = 12;
/** erofs_fs.h EROFS_FT_*: 1 regular, 2 directory, 7 symlink. */
export const FT = { REG: 1, DIR: 2, CHR: 3, BLK: 4, FIFO: 5, SOCK: 6, SYMLINK: 7 } as const;

/** struct z_erofs_map_header: h_fragmentoff / (h_reserved1, h_idata_size), h_advise u16, h_algorithmtype u8, h_clusterbits u8. */
export const MAP_HEADER = { idataSize: 2, advise: 4, algorithm: 6, clusterbits: 7 } as const;
export const MAP_HEADER_BYTES = 8;
/** h_advise bits (Z_EROFS_ADVISE_*). */
export const ADVISE = { COMPACTED_2B: 0x1, BIG_PCLUSTER_1: 0x2, BIG_PCLUSTER_2: 0x4, INLINE_PCLUSTER: 0x8, INTERLACED_PCLUSTER: 0x10, FRAGMENT_PCLUSTER: 0x20 } as const;
/** Lcluster types (Z_EROFS_LCLUSTER_TYPE_*) and the compressed-block-count flag of a NONHEAD's delta[0]. */
export const LCLUSTER = { PLAIN: 0, HEAD1: 1, NONHEAD: 2, HEAD2: 3 } as const;
export const D0_CBLKCNT = 1 << 11;
/** struct z_erofs_lcluster_index (legacy full index): di_advise u16, di_clusterofs u16, di_u u32 (blkaddr or delta[2]). */
export const FULL_INDEX_BYTES = 8;
/** h_algorithmtype values (Z_EROFS_COMPRESSION_*). */
export const ALGORITHMS: Record<number, 'lz4' | 'lzma' | 'deflate' | 'zstd'> = { 0: 'lz4', 1: 'lzma', 2: 'deflate', 3: 'zstd' };

export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}
export function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
}
