/**
 * A boot setup given on the command line, as `xorriso -as mkisofs` takes it,
 * instead of the base's: El Torito entries for a BIOS no-emulation image
 * (`-b`, with `-boot-load-size` and `-boot-info-table`) and an EFI one
 * (`-e`), the catalog's path (`-c`), and the system area: an isohybrid MBR
 * (`-isohybrid-mbr`: boot code, the BIOS image's place, one partition over
 * the image) or 16 blocks taken as they are (`-G`). The encoders here are
 * pure; remaster.ts reads the files.
 *
 * Catalog layout (El Torito 1.0, as xorriso writes it): the validation entry
 * (§2.1, platform of the first image, words summing to zero), the first image
 * as the initial/default entry (§2.2), then one section (§2.3) per further
 * run of images of one platform, the last header marked final (0x91).
 */
import { putBytes, putNum } from './encode.js';
import { BOOT_ENTRY, ENTRY_BYTES, SECTION_HEADER, VALIDATION_ENTRY } from './eltorito.js';
import { BOOT_RECORD, EL_TORITO_ID, VD_TYPE, type VolumeDescriptor } from './descriptors.js';
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import { IsosyncError } from '../errors.js';

/** El Torito platform ids (§2.1): 0 x86 (BIOS), 0xEF EFI. */
export const PLATFORM = { bios: 0, efi: 0xef } as const;

export interface BootImageSpec {
  /** Path of the image in TREE ('/isolinux/isolinux.bin'). */
  readonly path: string;
  readonly platform: number;
  /** 512-byte sectors the firmware loads; 'image': the whole image (EFI entries, as xorriso). */
  readonly loadSectors: number | 'image';
  /** Patch a boot information table into the image (isolinux, GRUB's eltorito.img). */
  readonly bootInfoTable: boolean;
}

export interface BootSetup {
  /** The El Torito images in catalog order; empty: the base's catalog stays as it is. */
  readonly images: readonly BootImageSpec[];
  /** Path of the catalog in the tree; hidden when absent. */
  readonly catalogPath?: string;
  /** isohybrid MBR boot code (its first 432 bytes are used). */
  readonly isohybridMbr?: Uint8Array;
  /** The system area as it is (up to 16 blocks). */
  readonly systemArea?: Uint8Array;
}

/** Where each image ended up. */
export interface PlacedImage {
  readonly platform: number;
  readonly lba: number;
  readonly bytes: number;
  readonly loadSectors: number | 'image';
}

const BOOTABLE = 0x88, NO_EMULATION = 0, HEADER_MORE = 0x90, HEADER_FINAL = 0x91;
/** §2.2: the sector count is 16 bits. */
const MAX_LOAD_SECTORS = 0xffff;
/** Entries one catalog block holds: validation, default, and a header plus an entry per further image. */
export const MAX_BOOT_IMAGES = Math.floor((SECTOR_BYTES / ENTRY_BYTES - 2) / 2) + 1;

/** The catalog block for `images` (placed). */
export function encodeCatalog(images: readonly PlacedImage[]): Uint8Array {
  if (images.length === 0 || images.length > MAX_BOOT_IMAGES) {
    throw new IsosyncError('INTERNAL', `Cannot write a boot catalog of ${images.length} images: 1 to ${MAX_BOOT_IMAGES} fit one block`);
  }
  const out = new Uint8Array(SECTOR_BYTES);
  putNum(out, 0, VALIDATION_ENTRY.headerId, 1);
  putNum(out, 0, VALIDATION_ENTRY.platformId, images[0]!.platform);
  putNum(out, 0, VALIDATION_ENTRY.key55, 0x55);
  putNum(out, 0, VALIDATION_ENTRY.keyAA, 0xaa);
  let sum = 0;
  for (let i = 0; i < ENTRY_BYTES; i += 2) sum = (sum + (out[i]! | (out[i + 1]! << 8))) & 0xffff;
  putNum(out, 0, VALIDATION_ENTRY.checksum, (0x10000 - sum) & 0xffff);
  const entry = (slot: number, img: PlacedImage) => {
    const at = slot * ENTRY_BYTES;
    putNum(out, at, BOOT_ENTRY.bootIndicator, BOOTABLE);
    putNum(out, at, BOOT_ENTRY.mediaType, NO_EMULATION);
    const sectors = img.loadSectors === 'image' ? Math.ceil(img.bytes / 512) : img.loadSectors;
    putNum(out, at, BOOT_ENTRY.sectorCount, Math.min(MAX_LOAD_SECTORS, Math.max(1, sectors)));
    putNum(out, at, BOOT_ENTRY.loadRba, img.lba);
  };
  entry(1, images[0]!);
  let slot = 2;
  for (let i = 1; i < images.length;) {
    let j = i;
    while (j < images.length && images[j]!.platform === images[i]!.platform) j++;
    const h = slot * ENTRY_BYTES;
    putNum(out, h, SECTION_HEADER.indicator, j === images.length ? HEADER_FINAL : HEADER_MORE);
    putNum(out, h, SECTION_HEADER.platformId, images[i]!.platform);
    putNum(out, h, SECTION_HEADER.entryCount, j - i);
    slot++;
    for (; i < j; i++) entry(slot++, images[i]!);
  }
  return out;
}

