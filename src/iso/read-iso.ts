/**
 * readIso: the whole reader. Reads the volume descriptors, chooses the tree
 * to list (Rock Ridge, else Joliet, else plain ISO 9660), walks it, walks the
 * other tree for its directory sectors, parses the path tables and the El
 * Torito catalog. It reads metadata only, never file content, so a
 * RecordingSource around `src` tells which byte ranges a listing needs.
 */
import type { ByteSource } from '../store/byte-source.js';
import type { Span } from '../core/span.js';
import { IsoContext, LIMITS, SECTOR_BYTES } from './context.js';
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

/**
 * Directories announced from the path tables at most: a real image has tens of thousands at most (a DVD of
 * 50,000 files), while a 64 MiB path table (LIMITS.pathTableBytes) could name millions of sectors; past this
 * the walks announce what they find, a queue at a time, as they did.
 */
const ANNOUNCED_DIRECTORIES = 65_536;

/** The path tables pathTables() reads (within the limits it checks). */
function pathTableSpans(ctx: IsoContext, set: DescriptorSet): Span[] {
  const out: Span[] = [];
  for (const vd of [set.primary, ...(set.joliet ? [set.joliet] : [])]) {
    const size = vd.pathTableSize;
    if (size === 0 || size > LIMITS.pathTableBytes) continue;
    const { l, lOptional, m, mOptional } = vd.pathTables;
    for (const lba of [l, m, ...[lOptional, mOptional].filter((x) => x !== 0)]) out.push({ start: lba * vd.logicalBlockSize, end: lba * vd.logicalBlockSize + size });
  }
  return out.filter((s) => s.end <= ctx.size);
}

/**
 * A source that fetches (a sync's target, read through the network) is told what the reading will need
 * in two round trips, where the walks took one per tree level and the path tables and the boot catalog
 * one each: with the root's first sector, the path tables (chooseTree); then the first sector of every
 * directory the primary L tables name (each has at least one) of the trees that are walked, and the boot
 * catalog's first sector (here). Only bytes that are read anyway are announced, so nothing more is
 * fetched. A hint only: a path table that cannot be read is reported by pathTables(), after the walks.
 */
export async function announceDirectories(ctx: IsoContext, set: DescriptorSet, walked: { primary: boolean; joliet: boolean }): Promise<void> {
  if (!ctx.src.prefetch) return;
  const sectors: Span[] = [];
  try {
    for (const vd of [set.primary, ...(set.joliet ? [set.joliet] : [])]) {
      const primary = vd === set.primary;
      if (!(primary ? walked.primary : walked.joliet) || vd.pathTableSize === 0) continue;
      const bs = vd.logicalBlockSize;
      const t = await readPathTable(ctx, primary ? 'primary' : 'joliet', 'L', vd.pathTables.l, vd.pathTableSize, bs);
      for (const r of t.records.slice(0, ANNOUNCED_DIRECTORIES - sectors.length)) sectors.push({ start: r.lba * bs, end: (r.lba + 1) * bs });
    }
  } catch {
    return;
  }
  if (set.bootCatalogLba !== undefined) sectors.push({ start: set.bootCatalogLba * set.primary.logicalBlockSize, end: set.bootCatalogLba * set.primary.logicalBlockSize + SECTOR_BYTES });
  await ctx.src.prefetch(sectors.filter((s) => s.start >= 0 && s.end <= ctx.size));
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
export async function chooseTree(src: ByteSource, name: string, announce = false): Promise<TreeChoice> {
  const ctx = new IsoContext(src, name);
  const set = await readDescriptors(ctx);
  const pvd = set.primary;
  const bs = pvd.logicalBlockSize;
  const root = rootRecord(ctx, pvd);
  // With `announce` (readIso of a whole image): the path tables come with the root's first sector (announceDirectories).
  if (announce && src.prefetch) {
    const at = (root.extentLba + root.extAttrLength) * bs;
    const end = at + Math.min(root.dataLength, SECTOR_BYTES);
    await src.prefetch([...pathTableSpans(ctx, set), ...(end <= ctx.size ? [{ start: at, end }] : [])]);
  }

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

/** The path tables of the primary and Joliet descriptors, read and checked. */
export async function readPathTables(ctx: IsoContext, set: DescriptorSet, pvd: VolumeInfo): Promise<PathTable[]> {
  return [...(await pathTables(ctx, 'primary', pvd)), ...(set.joliet ? await pathTables(ctx, 'joliet', set.joliet) : [])];
}

export async function readIso(src: ByteSource, opts: ReadIsoOptions = {}): Promise<IsoImage> {
  const partial = opts.descend !== undefined;
  const { ctx, set, pvd, bs, root, jolietRoot, names, suspSkip, hasRockRidge, hasJoliet } = await chooseTree(src, opts.name ?? 'image', !partial);
  const both = !partial && opts.otherTree !== false;
  if (!partial) await announceDirectories(ctx, set, { primary: names !== 'joliet' || both, joliet: names === 'joliet' || both });
  const main = await walkTree(ctx, names === 'joliet' ? jolietRoot! : root, { names, blockSize: bs, suspSkip, ...(opts.descend ? { descend: opts.descend } : {}) });
  // One area per directory: appended one at a time (a spread of 150,000 arguments overflows the stack).
  const metadata: MetadataArea[] = main.metadata;
  // The other tree shares file content but has its own directory sectors: read them for the region map,
  // keeping no entries (not when only chosen directories are read).
  const other = partial || opts.otherTree === false ? undefined
    : names !== 'joliet' && jolietRoot
      ? await walkTree(ctx, jolietRoot, { names: 'joliet', blockSize: bs, suspSkip: 0, entries: false })
      : names === 'joliet' ? await walkTree(ctx, root, { names: 'iso9660', blockSize: bs, suspSkip: 0, entries: false }) : undefined;
  for (const m of other?.metadata ?? []) metadata.push(m);

  const tables = partial ? [] : await readPathTables(ctx, set, pvd);
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
