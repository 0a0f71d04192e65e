/**
 * readIso: the whole reader. Reads the volume descriptors, chooses the tree
 * to list (Rock Ridge, else Joliet, else plain ISO 9660), walks it, walks the
 * other tree for its directory sectors, parses the path tables and the El
 * Torito catalog. It reads metadata only, never file content, so a
 * RecordingSource around `src` tells which byte ranges a listing needs.
 */
import type { ByteSource } from '../store/byte-source.js';
import { IsoContext, SECTOR_BYTES } from './context.js';
import { PVD, readDescriptors, type DescriptorSet, type VolumeInfo } from './descriptors.js';
import { readBootCatalog } from './eltorito.js';
import type { IsoImage, MetadataArea, PathTable } from './entry.js';
import { checkPathTablesAgree, readPathTable } from './path-tables.js';
import { MIN_RECORD_BYTES, parseRecord, readDirectory, type DirRecord } from './records.js';
import { parseSystemUse } from './susp.js';
import { walkTree, type NameSource } from './tree.js';

export interface ReadIsoOptions {
  /** How the image is named in error messages (`Cannot read ISO "<name>": ...`). */
  readonly name?: string;
  /**
   * Read only some directories, and only the tree that lists the entries
   * (no second tree, path tables or boot catalog): the directories on the
   * paths to a few chosen files (tree.ts TreeOptions.descend). The image's
   * `metadata` then lists only what was read.
   */
  readonly descend?: (path: string) => boolean;
  /**
   * false: the tree that does not list the entries (Joliet beside Rock Ridge) is not walked,
   * so `metadata` lacks its directory sectors; everything else is read and checked as usual.
   * For commands that want the entries only (ls, extract). Default true.
   */
  readonly otherTree?: boolean;
}

function rootRecord(ctx: IsoContext, vd: VolumeInfo & { sector: number }): DirRecord {
  const base = vd.sector * SECTOR_BYTES + PVD.rootDirectoryRecord.at;
  return parseRecord(ctx, vd.rootRecord, 0, base, MIN_RECORD_BYTES, 'root directory record');
}

async function pathTables(ctx: IsoContext, volume: 'primary' | 'joliet', vd: VolumeInfo): Promise<PathTable[]> {
  const { l, lOptional, m, mOptional } = vd.pathTables;
  const size = vd.pathTableSize;
  if (size === 0) return [];
  const out: PathTable[] = [];
  const bs = vd.logicalBlockSize;
  const lt = await readPathTable(ctx, volume, 'L', l, size, bs);
  out.push(lt);
  if (lOptional !== 0) out.push(await readPathTable(ctx, volume, 'L-optional', lOptional, size, bs));
  const mt = await readPathTable(ctx, volume, 'M', m, size, bs);
  out.push(mt);
  if (mOptional !== 0) out.push(await readPathTable(ctx, volume, 'M-optional', mOptional, size, bs));
  checkPathTablesAgree(ctx, lt, mt);
  return out;
}

/** What the volume descriptors and the root's "." record say: which tree lists the entries, and how to read it. */
export interface TreeChoice {
  readonly ctx: IsoContext;
  readonly set: DescriptorSet;
  readonly pvd: VolumeInfo & { sector: number };
  readonly bs: number;
  readonly root: DirRecord;
  readonly jolietRoot: DirRecord | undefined;
  readonly names: NameSource;
  readonly suspSkip: number;
  readonly hasRockRidge: boolean;
  readonly hasJoliet: boolean;
}

/** Reads the descriptors and chooses the tree to list: Rock Ridge, else Joliet, else plain ISO 9660. */
export async function chooseTree(src: ByteSource, name: string): Promise<TreeChoice> {
  const ctx = new IsoContext(src, name);
  const set = await readDescriptors(ctx);
  const pvd = set.primary;
  const bs = pvd.logicalBlockSize;
  const root = rootRecord(ctx, pvd);

  // SUSP is in use when the first record of the root directory starts with SP (SUSP §5.3).
  let suspSkip = 0;
  let hasRockRidge = false;
  const dot = await readDirectory(ctx, root.extentLba + root.extAttrLength, Math.min(root.dataLength, SECTOR_BYTES), bs, '/').next();
  if (!dot.done) {
    const su = await parseSystemUse(ctx, dot.value.systemUse, dot.value.offset, 0, bs);
    if (su.spSkip !== undefined) {
      suspSkip = su.spSkip;
      hasRockRidge = su.hasRockRidge;
    }
  }
  const hasJoliet = set.joliet !== undefined;
  const names: NameSource = hasRockRidge ? 'rockridge' : hasJoliet ? 'joliet' : 'iso9660';
  const jolietRoot = set.joliet ? rootRecord(ctx, set.joliet) : undefined;
  return { ctx, set, pvd, bs, root, jolietRoot, names, suspSkip, hasRockRidge, hasJoliet };
}

export async function readIso(src: ByteSource, opts: ReadIsoOptions = {}): Promise<IsoImage> {
  const { ctx, set, pvd, bs, root, jolietRoot, names, suspSkip, hasRockRidge, hasJoliet } = await chooseTree(src, opts.name ?? 'image');
  const main = await walkTree(ctx, names === 'joliet' ? jolietRoot! : root, { names, blockSize: bs, suspSkip, ...(opts.descend ? { descend: opts.descend } : {}) });
  // One area per directory: appended one at a time (a spread of 150,000 arguments overflows the stack).
  const metadata: MetadataArea[] = main.metadata;
  const partial = opts.descend !== undefined;
  // The other tree shares file content but has its own directory sectors: read them for the region map,
  // keeping no entries (not when only chosen directories are read).
  const other = partial || opts.otherTree === false ? undefined
    : names !== 'joliet' && jolietRoot
      ? await walkTree(ctx, jolietRoot, { names: 'joliet', blockSize: bs, suspSkip: 0, entries: false })
      : names === 'joliet' ? await walkTree(ctx, root, { names: 'iso9660', blockSize: bs, suspSkip: 0, entries: false }) : undefined;
  for (const m of other?.metadata ?? []) metadata.push(m);

  const tables = partial ? [] : [...(await pathTables(ctx, 'primary', pvd)), ...(set.joliet ? await pathTables(ctx, 'joliet', set.joliet) : [])];
  const boot = !partial && set.bootCatalogLba !== undefined ? await readBootCatalog(ctx, set.bootCatalogLba, bs) : undefined;

  const entries = main.entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    name: ctx.name,
    volumeId: pvd.volumeId,
    systemId: pvd.systemId,
    volumeSpaceSize: pvd.volumeSpaceSize,
    logicalBlockSize: bs,
    imageBytes: ctx.size,
    descriptors: set.descriptors,
    hasRockRidge,
    hasJoliet,
    tree: names,
    entries,
    ...(boot ? { boot } : {}),
    pathTables: tables,
    metadata,
  };
}
