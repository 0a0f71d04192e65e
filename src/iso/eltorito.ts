/**
 * The El Torito boot catalog ("El Torito" Bootable CD-ROM Format
 * Specification 1.0, 1995): a validation entry (§2.1) whose 16-bit words sum
 * to zero, the initial/default entry (§2.2), then optional section headers
 * (§2.3) each followed by its section entries (§2.4) and their extensions
 * (§2.5). Every entry is 32 bytes. The catalog is read sector by sector, only
 * as far as its entries go, bounded by LIMITS.bootEntries.
 */
import { IsoContext, LIMITS, SECTOR_BYTES } from './context.js';
import type { BootCatalog, BootEntry } from './entry.js';
import { type Field, num } from './fields.js';

export const ENTRY_BYTES = 32;

/** El Torito §2.1 validation entry. */
export const VALIDATION_ENTRY = {
  headerId: { at: 0, kind: 'u8' },      // 0x01
  platformId: { at: 1, kind: 'u8' },
  idString: { at: 4, kind: 'bytes', len: 24 },
  checksum: { at: 28, kind: 'u16le' },
  key55: { at: 30, kind: 'u8' },        // 0x55
  keyAA: { at: 31, kind: 'u8' },        // 0xAA
} as const satisfies Record<string, Field>;

/** El Torito §2.2 initial/default entry and §2.4 section entry (same first 12 bytes). */
export const BOOT_ENTRY = {
  bootIndicator: { at: 0, kind: 'u8' }, // 0x88 bootable, 0x00 not
  mediaType: { at: 1, kind: 'u8' },     // bits 0-3 emulation; §2.4 bit 5: an extension follows
  loadSegment: { at: 2, kind: 'u16le' },
  systemType: { at: 4, kind: 'u8' },
  sectorCount: { at: 6, kind: 'u16le' }, // 512-byte virtual sectors
  loadRba: { at: 8, kind: 'u32le' },
} as const satisfies Record<string, Field>;

/** El Torito §2.3 section header. */
export const SECTION_HEADER = {
  indicator: { at: 0, kind: 'u8' },     // 0x90 more headers follow, 0x91 final
  platformId: { at: 1, kind: 'u8' },
  entryCount: { at: 2, kind: 'u16le' },
} as const satisfies Record<string, Field>;

/** El Torito §2.5 section entry extension: 0x44, flags (bit 5: another extension follows). */
const EXTENSION_ID = 0x44;
const EXTENSION_MORE = 0x20;
const ENTRY_HAS_EXTENSION = 0x20;
const HEADER_MORE = 0x90;
const HEADER_FINAL = 0x91;
const EMULATION: Record<number, { name: BootEntry['emulation']; bytes?: number }> = {
  0: { name: 'none' },
  1: { name: '1.2M', bytes: 1_228_800 },
  2: { name: '1.44M', bytes: 1_474_560 },
  3: { name: '2.88M', bytes: 2_949_120 },
  4: { name: 'hard-disk' },
};
/** §2.2: sector counts are in 512-byte "virtual sectors". */
const VIRTUAL_SECTOR_BYTES = 512;

export async function readBootCatalog(ctx: IsoContext, catalogLba: number, blockSize: number): Promise<BootCatalog> {
  const start = catalogLba * blockSize;
  if (start + ENTRY_BYTES > ctx.size) {
    ctx.fail(`El Torito boot catalog at byte ${start} lies beyond the end of the image (${ctx.size} bytes)`, { offset: start });
  }
  const chunks: Uint8Array[] = [];
  let have = 0;
  const entry = async (index: number): Promise<Uint8Array | undefined> => {
    const pos = index * ENTRY_BYTES;
    while (pos + ENTRY_BYTES > have) {
      if (start + have + ENTRY_BYTES > ctx.size) return undefined;
      const n = Math.min(SECTOR_BYTES, ctx.size - start - have);
      chunks.push(await ctx.read(start + have, n, 'boot catalog'));
      have += n;
    }
    const chunk = chunks[Math.floor(pos / SECTOR_BYTES)]!;
    return chunk.subarray(pos % SECTOR_BYTES, (pos % SECTOR_BYTES) + ENTRY_BYTES);
  };

  const v = (await entry(0))!;
  if (num(v, 0, VALIDATION_ENTRY.headerId) !== 1 || num(v, 0, VALIDATION_ENTRY.key55) !== 0x55 || num(v, 0, VALIDATION_ENTRY.keyAA) !== 0xaa) {
    ctx.fail(`El Torito boot catalog at byte ${start} does not start with a validation entry (header ${hex(v[0]!)}, key ${hex(v[30]!)} ${hex(v[31]!)})`, { offset: start });
  }
  let sum = 0;
  for (let i = 0; i < ENTRY_BYTES; i += 2) sum = (sum + (v[i]! | (v[i + 1]! << 8))) & 0xffff;
  if (sum !== 0) {
    ctx.fail(`El Torito boot catalog at byte ${start} has a bad validation entry checksum (words sum to ${hex(sum, 4)}, not 0x0000)`, { offset: start });
  }
  const entries: BootEntry[] = [];
  const platform0 = num(v, 0, VALIDATION_ENTRY.platformId);
  const initial = await entry(1);
  if (!initial) ctx.fail(`El Torito boot catalog at byte ${start} ends before its initial entry`, { offset: start });
  entries.push(bootEntry(initial, platform0));

  let index = 2;
  for (let headers = 0; index < LIMITS.bootEntries; headers++) {
    const h = await entry(index);
    if (!h) break;
    const indicator = num(h, 0, SECTION_HEADER.indicator);
    if (indicator !== HEADER_MORE && indicator !== HEADER_FINAL) break;
    const platform = num(h, 0, SECTION_HEADER.platformId);
    const count = num(h, 0, SECTION_HEADER.entryCount);
    index++;
    for (let k = 0; k < count; k++) {
      if (index >= LIMITS.bootEntries) ctx.fail(`El Torito boot catalog at byte ${start} has more than ${LIMITS.bootEntries} entries`, { offset: start });
      const e = await entry(index++);
      if (!e) ctx.fail(`El Torito boot catalog at byte ${start} ends inside section ${headers + 1}`, { offset: start });
      entries.push(bootEntry(e, platform));
      let more = (num(e, 0, BOOT_ENTRY.mediaType) & ENTRY_HAS_EXTENSION) !== 0;
      while (more && index < LIMITS.bootEntries) {
        const x = await entry(index++);
        if (!x || x[0] !== EXTENSION_ID) break;
        more = (x[1]! & EXTENSION_MORE) !== 0;
      }
    }
    if (indicator === HEADER_FINAL) break;
  }
  return { catalogLba, entries };
}

function bootEntry(e: Uint8Array, platform: number): BootEntry {
  const media = num(e, 0, BOOT_ENTRY.mediaType) & 0x0f;
  const emu = EMULATION[media] ?? { name: 'none' as const };
  const sectorCount = num(e, 0, BOOT_ENTRY.sectorCount);
  return {
    platform,
    emulation: emu.name,
    bootable: num(e, 0, BOOT_ENTRY.bootIndicator) === 0x88,
    lba: num(e, 0, BOOT_ENTRY.loadRba),
    sectorCount,
    loadSegment: num(e, 0, BOOT_ENTRY.loadSegment),
    systemType: num(e, 0, BOOT_ENTRY.systemType),
    imageBytes: emu.bytes ?? Math.max(1, sectorCount) * VIRTUAL_SECTOR_BYTES,
  };
}

function hex(n: number, digits = 2): string {
  return `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;
}
