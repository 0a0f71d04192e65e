/**
 * What the reader produces: the image, its entries and its boot catalog.
 * Paths are '/'-separated with a leading '/', the root is '/'.
 */
import type { VolumeDescriptor } from './descriptors.js';

export type EntryType = 'file' | 'dir' | 'symlink';

export interface Extent {
  /** First logical block of this extent's content. */
  readonly lba: number;
  /** Bytes of content in this extent. */
  readonly size: number;
}

export interface IsoEntry {
  /** Rock Ridge name, else Joliet, else the ISO name without ";1" and a trailing dot. */
  readonly path: string;
  /** The last component of `path` as recorded (may hold characters unsafe on disk; the extractor checks). */
  readonly name: string;
  readonly type: EntryType;
  /** Content bytes (all extents); a directory's extent length; 0 for symlinks. */
  readonly size: number;
  /** First logical block of the content. */
  readonly lba: number;
  /** The content's extents in order (several for a multi-extent file). */
  readonly extents: readonly Extent[];
  /** Symlink target (Rock Ridge SL). */
  readonly target?: string;
  /** POSIX mode with file type bits (Rock Ridge PX). */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly nlink?: number;
  /** Modification time: Rock Ridge TF, else the directory record's date. */
  readonly mtimeMs?: number;
  /** Rock Ridge PX file serial number (RRIP 1.12): equal serials are hard links. */
  readonly inode?: number;
  /** Byte offset of the directory record that describes this entry (the root's is inside the primary descriptor). */
  readonly recordOffset: number;
}

export interface BootEntry {
  /** El Torito platform id: 0 x86, 1 PowerPC, 2 Mac, 0xEF EFI. */
  readonly platform: number;
  /** 'none' (no emulation), '1.2M', '1.44M', '2.88M' floppy, or 'hard-disk'. */
  readonly emulation: 'none' | '1.2M' | '1.44M' | '2.88M' | 'hard-disk';
  readonly bootable: boolean;
  /** First logical block of the boot image. */
  readonly lba: number;
  /** Count of 512-byte virtual sectors loaded at boot (El Torito §2.2). */
  readonly sectorCount: number;
  readonly loadSegment: number;
  readonly systemType: number;
  /** Bytes of the boot image as far as the catalog tells (emulated media size, else sectorCount * 512). */
  readonly imageBytes: number;
}

export interface BootCatalog {
  readonly catalogLba: number;
  readonly entries: readonly BootEntry[];
}

export interface PathTableRecord {
  readonly name: string;
  readonly lba: number;
  /** 1-based number of the parent record (ECMA-119 §9.4.6). */
  readonly parent: number;
}

export interface PathTable {
  /** Which descriptor ('primary' or 'joliet') and which copy. */
  readonly volume: 'primary' | 'joliet';
  readonly kind: 'L' | 'M' | 'L-optional' | 'M-optional';
  readonly lba: number;
  readonly size: number;
  readonly records: readonly PathTableRecord[];
}

/** A metadata area the reader used, for the region map. */
export interface MetadataArea {
  readonly kind: 'directory' | 'continuation';
  readonly start: number;
  readonly end: number;
  readonly path?: string;
}

export interface IsoImage {
  readonly name: string;
  readonly volumeId: string;
  readonly systemId: string;
  /** In logical blocks. */
  readonly volumeSpaceSize: number;
  readonly logicalBlockSize: number;
  /** Bytes of the image (the ByteSource's size). */
  readonly imageBytes: number;
  readonly descriptors: readonly VolumeDescriptor[];
  readonly hasRockRidge: boolean;
  readonly hasJoliet: boolean;
  /** Which tree the entries come from. */
  readonly tree: 'rockridge' | 'joliet' | 'iso9660';
  /** Every file, directory and symlink, sorted by path, root '/' included. */
  readonly entries: readonly IsoEntry[];
  readonly boot?: BootCatalog;
  readonly pathTables: readonly PathTable[];
  /** Directory extents of every tree read (ISO/Rock Ridge and Joliet) and SUSP continuation areas. */
  readonly metadata: readonly MetadataArea[];
}
