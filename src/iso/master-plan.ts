/**
 * The plan of a remastered image: layout (layout.ts) of the model
 * (master-model.ts), then every metadata block encoded, as a list of
 * segments the writer copies in block order. Pure.
 *
 * Directory sizes depend on how many extents each file ends up with, and a
 * split in the layout adds extents, so the plan lays out, measures, and lays
 * out again with the larger counts until nothing grows (a few rounds).
 * Bytes the segments do not cover are the base's at the same offset (dead
 * space keeps the base's bytes, so a client that downloads into a copy of
 * the base finds them in place), or zeros past the base's end.
 */
import { IsosyncError } from '../errors.js';
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import { writeDescriptors } from './descriptor-write.js';
import { encodeCatalog, withBootRecord, type BootImageSpec, type PlacedImage } from './boot-setup.js';
import { EL_TORITO_ID } from './descriptors.js';
import { encodeDirectory, rootRecord, sizeDirectory, type DirectorySize, type Extent, type RecordSpec } from './dir-write.js';
import { patchCatalog, type BootImagePlace } from './eltorito-write.js';
import type { IsoImage } from './entry.js';
import { planLayout, type LayoutResult, type Run } from './layout.js';
import { childSystemUse, parentSystemUse, selfSystemUse, type ChildRef, type Content, type DirModel, type Model } from './master-model.js';
import { encodePathTable, pathTableBytes, type PathRecordSpec } from './path-table-write.js';
import { metaRegion, type Region } from './meta-region.js';
import { directoryVerdicts } from './verbatim.js';
import type { IsoEntry } from './entry.js';

/** ECMA-119 §9.1.4: one extent holds at most 2^32 - 2048 bytes (whole blocks). */
export const MAX_EXTENT_BYTES = 0xffffffff - (SECTOR_BYTES - 1);
/** Extents a split file may reach; each costs one directory record per tree. */
const MAX_EXTENTS = 32;
/**
 * Fresh content fills free runs until the dead space is below this (or the
 * --max-waste bound if lower): filling a run costs a stock client the pieces
 * it shares with unchanged neighbours, and an image 1.5 % over its live
 * bytes still stays within 2 % of one written from scratch. Measured on the
 * remaster bench (256 KiB pieces, libtorrent from a copy of the base): 1 %
 * dead gave 1.52 x the floor at 1.009 x xorriso's size, 1.5 % gave 1.30 x at
 * 1.014 x, 2 % gave 1.16 x at 1.019 x (too near the 1.02 bound).
 */
const FRESH_WASTE = 0.015;
/** The layout item of a new boot catalog. */
const CATALOG_KEY = '\0catalog';
/** Rounds of layout before giving up on directory sizes settling. */
const MAX_ROUNDS = 8;

export type Segment =
  | { readonly at: number; readonly length: number; readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly at: number; readonly length: number; readonly kind: 'file'; readonly path: string; readonly offset: number; readonly fileBytes: number; readonly bootInfoLba?: number }
  | { readonly at: number; readonly length: number; readonly kind: 'base'; readonly offset: number };

export interface PlanInput {
  readonly base: IsoImage;
  /** The base's descriptor sectors, 16 through the terminator. */
  readonly descriptorSet: Uint8Array;
  /** The base's boot catalog block, when it has one. */
  readonly catalog?: Uint8Array;
  /** Boot entries (reader order) whose image carries a boot information table. */
  readonly bootInfoTables: ReadonlySet<number>;
  /** A boot setup replacing the base's catalog (boot-setup.ts); contents' bootEntries index it. */
  readonly newBoot?: readonly BootImageSpec[];
  readonly model: Model;
  /** The base's Joliet tree, for reusing its directories as they are. */
  readonly baseJoliet?: readonly IsoEntry[];
  readonly volumeId?: string;
  readonly maxWaste: number;
  readonly dateMs: number;
  /** Blocks per piece of the torrent the image will be published with (layout.ts packs fresh content by piece). */
  readonly pieceBlocks?: number;
}

