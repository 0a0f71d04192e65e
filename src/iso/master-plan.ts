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
import { encodeDirectory, rootRecord, sizeDirectory, type DirectorySize, type Extent, type RecordSpec } from './dir-write.js';
import { patchCatalog, type BootImagePlace } from './eltorito-write.js';
import type { IsoImage } from './entry.js';
import { planLayout, type LayoutResult, type Run } from './layout.js';
import { childSystemUse, parentSystemUse, selfSystemUse, type ChildRef, type Content, type DirModel, type Model } from './master-model.js';
import { encodePathTable, pathTableBytes, type PathRecordSpec } from './path-table-write.js';
import { planRegion, type RegionDir } from './meta-region.js';
import { directoryVerdicts, type DirVerdict } from './verbatim.js';
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
  const reservedEnd = terminator.sector + 1;
  const baseEnd = base.volumeSpaceSize;

  // Boot images: a kept one stays pinned where it is; one not in the tree stays as the base has it.
  const pinned: Run[] = [];
  const boot = base.boot;
  if (boot) pinned.push({ start: boot.catalogLba, length: 1 });
  const pinnedContents = new Set<Content>();
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
  let movedKeys = new Set<string>();
  const continuations: Run[] = base.metadata.filter((m) => m.kind === 'continuation').map((m) => ({ start: Math.floor(m.start / SECTOR_BYTES), length: blocksOf(m.end) - Math.floor(m.start / SECTOR_BYTES) }));
  for (let round = 0; ; round++) {
    if (round >= MAX_ROUNDS) throw new IsosyncError('UNSUPPORTED', `Cannot lay out the image: directory sizes did not settle in ${MAX_ROUNDS} rounds`);
    const rec = (c: Content) => counts.get(c)!;
    isoSizes = new Map(model.dirs.map((d) => [d, sizeDirectory(specs(d, 'iso', rec))]));
    jolietSizes = new Map(model.jolietDirs.map((d) => [d, sizeDirectory(specs(d, 'joliet', rec))]));
    const verdicts = directoryVerdicts(model, base, input.baseJoliet, movedKeys);
    region = metaRegion(model, isoSizes, jolietSizes, verdicts, [blocksOf(pathTableBytes(isoTable)), blocksOf(pathTableBytes(isoTable)), blocksOf(pathTableBytes(jolietTable)), blocksOf(pathTableBytes(jolietTable))], reservedEnd, pinned, continuations);
    const metadata = [{ key: 'meta', blocks: region.blocks, splittable: false, barrier: true, fixed: region.runs }];
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
  isoSizes = new Map(model.dirs.map((d) => [d, sizeDirectory(specs(d, 'iso', actual))]));
  jolietSizes = new Map(model.jolietDirs.map((d) => [d, sizeDirectory(specs(d, 'joliet', actual))]));
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
        if (c.catalog) return [{ lba: base.boot!.catalogLba, size: catalogEntry?.size ?? SECTOR_BYTES }];
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
  const descriptors = writeDescriptors(input.descriptorSet, base.descriptors, {
    primary: { volumeBlocks, pathTableBytes: pathTableBytes(isoTable), lPathTable: lIso, mPathTable: mIso, rootRecord: rootRecord(rootIso.lba, rootIso.size, model.root.node.mtimeMs) },
    ...(joliet ? { joliet: { volumeBlocks, pathTableBytes: pathTableBytes(jolietTable), lPathTable: lJol, mPathTable: mJol, rootRecord: rootRecord(dirExtent(model.root, 'joliet').lba, dirExtent(model.root, 'joliet').size, model.root.node.mtimeMs) } } : {}),
    ...(input.volumeId !== undefined ? { volumeId: input.volumeId } : {}),
    dateMs: input.dateMs,
  });
  segments.push({ at: SYSTEM_AREA_SECTORS * SECTOR_BYTES, length: descriptors.length, kind: 'bytes', bytes: descriptors });

  // Boot catalog: entries follow their images if they moved.
  const places = new Map<number, BootImagePlace>();
  const bootInfoLba = new Map<Content, number>();
  for (const c of model.contents) {
    if (c.kept || c.bootEntries.length === 0 || c.size === 0) continue;
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
    imageBytes, segments,
    stats: { keptBytes, movedBytes, newBytes, deadBytes: layout.deadBlocks * SECTOR_BYTES, metadataBytes, imageBytes, moved },
  };
}

