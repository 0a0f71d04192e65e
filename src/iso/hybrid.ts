/**
 * Hybrid images (isohybrid, xorriso's -isohybrid-gpt-basdat,
 * -append_partition): the system area (blocks 0-15, ECMA-119 §6.2.1) holds
 * an MBR partition table (at byte 446, four 16-byte entries) and maybe a
 * GPT (UEFI 2.x §5.3: header at byte 512, entry array, a backup header in
 * the disk's last 512-byte sector), and data may follow the ISO volume
 * (appended partitions, the backup GPT). When a remaster changes the
 * volume's size, that tail moves with the volume's end: partitions that
 * start at or after the old end move by the difference, partitions that end
 * where the volume ended end where it now ends, the protective or whole-disk
 * entry covers the new disk, and every GPT CRC is recomputed. Pure.
 */
import type { Field } from './fields.js';
import { latin1Text, num } from './fields.js';
import { putNum } from './encode.js';

/** MBR partition entry (16 bytes at 446 + 16 * i). */
const MBR_ENTRY = { status: { at: 0, kind: 'u8' }, type: { at: 4, kind: 'u8' }, firstLba: { at: 8, kind: 'u32le' }, sectors: { at: 12, kind: 'u32le' } } as const satisfies Record<string, Field>;
const MBR_TABLE = 446;
const MBR_SIGNATURE = 510;
/** UEFI §5.3.2 GPT header (64-bit fields as two 32-bit halves; images stay below 2 TiB). */
const GPT_HEADER = {
  headerSize: { at: 12, kind: 'u32le' }, headerCrc: { at: 16, kind: 'u32le' }, myLba: { at: 24, kind: 'u32le' }, alternateLba: { at: 32, kind: 'u32le' },
  firstUsable: { at: 40, kind: 'u32le' }, lastUsable: { at: 48, kind: 'u32le' }, entriesLba: { at: 72, kind: 'u32le' },
  entryCount: { at: 80, kind: 'u32le' }, entrySize: { at: 84, kind: 'u32le' }, entriesCrc: { at: 88, kind: 'u32le' },
} as const satisfies Record<string, Field>;
/** UEFI §5.3.3 partition entry. */
const GPT_ENTRY = { firstLba: { at: 32, kind: 'u32le' }, lastLba: { at: 40, kind: 'u32le' } } as const satisfies Record<string, Field>;
const SECTOR = 512;
const GPT_SIGNATURE = 'EFI PART';
/** Most GPT entry bytes accepted (128 entries of 128 bytes is the norm). */
const MAX_ENTRY_BYTES = 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), as the GPT uses. */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface HybridResult {
  /** The new system area (blocks 0-15). */
  readonly system: Uint8Array;
  /** The bytes after the volume in the new image. */
  readonly tail: Uint8Array;
  /** Whether anything was a partition table. */
  readonly patched: boolean;
}

/**
 * `system` is the base's system area, `tail` the base's bytes after its
 * volume (`oldEnd` bytes); the new volume ends at `newEnd` bytes.
 */
export function moveHybrid(system: Uint8Array, tail: Uint8Array, oldEnd: number, newEnd: number): HybridResult {
  const sys = system.slice();
  const out = tail.slice();
  const oldVol = oldEnd / SECTOR, newVol = newEnd / SECTOR, delta = newVol - oldVol;
  const moveLba = (lba: number) => (lba >= oldVol ? lba + delta : lba);
  let patched = false;
  if (sys[MBR_SIGNATURE] === 0x55 && sys[MBR_SIGNATURE + 1] === 0xaa) {
    for (let i = 0; i < 4; i++) {
      const at = MBR_TABLE + 16 * i;
      if (num(sys, at, MBR_ENTRY.type) === 0) continue;
      const first = num(sys, at, MBR_ENTRY.firstLba), sectors = num(sys, at, MBR_ENTRY.sectors);
      if (first >= oldVol) putNum(sys, at, MBR_ENTRY.firstLba, first + delta);
      else if (first + sectors >= oldVol && sectors !== 0xffffffff) putNum(sys, at, MBR_ENTRY.sectors, Math.min(0xffffffff, sectors + delta));
      patched = true;
    }
  }
  const gpt = (buf: Uint8Array, hdr: number, entries: (lba: number) => Uint8Array | undefined, backup: boolean) => {
    if (hdr + 92 > buf.length || latin1Text(buf.subarray(hdr, hdr + 8)) !== GPT_SIGNATURE) return;
    const count = num(buf, hdr, GPT_HEADER.entryCount), size = num(buf, hdr, GPT_HEADER.entrySize);
    const arr = entries(num(buf, hdr, GPT_HEADER.entriesLba));
    if (arr && count * size <= arr.length && count * size <= MAX_ENTRY_BYTES && size >= 48) {
      for (let i = 0; i < count; i++) {
        const at = i * size;
        const first = num(arr, at, GPT_ENTRY.firstLba), last = num(arr, at, GPT_ENTRY.lastLba);
        if (first === 0 && last === 0) continue;
        if (first >= oldVol) {
          putNum(arr, at, GPT_ENTRY.firstLba, first + delta);
          putNum(arr, at, GPT_ENTRY.lastLba, last + delta);
        } else if (last >= oldVol - 1) putNum(arr, at, GPT_ENTRY.lastLba, last + delta);
      }
      putNum(buf, hdr, GPT_HEADER.entriesCrc, crc32(arr.subarray(0, count * size)));
    }
    if (backup) {
      putNum(buf, hdr, GPT_HEADER.myLba, moveLba(num(buf, hdr, GPT_HEADER.myLba)));
      putNum(buf, hdr, GPT_HEADER.entriesLba, moveLba(num(buf, hdr, GPT_HEADER.entriesLba)));
    } else putNum(buf, hdr, GPT_HEADER.alternateLba, moveLba(num(buf, hdr, GPT_HEADER.alternateLba)));
    putNum(buf, hdr, GPT_HEADER.lastUsable, moveLba(num(buf, hdr, GPT_HEADER.lastUsable)));
    const hsize = Math.min(num(buf, hdr, GPT_HEADER.headerSize), SECTOR);
    putNum(buf, hdr, GPT_HEADER.headerCrc, 0);
    putNum(buf, hdr, GPT_HEADER.headerCrc, crc32(buf.subarray(hdr, hdr + hsize)));
    patched = true;
  };
  // The entry arrays: in the system area, or in the tail (where a backup keeps its copy).
  const array = (lba: number): Uint8Array | undefined => {
    if (lba * SECTOR < sys.length) return sys.subarray(lba * SECTOR);
    const t = (lba - oldVol) * SECTOR;
    return t >= 0 && t < out.length ? out.subarray(t) : undefined;
  };
  gpt(sys, SECTOR, array, false);
  if (out.length >= SECTOR) gpt(out, out.length - SECTOR, array, true);
  return { system: sys, tail: out, patched };
}