export interface RemasterStats {
  readonly keptBytes: number;
  readonly movedBytes: number;
  readonly newBytes: number;
  readonly deadBytes: number;
  readonly metadataBytes: number;
  readonly imageBytes: number;
  readonly moved: readonly { path: string; bytes: number }[];
}

export interface RemasterPlan {
  /** Where the new boot setup's catalog and images are, when there is one. */
  readonly boot?: { readonly catalogLba: number; readonly images: readonly PlacedImage[] };
  /** Without a new boot setup: the base's boot entries (reader order) whose image moved, and where to (block). */
  readonly movedBootImages: ReadonlyMap<number, number>;
  readonly imageBytes: number;
  readonly segments: readonly Segment[];
  readonly stats: RemasterStats;
}

const blocksOf = (bytes: number) => Math.ceil(bytes / SECTOR_BYTES);

/** Extents of `size` bytes laid over `runs` in content order. */
function extentsOf(runs: readonly Run[], size: number): Extent[] {
  if (size === 0 || runs.length === 0) return [{ lba: 0, size: 0 }];
  let left = size;
  return runs.map((r) => {
    const n = Math.min(left, r.length * SECTOR_BYTES);
    left -= n;
    return { lba: r.start, size: n };
  });
}

/** System use of each record, encoded once per plan (sizes are measured again every round). */
const selfSu = new WeakMap<DirModel, Uint8Array[]>(), parentSu = new WeakMap<DirModel, Uint8Array[]>(), childSu = new WeakMap<ChildRef, Uint8Array[]>();
function memo<K extends object>(m: WeakMap<K, Uint8Array[]>, k: K, make: (k: K) => Uint8Array[]): Uint8Array[] {
  let v = m.get(k);
  if (!v) m.set(k, (v = make(k)));
  return v;
}

function specs(d: DirModel, tree: 'iso' | 'joliet', records: (c: Content) => number): RecordSpec[] {
  const joliet = tree === 'joliet';
  const parent = d.parent ?? d;
  const out: RecordSpec[] = [
    { id: Uint8Array.of(0), directory: true, mtimeMs: d.node.mtimeMs, su: joliet ? [] : memo(selfSu, d, selfSystemUse), records: 1 },
    { id: Uint8Array.of(1), directory: true, mtimeMs: parent.node.mtimeMs, su: joliet ? [] : memo(parentSu, parent, parentSystemUse), records: 1 },
  ];
  for (const { child, id } of d[tree]) {
    out.push({
      id, directory: child.dir !== undefined, mtimeMs: child.node.mtimeMs, su: joliet ? [] : memo(childSu, child, childSystemUse),
      records: child.content ? records(child.content) : 1,
    });
  }
  return out;
}

function pathRecords(dirs: readonly DirModel[], tree: 'iso' | 'joliet'): PathRecordSpec[] {
  const idOf = new Map<DirModel, Uint8Array>();
  for (const d of dirs) for (const { child, id } of d[tree]) if (child.dir) idOf.set(child.dir, id);
  return dirs.map((d) => ({
    id: d.parent ? idOf.get(d)! : Uint8Array.of(0),
    parent: d.parent ? (tree === 'iso' ? d.parent.number : d.parent.jolietNumber) : 1,
  }));
}

