/**
 * Writing El Torito structures: the base's boot catalog with its entries
 * pointed at where their boot images now are (the walk is the reader's:
 * validation entry, initial entry, section headers and their entries,
 * extensions skipped), and the boot information table that isolinux-style
 * loaders expect at byte 8 of a no-emulation image (mkisofs/xorriso
 * "-boot-info-table"): the PVD block, the image's own block, its length and
 * a checksum of its bytes from 64 on. Pure.
 */
import { putNum } from './encode.js';
import { BOOT_ENTRY, ENTRY_BYTES, SECTION_HEADER } from './eltorito.js';
import { type Field, num } from './fields.js';
import { SYSTEM_AREA_SECTORS } from './context.js';

/** The boot information table (mkisofs's "boot-info-table"), little endian, at byte 8 of the image. */
export const BOOT_INFO_TABLE = {
  pvdLba: { at: 8, kind: 'u32le' },
  fileLba: { at: 12, kind: 'u32le' },
  fileLength: { at: 16, kind: 'u32le' },
  checksum: { at: 20, kind: 'u32le' },
} as const satisfies Record<string, Field>;
/** The checksum covers the image from this byte on. */
export const BOOT_INFO_CHECKSUM_FROM = 64;

const HEADER_MORE = 0x90, HEADER_FINAL = 0x91, ENTRY_HAS_EXTENSION = 0x20, EXTENSION_ID = 0x44, EXTENSION_MORE = 0x20;

/** Sum of the 32-bit little endian words of `b` from byte 64 (a short last word is zero-padded). */
export function bootInfoChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = BOOT_INFO_CHECKSUM_FROM; i < b.length; i += 4) {
    sum = (sum + ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16)) + (b[i + 3] ?? 0) * 0x1000000) % 0x100000000;
  }
  return sum;
}

/** Whether `b`, an image recorded at block `lba`, carries a boot information table. */
export function hasBootInfoTable(b: Uint8Array, lba: number): boolean {
  if (b.length < BOOT_INFO_CHECKSUM_FROM) return false;
  return num(b, 0, BOOT_INFO_TABLE.pvdLba) === SYSTEM_AREA_SECTORS && num(b, 0, BOOT_INFO_TABLE.fileLba) === lba
    && num(b, 0, BOOT_INFO_TABLE.fileLength) === b.length && num(b, 0, BOOT_INFO_TABLE.checksum) === bootInfoChecksum(b);
}

/** Fills in the table of an image that now sits at block `lba` (in place). */
export function patchBootInfoTable(b: Uint8Array, lba: number): void {
  if (b.length < BOOT_INFO_CHECKSUM_FROM) return;
  putNum(b, 0, BOOT_INFO_TABLE.pvdLba, SYSTEM_AREA_SECTORS);
  putNum(b, 0, BOOT_INFO_TABLE.fileLba, lba);
  putNum(b, 0, BOOT_INFO_TABLE.fileLength, b.length);
  putNum(b, 0, BOOT_INFO_TABLE.checksum, bootInfoChecksum(b));
}

export interface BootImagePlace {
  readonly lba: number;
  /** New 512-byte sector count, when the catalog's count followed the image's size. */
  readonly sectorCount?: number;
}

/** The catalog with entry i (reader order) pointing at `places.get(i)`; a copy. */
export function patchCatalog(catalog: Uint8Array, places: ReadonlyMap<number, BootImagePlace>): Uint8Array {
  const out = catalog.slice();
  const slots = Math.floor(out.length / ENTRY_BYTES);
  const patch = (slot: number, index: number) => {
    const p = places.get(index);
    if (!p) return;
    const at = slot * ENTRY_BYTES;
    putNum(out, at, BOOT_ENTRY.loadRba, p.lba);
    if (p.sectorCount !== undefined) putNum(out, at, BOOT_ENTRY.sectorCount, p.sectorCount);
  };
  if (slots < 2) return out;
  patch(1, 0);
  let index = 1, slot = 2;
  while (slot < slots) {
    const h = slot * ENTRY_BYTES;
    const indicator = num(out, h, SECTION_HEADER.indicator);
    if (indicator !== HEADER_MORE && indicator !== HEADER_FINAL) break;
    const count = num(out, h, SECTION_HEADER.entryCount);
    slot++;
    for (let k = 0; k < count && slot < slots; k++) {
      const e = slot * ENTRY_BYTES;
      patch(slot, index++);
      slot++;
      let more = (num(out, e, BOOT_ENTRY.mediaType) & ENTRY_HAS_EXTENSION) !== 0;
      while (more && slot < slots) {
        const x = slot * ENTRY_BYTES;
        if (out[x] !== EXTENSION_ID) break;
        more = (out[x + 1]! & EXTENSION_MORE) !== 0;
        slot++;
      }
    }
    if (indicator === HEADER_FINAL) break;
  }
  return out;
}