/** An El Torito boot record (ECMA-119 §8.2, El Torito §2.0) pointing at `catalogLba`. */
export function bootRecord(catalogLba: number): Uint8Array {
  const b = new Uint8Array(SECTOR_BYTES);
  b[0] = VD_TYPE.boot;
  b.set(new TextEncoder().encode('CD001'), 1);
  b[6] = 1;
  putBytes(b, 0, BOOT_RECORD.bootSystemId, new TextEncoder().encode(EL_TORITO_ID));
  putNum(b, 0, BOOT_RECORD.bootCatalogLba, catalogLba);
  return b;
}

/**
 * The base's descriptor set with an El Torito boot record pointing at
 * `catalogLba`: the base's own record patched, or a new one inserted after
 * the primary descriptor (as mkisofs orders them), which moves the later
 * descriptors one block on. Returns the set and the descriptors' new sectors.
 */
export function withBootRecord(set: Uint8Array, descriptors: readonly VolumeDescriptor[], catalogLba: number): { set: Uint8Array; descriptors: VolumeDescriptor[] } {
  const own = descriptors.find((d) => d.type === 'boot' && d.bootSystemId === EL_TORITO_ID);
  if (own) {
    const out = set.slice();
    putNum(out, (own.sector - SYSTEM_AREA_SECTORS) * SECTOR_BYTES, BOOT_RECORD.bootCatalogLba, catalogLba);
    return { set: out, descriptors: descriptors.map((d) => (d === own ? { ...d, bootCatalogLba: catalogLba } : d)) };
  }
  const primary = descriptors.find((d) => d.type === 'primary');
  const after = (primary ? primary.sector : SYSTEM_AREA_SECTORS) + 1;
  const cut = (after - SYSTEM_AREA_SECTORS) * SECTOR_BYTES;
  const out = new Uint8Array(set.length + SECTOR_BYTES);
  out.set(set.subarray(0, cut), 0);
  out.set(bootRecord(catalogLba), cut);
  out.set(set.subarray(cut), cut + SECTOR_BYTES);
  const moved = descriptors.map((d) => (d.sector >= after ? { ...d, sector: d.sector + 1 } : d));
  moved.push({ type: 'boot', sector: after, bootSystemId: EL_TORITO_ID, bootCatalogLba: catalogLba });
  moved.sort((a, b) => a.sector - b.sector);
  return { set: out, descriptors: moved };
}

/** MBR fields (the partition table at byte 446, UEFI §5.2.1 / isohybrid's layout before it). */
const MBR = { bootImageSectors: 432, diskId: 440, table: 446, signature: 510 } as const;
/** isohybrid's disk geometry: 64 heads, 32 sectors per track. */
const HEADS = 64, SECTORS = 32;
/** Partition type isohybrid and xorriso give the partition over the whole image. */
const ISOHYBRID_TYPE = 0x17;
/** Bytes of the MBR boot code kept from the given file. */
export const MBR_CODE_BYTES = 432;

function chs(lba: number): [number, number, number] {
  const cyl = Math.min(1023, Math.floor(lba / (HEADS * SECTORS)));
  const head = Math.floor(lba / SECTORS) % HEADS;
  const sector = (lba % SECTORS) + 1;
  return cyl === 1023 ? [0xfe, 0xff, 0xff] : [head, sector | ((cyl >> 8) << 6), cyl & 0xff];
}

/**
 * The system area of an isohybrid image: `code`'s first 432 bytes, the BIOS
 * boot image's place in 512-byte sectors at 432 (where isohdpfx.bin looks
 * for it), a disk id, and one bootable partition of type 0x17 from sector 0
 * over the whole image.
 */
export function isohybridSystemArea(code: Uint8Array, bootImageLba: number, imageBytes: number, diskId: number): Uint8Array {
  const out = new Uint8Array(SYSTEM_AREA_SECTORS * SECTOR_BYTES);
  out.set(code.subarray(0, MBR_CODE_BYTES));
  const view = new DataView(out.buffer);
  view.setUint32(MBR.bootImageSectors, bootImageLba * (SECTOR_BYTES / 512), true);
  view.setUint32(MBR.diskId, diskId >>> 0, true);
  const sectors = Math.min(0xffffffff, Math.ceil(imageBytes / 512));
  const p = MBR.table;
  out[p] = 0x80;
  out.set(chs(0), p + 1);
  out[p + 4] = ISOHYBRID_TYPE;
  out.set(chs(sectors - 1), p + 5);
  view.setUint32(p + 8, 0, true);
  view.setUint32(p + 12, sectors, true);
  out[MBR.signature] = 0x55;
  out[MBR.signature + 1] = 0xaa;
  return out;
}

/** A given system area, cut or zero-padded to 16 blocks. */
export function systemAreaFrom(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SYSTEM_AREA_SECTORS * SECTOR_BYTES);
  out.set(bytes.subarray(0, out.length));
  return out;
}