function padBlocks(b: Uint8Array): Uint8Array {
  if (b.length % SECTOR_BYTES === 0) return b;
  const out = new Uint8Array(blocksOf(b.length) * SECTOR_BYTES);
  out.set(b);
  return out;
}

interface Region {
  readonly at: { iso: Map<DirModel, { lba: number; verbatimBytes?: number }>; joliet: Map<DirModel, { lba: number; verbatimBytes?: number }> };
  readonly tables: Record<string, number>;
  readonly runs: Run[];
  readonly blocks: number;
  readonly verbatim: number;
}

/** Places the directories and path tables (meta-region.ts); base continuation blocks stay when a reused directory may point into them. */
function metaRegion(
  model: Model, iso: ReadonlyMap<DirModel, DirectorySize>, joliet: ReadonlyMap<DirModel, DirectorySize>,
  verdicts: { iso: Map<DirModel, DirVerdict>; joliet: Map<DirModel, DirVerdict> }, tables: number[], start: number, pinned: readonly Run[], continuations: readonly Run[],
): Region {
  const list: RegionDir[] = [];
  const index = new Map<DirModel, number>();
  const add = (dirs: readonly DirModel[], sizes: ReadonlyMap<DirModel, DirectorySize>, v: Map<DirModel, DirVerdict>) => {
    index.clear();
    const first = list.length;
    dirs.forEach((d, i) => index.set(d, first + i));
    for (const d of dirs) {
      const s = sizes.get(d)!;
      const verdict = v.get(d);
      list.push({
        ...(d.parent ? { parent: index.get(d.parent)! } : {}), blocks: (s.bytes + s.ceBytes) / SECTOR_BYTES,
        candidate: verdict?.candidate ?? false, attrStable: verdict?.attrStable ?? false, ...(verdict?.base ? { base: verdict.base } : {}),
      });
    }
    return first;
  };
  const isoFirst = add(model.dirs, iso, verdicts.iso);
  const jolietFirst = add(model.jolietDirs, joliet, verdicts.joliet);
  const keepCe = [...verdicts.iso.values()].some((v) => v.candidate);
  const plan = planRegion(list, tables.filter((n) => n > 0), start, keepCe ? [...pinned, ...continuations] : pinned);
  const at = { iso: new Map<DirModel, { lba: number; verbatimBytes?: number }>(), joliet: new Map<DirModel, { lba: number; verbatimBytes?: number }>() };
  const put = (dirs: readonly DirModel[], first: number, m: Map<DirModel, { lba: number; verbatimBytes?: number }>) =>
    dirs.forEach((d, i) => m.set(d, { lba: plan.pos[first + i]!, ...(plan.verbatim[first + i] ? { verbatimBytes: list[first + i]!.base!.length * SECTOR_BYTES } : {}) }));
  put(model.dirs, isoFirst, at.iso);
  put(model.jolietDirs, jolietFirst, at.joliet);
  const keys = ['pt:L', 'pt:M', 'jpt:L', 'jpt:M'];
  const tpos: Record<string, number> = {};
  let k = 0;
  tables.forEach((n, i) => { if (n > 0) tpos[keys[i]!] = plan.tables[k++]!; });
  const used: Run[] = [];
  list.forEach((d, i) => used.push({ start: plan.pos[i]!, length: plan.verbatim[i] ? d.base!.length : d.blocks }));
  tables.forEach((n, i) => { if (n > 0) used.push({ start: tpos[keys[i]!]!, length: n }); });
  used.sort((a, b) => a.start - b.start);
  const runs: Run[] = [];
  for (const r of used) {
    const last = runs[runs.length - 1];
    if (last && last.start + last.length === r.start) runs[runs.length - 1] = { start: last.start, length: last.length + r.length };
    else runs.push(r);
  }
  return { at, tables: tpos, runs, blocks: used.reduce((n, r) => n + r.length, 0), verbatim: plan.verbatim.filter(Boolean).length };
}
