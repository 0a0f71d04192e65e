/**
 * Writing the volume descriptor set (ECMA-119 §8): the base image's set is
 * copied as it is (so identifiers, application use and any descriptor
 * isosync does not know stay), and the fields a remaster changes are put
 * into it with the reader's PVD table: volume space size, path tables, root
 * record, volume identifier, dates (§8.4.26). The Joliet descriptor gets the
 * same in its own tree; the El Torito boot record keeps its catalog. Pure.
 */
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import type { VolumeDescriptor } from './descriptors.js';
import { PVD } from './descriptors.js';
import { putBytes, putLongDate, putNum, putText, putUcs2Text } from './encode.js';

export interface VolumeFields {
  readonly volumeBlocks: number;
  readonly pathTableBytes: number;
  readonly lPathTable: number;
  readonly mPathTable: number;
  readonly rootRecord: Uint8Array;
}

export interface DescriptorPatch {
  readonly primary: VolumeFields;
  readonly joliet?: VolumeFields;
  readonly volumeId?: string;
  /** Creation and modification date (SOURCE_DATE_EPOCH when set). */
  readonly dateMs: number;
}

/** §8.4.26-29: creation, modification, expiration, effective dates. */
const DATES = { creation: 813, modification: 830, expiration: 847, effective: 864 } as const;

function patchVolume(b: Uint8Array, base: number, v: VolumeFields, patch: DescriptorPatch, ucs2: boolean): void {
  putNum(b, base, PVD.volumeSpaceSize, v.volumeBlocks);
  putNum(b, base, PVD.pathTableSize, v.pathTableBytes);
  putNum(b, base, PVD.lPathTable, v.lPathTable);
  putNum(b, base, PVD.lPathTableOptional, 0);
  putNum(b, base, PVD.mPathTable, v.mPathTable);
  putNum(b, base, PVD.mPathTableOptional, 0);
  putBytes(b, base, PVD.rootDirectoryRecord, v.rootRecord);
  if (patch.volumeId !== undefined) (ucs2 ? putUcs2Text : putText)(b, base, PVD.volumeId, ucs2 ? patch.volumeId.slice(0, 16) : patch.volumeId);
  putLongDate(b, base + DATES.creation, patch.dateMs);
  putLongDate(b, base + DATES.modification, patch.dateMs);
}

/**
 * `set` holds the base's descriptor sectors from sector 16 through the
 * terminator; returns the new ones.
 */
export function writeDescriptors(set: Uint8Array, descriptors: readonly VolumeDescriptor[], patch: DescriptorPatch): Uint8Array {
  const out = set.slice();
  let primaryDone = false, jolietDone = false;
  for (const d of descriptors) {
    const at = (d.sector - SYSTEM_AREA_SECTORS) * SECTOR_BYTES;
    if (at < 0 || at + SECTOR_BYTES > out.length) continue;
    if (d.type === 'primary' && !primaryDone) {
      patchVolume(out, at, patch.primary, patch, false);
      primaryDone = true;
    } else if (d.type === 'joliet' && !jolietDone && patch.joliet) {
      patchVolume(out, at, patch.joliet, patch, true);
      jolietDone = true;
    } else if (d.type === 'primary' || d.type === 'joliet') {
      // A second copy of a tree descriptor would point into the old tree: make it agree.
      patchVolume(out, at, d.type === 'joliet' && patch.joliet ? patch.joliet : patch.primary, patch, d.type === 'joliet');
    }
  }
  return out;
}
