/**
 * Volume descriptors (ECMA-119 §8): the set that starts at sector 16 and
 * ends with a terminator. The primary descriptor (§8.4) gives the volume
 * size, the block size, the path tables and the root directory; a
 * supplementary descriptor (§8.5) whose escape sequences name UCS-2 is
 * Joliet (Joliet spec §3.2); a boot record (§8.2) whose system identifier is
 * "EL TORITO SPECIFICATION" points to the boot catalog (El Torito §2.0).
 *
 * After xorriso appends a session to an image file it rewrites sectors
 * 16.. with the newest session's descriptors, so reading from sector 16
 * always finds the newest session.
 */
import { IsoContext, LIMITS, SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import { type Field, latin1Text, longDate, num, raw, text, ucs2Text } from './fields.js';

/** ECMA-119 §8.1: the fields every volume descriptor starts with. */
export const VD_HEADER = {
  type: { at: 0, kind: 'u8' },
  standardId: { at: 1, kind: 'bytes', len: 5 },   // "CD001"
  version: { at: 6, kind: 'u8' },
} as const satisfies Record<string, Field>;

/** ECMA-119 §8.4 primary (and §8.5 supplementary) volume descriptor. */
export const PVD = {
  ...VD_HEADER,
  flags: { at: 7, kind: 'u8' },                         // §8.5.3, supplementary only
  systemId: { at: 8, kind: 'bytes', len: 32 },
  volumeId: { at: 40, kind: 'bytes', len: 32 },
  volumeSpaceSize: { at: 80, kind: 'u32both' },         // in logical blocks
  escapeSequences: { at: 88, kind: 'bytes', len: 32 },  // §8.5.6, supplementary only
  volumeSetSize: { at: 120, kind: 'u16both' },
  volumeSequenceNumber: { at: 124, kind: 'u16both' },
  logicalBlockSize: { at: 128, kind: 'u16both' },
  pathTableSize: { at: 132, kind: 'u32both' },          // in bytes
  lPathTable: { at: 140, kind: 'u32le' },
  lPathTableOptional: { at: 144, kind: 'u32le' },
  mPathTable: { at: 148, kind: 'u32be' },
  mPathTableOptional: { at: 152, kind: 'u32be' },
  rootDirectoryRecord: { at: 156, kind: 'bytes', len: 34 },
  volumeSetId: { at: 190, kind: 'bytes', len: 128 },
  publisherId: { at: 318, kind: 'bytes', len: 128 },
  dataPreparerId: { at: 446, kind: 'bytes', len: 128 },
  applicationId: { at: 574, kind: 'bytes', len: 128 },
  creationDate: { at: 813, kind: 'bytes', len: 17 },
  modificationDate: { at: 830, kind: 'bytes', len: 17 },
  fileStructureVersion: { at: 881, kind: 'u8' },
} as const satisfies Record<string, Field>;

/** ECMA-119 §8.2 boot record; El Torito §2.0 puts the catalog pointer at 0x47. */
export const BOOT_RECORD = {
  ...VD_HEADER,
  bootSystemId: { at: 7, kind: 'bytes', len: 32 },     // "EL TORITO SPECIFICATION"
  bootId: { at: 39, kind: 'bytes', len: 32 },
  bootCatalogLba: { at: 71, kind: 'u32le' },
} as const satisfies Record<string, Field>;

/** ECMA-119 §8.1.1 volume descriptor types. */
export const VD_TYPE = { boot: 0, primary: 1, supplementary: 2, partition: 3, terminator: 255 } as const;

const STANDARD_ID = 'CD001';
export const EL_TORITO_ID = 'EL TORITO SPECIFICATION';
/** Joliet spec §3.2: escape sequences of the UCS-2 levels 1, 2, 3. */
const JOLIET_ESCAPES: Record<string, 1 | 2 | 3> = { '%/@': 1, '%/C': 2, '%/E': 3 };
/** ECMA-119 §6.1.2 allows 512, 1024 and 2048-byte blocks. */
const BLOCK_SIZES = new Set([512, 1024, 2048]);

export interface VolumeInfo {
  readonly volumeId: string;
  readonly systemId: string;
  readonly volumeSpaceSize: number;
  readonly logicalBlockSize: number;
  readonly pathTableSize: number;
  /** LBAs of the L (little endian) and M (big endian) path tables, optional copies 0 when absent. */
  readonly pathTables: { readonly l: number; readonly lOptional: number; readonly m: number; readonly mOptional: number };
  /** The 34-byte root directory record (ECMA-119 §8.4.18). */
  readonly rootRecord: Uint8Array;
}

export type VolumeDescriptor =
  | ({ readonly type: 'primary'; readonly sector: number } & VolumeInfo)
  | ({ readonly type: 'joliet'; readonly sector: number; readonly level: 1 | 2 | 3 } & VolumeInfo)
  | { readonly type: 'supplementary'; readonly sector: number; readonly escapeSequences: string }
  | { readonly type: 'boot'; readonly sector: number; readonly bootSystemId: string; readonly bootCatalogLba?: number }
  | { readonly type: 'partition'; readonly sector: number }
  | { readonly type: 'terminator'; readonly sector: number }
  | { readonly type: 'unknown'; readonly sector: number; readonly typeCode: number };

export interface DescriptorSet {
  readonly descriptors: readonly VolumeDescriptor[];
  readonly primary: Extract<VolumeDescriptor, { type: 'primary' }>;
  readonly joliet?: Extract<VolumeDescriptor, { type: 'joliet' }>;
  readonly bootCatalogLba?: number;
}

function volumeInfo(ctx: IsoContext, b: Uint8Array, sector: number, ucs2: boolean): VolumeInfo {
  const at = sector * SECTOR_BYTES;
  const blockSize = num(b, 0, PVD.logicalBlockSize);
  if (!BLOCK_SIZES.has(blockSize)) {
    ctx.fail(`volume descriptor at byte ${at} has logical block size ${blockSize}, expected 512, 1024 or 2048`, { offset: at + PVD.logicalBlockSize.at });
  }
  const decode = (f: Field) => (ucs2 ? ucs2Text(raw(b, 0, f)).replace(/[ \0]+$/, '') : text(b, 0, f));
  return {
    volumeId: decode(PVD.volumeId),
    systemId: decode(PVD.systemId),
    volumeSpaceSize: num(b, 0, PVD.volumeSpaceSize),
    logicalBlockSize: blockSize,
    pathTableSize: num(b, 0, PVD.pathTableSize),
    pathTables: {
      l: num(b, 0, PVD.lPathTable),
      lOptional: num(b, 0, PVD.lPathTableOptional),
      m: num(b, 0, PVD.mPathTable),
      mOptional: num(b, 0, PVD.mPathTableOptional),
    },
    // A copy (Uint8Array's slice: Buffer's is a view), not a view that keeps the read's block alive (a 256 KiB block of
    // a BlockCache, as long as the image's descriptors are).
    rootRecord: Uint8Array.prototype.slice.call(raw(b, 0, PVD.rootDirectoryRecord)),
  };
}

/** Reads the volume descriptor set from sector 16 up to its terminator. */
export async function readDescriptors(ctx: IsoContext): Promise<DescriptorSet> {
  const first = SYSTEM_AREA_SECTORS * SECTOR_BYTES;
  if (ctx.size < first + SECTOR_BYTES) {
    ctx.fail(`image is truncated: it has ${ctx.size} bytes, too few for a volume descriptor at byte ${first}`, { offset: first });
  }
  const descriptors: VolumeDescriptor[] = [];
  let primary: Extract<VolumeDescriptor, { type: 'primary' }> | undefined;
  let joliet: Extract<VolumeDescriptor, { type: 'joliet' }> | undefined;
  let bootCatalogLba: number | undefined;
  for (let i = 0; ; i++) {
    const sector = SYSTEM_AREA_SECTORS + i;
    const at = sector * SECTOR_BYTES;
    if (i >= LIMITS.descriptors) ctx.fail(`no volume descriptor set terminator within ${LIMITS.descriptors} descriptors from byte ${first}`, { offset: at });
    if (at + SECTOR_BYTES > ctx.size) {
      ctx.fail(`image is truncated: the volume descriptor set runs to byte ${at} without a terminator (image has ${ctx.size} bytes)`, { offset: at });
    }
    const b = await ctx.read(at, SECTOR_BYTES, 'volume descriptor');
    const id = latin1Text(raw(b, 0, VD_HEADER.standardId));
    if (id !== STANDARD_ID) {
      ctx.fail(`volume descriptor at byte ${at} has identifier ${JSON.stringify(id)}, expected "CD001"`, { offset: at + VD_HEADER.standardId.at });
    }
    const typeCode = num(b, 0, VD_HEADER.type);
    if (typeCode === VD_TYPE.terminator) {
      descriptors.push({ type: 'terminator', sector });
      break;
    }
    if (typeCode === VD_TYPE.primary) {
      const d = { type: 'primary' as const, sector, ...volumeInfo(ctx, b, sector, false) };
      descriptors.push(d);
      primary ??= d; // §8.4: the first primary descriptor is the one in force
    } else if (typeCode === VD_TYPE.supplementary) {
      const esc = latin1Text(raw(b, 0, PVD.escapeSequences)).replace(/[ \0]+$/, '');
      const level = JOLIET_ESCAPES[esc.slice(0, 3)];
      if (level !== undefined) {
        const d = { type: 'joliet' as const, sector, level, ...volumeInfo(ctx, b, sector, true) };
        descriptors.push(d);
        joliet ??= d;
      } else {
        descriptors.push({ type: 'supplementary', sector, escapeSequences: esc });
      }
    } else if (typeCode === VD_TYPE.boot) {
      const bootSystemId = text(b, 0, BOOT_RECORD.bootSystemId);
      if (bootSystemId === EL_TORITO_ID) {
        const lba = num(b, 0, BOOT_RECORD.bootCatalogLba);
        descriptors.push({ type: 'boot', sector, bootSystemId, bootCatalogLba: lba });
        bootCatalogLba ??= lba;
      } else {
        descriptors.push({ type: 'boot', sector, bootSystemId });
      }
    } else if (typeCode === VD_TYPE.partition) {
      descriptors.push({ type: 'partition', sector });
    } else {
      descriptors.push({ type: 'unknown', sector, typeCode }); // tolerated, as ECMA-119 §8.1.1 reserves 4-254
    }
  }
  if (!primary) ctx.fail(`no primary volume descriptor between byte ${first} and the terminator`, { offset: first });
  checkVolumeSize(ctx, primary);
  return { descriptors, primary, ...(joliet ? { joliet } : {}), ...(bootCatalogLba !== undefined ? { bootCatalogLba } : {}) };
}

function checkVolumeSize(ctx: IsoContext, pvd: VolumeInfo & { sector: number }): void {
  const bytes = pvd.volumeSpaceSize * pvd.logicalBlockSize;
  const at = pvd.sector * SECTOR_BYTES + PVD.volumeSpaceSize.at;
  if (bytes < (SYSTEM_AREA_SECTORS + 2) * SECTOR_BYTES) {
    ctx.fail(`primary volume descriptor gives a volume space of ${pvd.volumeSpaceSize} blocks, too small to hold its own descriptors`, { offset: at });
  }
  if (bytes > ctx.size) {
    ctx.fail(`image is truncated: the primary volume descriptor gives ${pvd.volumeSpaceSize} blocks (${bytes} bytes) but the image has ${ctx.size} bytes`, { offset: at });
  }
}