export function planRemaster(input: PlanInput): RemasterPlan {
  const { base, model } = input;
  const joliet = model.jolietDirs.length > 0;
  const terminator = base.descriptors.find((d) => d.type === 'terminator')!;
  // A new boot setup on a base without a boot record adds one descriptor block.
  const reservedEnd = terminator.sector + 1 + (input.newBoot && !base.descriptors.some((d) => d.type === 'boot' && d.bootSystemId === EL_TORITO_ID) ? 1 : 0);
  const baseEnd = base.volumeSpaceSize;

  // Boot images: a kept one stays pinned where it is; one not in the tree stays as the base has it.
  // A new boot setup replaces the base's catalog: its block is laid out like metadata.
  const pinned: Run[] = [];
  const boot = input.newBoot ? undefined : base.boot;
  if (boot) pinned.push({ start: boot.catalogLba, length: 1 });
  const pinnedContents = new Set<Content>();
  if (input.newBoot) for (const c of model.contents) if (c.kept && c.bootEntries.length > 0) pinnedContents.add(c);
  boot?.entries.forEach((b, i) => {
    const c = model.contents.find((x) => x.bootEntries.includes(i));
    if (c?.kept) pinnedContents.add(c);
    else if (!c) pinned.push({ start: b.lba, length: blocksOf(b.imageBytes) });
  });
  for (const c of pinnedContents) for (const x of c.kept!) if (x.size > 0) pinned.push({ start: x.lba, length: blocksOf(x.size) });

  const keptRuns = (c: Content): Run[] => c.kept!.filter((x) => x.size > 0).map((x) => ({ start: x.lba, length: blocksOf(x.size) }));
  const counts = new Map<Content, number>();
  for (const c of model.contents) counts.set(c, c.kept ? Math.max(1, keptRuns(c).length) : Math.max(1, Math.ceil(c.size / MAX_EXTENT_BYTES)));

  // All metadata is one region right after the volume descriptors, as mkisofs and xorriso
  // lay it out: each tree's directories in path table order (every directory after its
  // parent: libarchive reads them in one forward sweep), then the path tables. No file
  // content lies before it, so no multi-extent file can straddle it.
  const isoTable = pathRecords(model.dirs, 'iso');
  const jolietTable = joliet ? pathRecords(model.jolietDirs, 'joliet') : [];

  let layout: LayoutResult | undefined;
  let region: Region | undefined;
  let isoSizes = new Map<DirModel, DirectorySize>(), jolietSizes = new Map<DirModel, DirectorySize>();
  // A directory's size depends only on its children's extent counts: measured again only when one changed.
  const measured = { iso: new Map<DirModel, { counts: string; size: DirectorySize }>(), joliet: new Map<DirModel, { counts: string; size: DirectorySize }>() };
  const measure = (d: DirModel, tree: 'iso' | 'joliet', records: (c: Content) => number): DirectorySize => {
    let counts = '';
    for (const { child } of d[tree]) if (child.content) counts += `${records(child.content)},`;
    const old = measured[tree].get(d);
    if (old && old.counts === counts) return old.size;
    const size = sizeDirectory(specs(d, tree, records));
    measured[tree].set(d, { counts, size });
    return size;
  };
  let movedKeys = new Set<string>();
  const continuations: Run[] = base.metadata.filter((m) => m.kind === 'continuation').map((m) => ({ start: Math.floor(m.start / SECTOR_BYTES), length: blocksOf(m.end) - Math.floor(m.start / SECTOR_BYTES) }));
  for (let round = 0; ; round++) {
    if (round >= MAX_ROUNDS) throw new IsosyncError('UNSUPPORTED', `Cannot lay out the image: directory sizes did not settle in ${MAX_ROUNDS} rounds`);
    const rec = (c: Content) => counts.get(c)!;
    isoSizes = new Map(model.dirs.map((d) => [d, measure(d, 'iso', rec)]));
    jolietSizes = new Map(model.jolietDirs.map((d) => [d, measure(d, 'joliet', rec)]));
    const verdicts = directoryVerdicts(model, base, input.baseJoliet, movedKeys);
    region = metaRegion(model, isoSizes, jolietSizes, verdicts, [blocksOf(pathTableBytes(isoTable)), blocksOf(pathTableBytes(isoTable)), blocksOf(pathTableBytes(jolietTable)), blocksOf(pathTableBytes(jolietTable))], reservedEnd, pinned, continuations);
    const metadata = [
      { key: 'meta', blocks: region.blocks, splittable: false, barrier: true, fixed: region.runs },
      ...(input.newBoot ? [{ key: CATALOG_KEY, blocks: 1, splittable: false, ...(base.boot ? { prefer: { start: base.boot.catalogLba, length: 1 } } : {}) }] : []),
    ];
    layout = planLayout({
      reservedEnd, baseEnd, pinned: region.verbatim > 0 ? [...pinned, ...continuations] : pinned, maxWaste: input.maxWaste, freshWaste: FRESH_WASTE, maxExtentBlocks: MAX_EXTENT_BYTES / SECTOR_BYTES, maxExtents: MAX_EXTENTS,
      kept: model.contents.filter((c) => c.kept && !pinnedContents.has(c) && c.size > 0).map((c) => ({ key: c.key, blocks: blocksOf(c.size), splittable: c.splittable, runs: keptRuns(c) })),
      fresh: model.contents.filter((c) => !c.kept && c.size > 0).map((c) => ({ key: c.key, blocks: blocksOf(c.size), splittable: c.splittable })),
      metadata, ...(input.pieceBlocks !== undefined ? { pieceBlocks: input.pieceBlocks } : {}),
    });
    let grew = false;
    for (const c of model.contents) {
      const n = Math.max(1, layout.runs.get(c.key)?.length ?? 1);
      if (n > counts.get(c)!) {
        counts.set(c, n);
        grew = true;
      }
    }
    const movedNow = new Set(layout.moved.keys());
    if (!grew && [...movedNow].every((k) => movedKeys.has(k))) break;
    movedKeys = new Set([...movedKeys, ...movedNow]);
  }
  // Encode with the extents each file got (never more than the sizes were planned for).
  const actual = (c: Content) => (pinnedContents.has(c) ? counts.get(c)! : Math.max(1, layout!.runs.get(c.key)?.length ?? 1));
  isoSizes = new Map(model.dirs.map((d) => [d, measure(d, 'iso', actual)]));
  jolietSizes = new Map(model.jolietDirs.map((d) => [d, measure(d, 'joliet', actual)]));
  return encode(input, layout!, region!, isoSizes, jolietSizes, isoTable, jolietTable, pinnedContents);
}

