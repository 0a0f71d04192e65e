/**
 * The region map: every byte of the image attributed to exactly one thing,
 * as sorted, non-overlapping, half-open ranges that cover [0, image size).
 *
 * Areas are rounded out to whole logical blocks (content occupies whole
 * sectors; the tail of a file's last sector belongs to the file). Where
 * areas overlap, metadata wins over file content, and file content over a
 * boot image (a boot image is usually also a file in the tree). Files that
 * share an extent (hard links, content deduplicated by xorriso) are
 * attributed once, to the first path in sort order; the others are listed
 * in `paths`. Partial overlaps in a crafted image are clipped, never kept.
 */
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import type { IsoImage } from './entry.js';

export type RegionKind =
  | 'system-area' | 'volume-descriptor' | 'path-table' | 'directory' | 'file'
  | 'boot-catalog' | 'boot-image' | 'continuation' | 'unused';

export interface Region {
  readonly start: number;
  readonly end: number;
  readonly kind: RegionKind;
  /** For 'file' and 'directory' (and 'boot-image' when a file holds it): which path. */
  readonly path?: string;
  /** Other paths whose content is this same extent (hard links, deduplicated content). */
  readonly paths?: string[];
}

interface Item {
  start: number;
  end: number;
  kind: RegionKind;
  path?: string;
  paths?: string[];
}

/** Subtracts sorted disjoint `covered` from [s, e), returning the gaps. */
function gaps(covered: readonly Item[], s: number, e: number): [number, number][] {
  let lo = 0, hi = covered.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (covered[mid]!.end <= s) lo = mid + 1;
    else hi = mid;
  }
  const out: [number, number][] = [];
  let cur = s;
  for (let i = lo; i < covered.length && covered[i]!.start < e; i++) {
    const c = covered[i]!;
    if (c.start > cur) out.push([cur, c.start]);
    cur = Math.max(cur, c.end);
    if (cur >= e) break;
  }
  if (cur < e) out.push([cur, e]);
  return out;
}

/** Adds one priority class of items to `covered`, clipping against it and against earlier items of the class. */
function paint(covered: Item[], items: Item[], out: Item[]): Item[] {
  items.sort((a, b) => a.start - b.start || a.end - b.end);
  const added: Item[] = [];
  let cursor = 0;
  let prev: { item: Item; start: number; end: number; parts: Item[] } | undefined;
  for (const it of items) {
    if (it.end <= it.start) continue;
    if (prev && it.kind === 'file' && prev.item.kind === 'file' && it.start === prev.start && it.end === prev.end && it.path !== undefined) {
      for (const p of prev.parts) (p.paths ??= []).push(it.path);
      continue;
    }
    const s = Math.max(it.start, cursor);
    const parts: Item[] = [];
    if (s < it.end) {
      for (const [a, b] of gaps(covered, s, it.end)) {
        const r: Item = { start: a, end: b, kind: it.kind, ...(it.path !== undefined ? { path: it.path } : {}) };
        parts.push(r);
        added.push(r);
      }
    }
    prev = { item: it, start: it.start, end: it.end, parts };
    cursor = Math.max(cursor, it.end);
  }
  for (const r of added) out.push(r);
  const merged = [...covered, ...added].sort((a, b) => a.start - b.start);
  return merged;
}

/** Attributes every byte of the image (see the module comment). */
export function regionMap(img: IsoImage): Region[] {
  const bs = img.logicalBlockSize;
  const size = img.imageBytes;
  const clip = (s: number, e: number) => [Math.min(s, size), Math.min(e, size)] as const;
  const blocks = (start: number, bytes: number) => {
    const s = Math.floor(start / bs) * bs;
    const e = Math.ceil((start + bytes) / bs) * bs;
    return clip(s, e);
  };
  const item = (kind: RegionKind, range: readonly [number, number], path?: string): Item =>
    ({ start: range[0], end: range[1], kind, ...(path !== undefined ? { path } : {}) });

  const metadata: Item[] = [item('system-area', clip(0, SYSTEM_AREA_SECTORS * SECTOR_BYTES))];
  for (const d of img.descriptors) metadata.push(item('volume-descriptor', clip(d.sector * SECTOR_BYTES, (d.sector + 1) * SECTOR_BYTES)));
  for (const t of img.pathTables) metadata.push(item('path-table', blocks(t.lba * bs, t.size)));
  for (const m of img.metadata) metadata.push(item(m.kind, blocks(m.start, Math.max(1, m.end - m.start)), m.path));
  if (img.boot) metadata.push(item('boot-catalog', blocks(img.boot.catalogLba * bs, SECTOR_BYTES)));

  const files: Item[] = [];
  for (const e of img.entries) {
    if (e.type !== 'file') continue;
    for (const x of e.extents) if (x.size > 0) files.push(item('file', blocks(x.lba * bs, x.size), e.path));
  }
  const bootImages: Item[] = [];
  for (const b of img.boot?.entries ?? []) bootImages.push(item('boot-image', blocks(b.lba * bs, b.imageBytes)));

  const out: Item[] = [];
  let covered: Item[] = [];
  covered = paint(covered, metadata, out);
  covered = paint(covered, files, out);
  paint(covered, bootImages, out);

  out.sort((a, b) => a.start - b.start);
  const regions: Region[] = [];
  let cur = 0;
  for (const r of out) {
    if (r.start > cur) regions.push({ start: cur, end: r.start, kind: 'unused' });
    regions.push(r);
    cur = r.end;
  }
  if (cur < size) regions.push({ start: cur, end: size, kind: 'unused' });
  return regions;
}