function encode(
  input: PlanInput, layout: LayoutResult, region: Region, isoSizes: Map<DirModel, DirectorySize>, jolietSizes: Map<DirModel, DirectorySize>,
  isoTable: PathRecordSpec[], jolietTable: PathRecordSpec[], pinnedContents: ReadonlySet<Content>,
): RemasterPlan {
  const { base, model } = input;
  const segments: Segment[] = [];
  const runOf = (key: string) => layout.runs.get(key)?.[0] ?? { start: 0, length: 0 };
  const contentExtents = (c: Content): Extent[] => pinnedContents.has(c) ? c.kept!.map((x) => ({ ...x })) : extentsOf(layout.runs.get(c.key) ?? [], c.size);
  const joliet = model.jolietDirs.length > 0;
  const dirExtent = (d: DirModel, tree: 'iso' | 'joliet'): Extent => {
    const at = region.at[tree].get(d)!;
    return { lba: at.lba, size: at.verbatimBytes ?? (tree === 'iso' ? isoSizes : jolietSizes).get(d)!.bytes };
  };
  const catalogEntry = base.boot ? base.entries.find((e) => e.type === 'file' && e.lba === base.boot!.catalogLba) : undefined;
  const catalogExtent: Extent = input.newBoot ? { lba: runOf(CATALOG_KEY).start, size: SECTOR_BYTES } : { lba: base.boot?.catalogLba ?? 0, size: catalogEntry?.size ?? SECTOR_BYTES };

  for (const [tree, sizes] of [['iso', isoSizes], ['joliet', jolietSizes]] as const) {
    for (const [d, size] of sizes) {
      if (region.at[tree].get(d)!.verbatimBytes !== undefined) continue; // the base's blocks, as they are
      const self = dirExtent(d, tree);
      const kids = d[tree];
      const { dir, ce } = encodeDirectory(size, self.lba, self.lba + size.bytes / SECTOR_BYTES, (i) => {
        if (i === 0) return [self];
        if (i === 1) return [dirExtent(d.parent ?? d, tree)];
        const c = kids[i - 2]!.child;
        if (c.dir) return [dirExtent(c.dir, tree)];
        if (c.catalog) return [catalogExtent];
        return c.content ? contentExtents(c.content) : [{ lba: 0, size: 0 }];
      });
      segments.push({ at: self.lba * SECTOR_BYTES, length: dir.length, kind: 'bytes', bytes: dir });
      if (ce.length > 0) segments.push({ at: self.lba * SECTOR_BYTES + dir.length, length: ce.length, kind: 'bytes', bytes: ce });
    }
  }
  const table = (key: string, records: PathRecordSpec[], dirs: readonly DirModel[], tree: 'iso' | 'joliet', kind: 'L' | 'M') => {
    const bytes = encodePathTable(records, dirs.map((d) => dirExtent(d, tree).lba), kind);
    const at = region.tables[key]!;
    segments.push({ at: at * SECTOR_BYTES, length: blocksOf(bytes.length) * SECTOR_BYTES, kind: 'bytes', bytes: padBlocks(bytes) });
    return at;
  };
  const lIso = table('pt:L', isoTable, model.dirs, 'iso', 'L');
  const mIso = table('pt:M', isoTable, model.dirs, 'iso', 'M');
  const lJol = joliet ? table('jpt:L', jolietTable, model.jolietDirs, 'joliet', 'L') : 0;
  const mJol = joliet ? table('jpt:M', jolietTable, model.jolietDirs, 'joliet', 'M') : 0;

  const volumeBlocks = layout.end;
  const rootIso = dirExtent(model.root, 'iso');
  const set = input.newBoot ? withBootRecord(input.descriptorSet, base.descriptors, catalogExtent.lba) : { set: input.descriptorSet, descriptors: base.descriptors };
  const descriptors = writeDescriptors(set.set, set.descriptors, {
    primary: { volumeBlocks, pathTableBytes: pathTableBytes(isoTable), lPathTable: lIso, mPathTable: mIso, rootRecord: rootRecord(rootIso.lba, rootIso.size, model.root.node.mtimeMs) },
    ...(joliet ? { joliet: { volumeBlocks, pathTableBytes: pathTableBytes(jolietTable), lPathTable: lJol, mPathTable: mJol, rootRecord: rootRecord(dirExtent(model.root, 'joliet').lba, dirExtent(model.root, 'joliet').size, model.root.node.mtimeMs) } } : {}),
    ...(input.volumeId !== undefined ? { volumeId: input.volumeId } : {}),
    dateMs: input.dateMs,
  });
  segments.push({ at: SYSTEM_AREA_SECTORS * SECTOR_BYTES, length: descriptors.length, kind: 'bytes', bytes: descriptors });

  // Boot catalog: a new one for a new boot setup; else the base's, its entries following their images if they moved.
  const places = new Map<number, BootImagePlace>();
  const bootInfoLba = new Map<Content, number>();
  let newBoot: RemasterPlan['boot'];
  if (input.newBoot) {
    const images: PlacedImage[] = input.newBoot.map((spec, i) => {
      const c = model.contents.find((x) => x.bootEntries.includes(i));
      if (!c || c.size === 0) throw new IsosyncError('BAD_ARGUMENT', `Cannot boot from ${spec.path}: it is not a file with content in the tree`, { path: spec.path });
      const lba = c.kept ? c.kept[0]!.lba : runOf(c.key).start;
      if (spec.bootInfoTable && !c.kept) bootInfoLba.set(c, lba);
      return { platform: spec.platform, lba, bytes: c.size, loadSectors: spec.loadSectors };
    });
    segments.push({ at: catalogExtent.lba * SECTOR_BYTES, length: SECTOR_BYTES, kind: 'bytes', bytes: encodeCatalog(images) });
    newBoot = { catalogLba: catalogExtent.lba, images };
  }
  for (const c of model.contents) {
    if (input.newBoot || c.kept || c.bootEntries.length === 0 || c.size === 0) continue;
    const lba = runOf(c.key).start;
    for (const i of c.bootEntries) {
      const old = base.boot!.entries[i]!;
      const followsSize = old.emulation === 'none' && old.sectorCount * 512 >= old.imageBytes && base.entries.some((e) => e.lba === old.lba && Math.ceil(e.size / 512) === old.sectorCount);
      places.set(i, { lba, ...(followsSize ? { sectorCount: Math.min(0xffff, Math.ceil(c.size / 512)) } : {}) });
      if (input.bootInfoTables.has(i)) bootInfoLba.set(c, lba);
    }
  }
  if (base.boot && input.catalog && places.size > 0) {
    segments.push({ at: base.boot.catalogLba * SECTOR_BYTES, length: SECTOR_BYTES, kind: 'bytes', bytes: padBlocks(patchCatalog(input.catalog, places)) });
  }

  // File content: fresh from the tree, moved kept content from the base.
  let keptBytes = 0, newBytes = 0, movedBytes = 0;
  const moved: { path: string; bytes: number }[] = [];
  for (const c of model.contents) {
    if (c.size === 0) continue;
    const runs = pinnedContents.has(c) ? [] : layout.runs.get(c.key) ?? [];
    if (!c.kept) {
      newBytes += c.size;
      let offset = 0;
      for (const r of runs) {
        const n = Math.min(c.size - offset, r.length * SECTOR_BYTES);
        const lba = bootInfoLba.get(c);
        segments.push({ at: r.start * SECTOR_BYTES, length: r.length * SECTOR_BYTES, kind: 'file', path: c.source, offset, fileBytes: n, ...(lba !== undefined ? { bootInfoLba: lba } : {}) });
        offset += n;
      }
      continue;
    }
    const m = layout.moved.get(c.key);
    if (!m) {
      keptBytes += c.size;
      continue;
    }
    const bytes = Math.min(c.size, m * SECTOR_BYTES);
    movedBytes += bytes;
    keptBytes += c.size - bytes;
    moved.push({ path: c.source, bytes });
    // Copy every block whose place changed from where the base has that block of content.
    const old: number[] = [];
    for (const x of c.kept!) for (let b = 0; b < blocksOf(x.size); b++) old.push(x.lba + b);
    let k = 0;
    for (const r of runs) {
      for (let b = 0; b < r.length; b++, k++) {
        const from = old[k]!;
        if (from === r.start + b) continue;
        const last = segments[segments.length - 1];
        if (last && last.kind === 'base' && last.at + last.length === (r.start + b) * SECTOR_BYTES && last.offset + last.length === from * SECTOR_BYTES) {
          segments[segments.length - 1] = { ...last, length: last.length + SECTOR_BYTES };
        } else segments.push({ at: (r.start + b) * SECTOR_BYTES, length: SECTOR_BYTES, kind: 'base', offset: from * SECTOR_BYTES });
      }
    }
  }
  segments.sort((a, b) => a.at - b.at);
  let metadataBytes = 0;
  for (const s of segments) if (s.kind === 'bytes') metadataBytes += s.length;
  const imageBytes = volumeBlocks * SECTOR_BYTES;
  return {
    ...(newBoot ? { boot: newBoot } : {}), movedBootImages: new Map([...places].map(([i, p]) => [i, p.lba])), imageBytes, segments,
    stats: { keptBytes, movedBytes, newBytes, deadBytes: layout.deadBlocks * SECTOR_BYTES, metadataBytes, imageBytes, moved },
  };
}

function padBlocks(b: Uint8Array): Uint8Array {
  if (b.length % SECTOR_BYTES === 0) return b;
  const out = new Uint8Array(blocksOf(b.length) * SECTOR_BYTES);
  out.set(b);
  return out;
}
