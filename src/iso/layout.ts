/**
 * The layout of a remastered image, in logical blocks: which blocks every
 * item gets. Pure: sizes and the base image's block map in, runs out.
 *
 * - Reserved blocks (system area, volume descriptors) and pinned runs (the
 *   boot catalog, boot images, anything the caller must not move) stay.
 * - Kept items (files whose content equals the base's) keep their runs.
 * - Metadata (directories with their continuation blocks, path tables) goes
 *   back to its old place when the blocks there are free, else to the best-fitting
 *   free run, else to the end. It is always contiguous.
 * - Fresh items (changed and new files): with `pieceBlocks`, first into the
 *   free blocks piece-pack.ts offers (pieces that cost a stock client
 *   nothing to refetch, then the cheapest, as far as the dead space must
 *   shrink), the rest at the end; without it, at the end.
 * - Then the tail is cut: while free blocks remain below the end and the
 *   last run of the image is fresh content (which every client fetches
 *   anyway) or rewritten metadata, it moves down into the free runs: whole
 *   into the best-fitting one, else (a splittable file) its first blocks
 *   fill free runs and the rest slides down (the file becomes multi-extent,
 *   ECMA-119 §6.5.1, its extents still in ascending order). Past that,
 *   while dead space is above `maxWaste` of the image, kept content at the
 *   tail moves the same way, one file at a time from the end: only a shorter
 *   image lowers the ratio, and only the last file's blocks shorten it.
 *   Items not splittable move whole into a free run or not at all.
 *
 * The result names for every item its runs in content order.
 */
import { FreeSpace, type Run } from './free-space.js';
import { packFresh } from './piece-pack.js';

export type { Run } from './free-space.js';

export interface LayoutItem {
  readonly key: string;
  readonly blocks: number;
  /** May become several extents (files that no boot loader reads). */
  readonly splittable: boolean;
}

export interface LayoutInput {
  /** Blocks [0, reservedEnd) are the system area and the volume descriptors. */
  readonly reservedEnd: number;
  /** Blocks of the base volume. */
  readonly baseEnd: number;
  /** Runs that must not move or be reused. */
  readonly pinned: readonly Run[];
  /** Items that stay where the base has them, runs in content order. */
  readonly kept: readonly (LayoutItem & { readonly runs: readonly Run[] })[];
  /** Contiguous items with their place in the base, if they had one. */
  readonly metadata: readonly (LayoutItem & { readonly prefer?: Run; readonly barrier?: boolean; readonly fixed?: readonly Run[] })[];
  readonly fresh: readonly LayoutItem[];
  /** Largest dead fraction of the image kept content is left with (0.05 = 5 %). */
  readonly maxWaste: number;
  /** Most blocks in one extent (ECMA-119 §9.1.4: a 32-bit byte length). */
  readonly maxExtentBlocks: number;
  /** Dead fraction below which fresh content stops moving into free runs (it leaves the smallest ones dead). */
  readonly freshWaste: number;
  /** Most extents a split file may have. */
  readonly maxExtents: number;
  /** Blocks per piece of the torrent the image will be published with: fresh content is packed by piece (piece-pack.ts). */
  readonly pieceBlocks?: number;
}

export interface LayoutResult {
  readonly runs: ReadonlyMap<string, readonly Run[]>;
  /** Volume size in blocks. */
  readonly end: number;
  readonly deadBlocks: number;
  /** Kept items whose blocks moved: how many blocks of each. */
  readonly moved: ReadonlyMap<string, number>;
}

interface Owner {
  key: string;
  kind: 'kept' | 'metadata' | 'fresh' | 'pinned';
  splittable: boolean;
}

/** Splits a count of blocks into extents no longer than `max`. */
function chunks(blocks: number, max: number): number[] {
  const out: number[] = [];
  for (let left = blocks; left > 0; left -= max) out.push(Math.min(max, left));
  return out;
}

export function planLayout(input: LayoutInput): LayoutResult {
  let free = new FreeSpace(Math.max(input.baseEnd, input.reservedEnd));
  const runs = new Map<string, Run[]>();
  const owners = new Map<string, Owner>();
  const moved = new Map<string, number>();
  /** Every placed run by its end block, to find the last run of the image. */
  const byEnd = new Map<number, { key: string; run: Run }>();
  const place = (key: string, run: Run) => byEnd.set(run.start + run.length, { key, run });

  // The base's map: what stays is in use, everything else below its end is free.
  const used: Run[] = [{ start: 0, length: input.reservedEnd }];
  input.pinned.forEach((r, i) => {
    const key = `\0pinned:${i}`;
    owners.set(key, { key, kind: 'pinned', splittable: false });
    if (r.length > 0) {
      used.push(r);
      place(key, r);
    }
  });
  // Metadata with fixed blocks (the directory and path table region right after the
  // descriptors) takes them; kept files in the way are evicted and laid out again below.
  const forced = new Map<string, Run[]>();
  for (const m of input.metadata) if (m.fixed && m.blocks > 0) forced.set(m.key, m.fixed.filter((r) => r.length > 0));
  const fixedRuns: Run[] = [];
  for (const rs of forced.values()) for (const r of rs) fixedRuns.push(r);
  const overlapsForced = (r: Run) => fixedRuns.some((f) => r.start < f.start + f.length && f.start < r.start + r.length);
  const evicted: LayoutItem[] = [];
  for (const k of input.kept) {
    owners.set(k.key, { key: k.key, kind: 'kept', splittable: k.splittable });
    if (k.runs.some((r) => r.length > 0 && overlapsForced(r))) {
      evicted.push(k);
      continue;
    }
    runs.set(k.key, k.runs.slice());
    for (const r of k.runs) {
      if (r.length === 0) continue;
      used.push(r);
      place(k.key, r);
    }
  }
  for (const f of fixedRuns) used.push(f);
  used.sort((a, b) => a.start - b.start);
  let cursor = 0;
  for (const u of used) {
    if (u.start > cursor && cursor < free.end) free.release(cursor, Math.min(u.start, free.end) - cursor);
    cursor = Math.max(cursor, u.start + u.length);
  }
  if (cursor < free.end) free.release(cursor, free.end - cursor);
  if (free.end < cursor) free.end = cursor;

  // Metadata: back in place when it fits, else best fit, else at the end.
  const later: (LayoutItem & { prefer?: Run })[] = [];
  for (const m of input.metadata) {
    owners.set(m.key, { key: m.key, kind: 'metadata', splittable: false });
    const f = forced.get(m.key);
    if (f) {
      runs.set(m.key, f.slice());
      for (const r of f) place(m.key, r);
    } else if (m.prefer && m.blocks > 0 && free.isFree(m.prefer.start, m.blocks)) {
      free.take(m.prefer.start, m.blocks);
      const r = { start: m.prefer.start, length: m.blocks };
      runs.set(m.key, [r]);
      place(m.key, r);
    } else later.push(m);
  }
  const bySize = <T extends LayoutItem>(xs: T[]) => xs.sort((a, b) => b.blocks - a.blocks || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const m of bySize(later)) {
    const start = m.blocks === 0 ? 0 : free.bestFit(m.blocks) ?? free.append(m.blocks);
    const r = { start, length: m.blocks };
    runs.set(m.key, m.blocks === 0 ? [] : [r]);
    if (m.blocks > 0) place(m.key, r);
  }
  // Directory zones: a multi-extent file never has extents on both sides of one, since a
  // reader that sweeps forward (libarchive) would pass the directories while reading it.
  const barrierKeys = input.metadata.filter((m) => m.barrier && m.blocks > 0).map((m) => m.key);
  const floorBelow = (s: number) => {
    let lo = 0;
    for (const k of barrierKeys) for (const b of runs.get(k) ?? []) if (b.start + b.length <= s) lo = Math.max(lo, b.start + b.length);
    return lo;
  };
  /** Moves the highest directory zone that fits a free run below it down into it (metadata moves cost nothing). */
  const lowerBarrier = (): boolean => {
    const zones = barrierKeys.filter((k) => !forced.has(k)).map((k) => ({ k, r: runs.get(k)![0]! })).sort((a, b) => b.r.start - a.r.start);
    for (const { k, r } of zones) {
      const at = free.bestFit(r.length, r.start);
      if (at === undefined) continue;
      const nr = { start: at, length: r.length };
      runs.set(k, [nr]);
      byEnd.delete(r.start + r.length);
      place(k, nr);
      free.release(r.start, r.length);
      return true;
    }
    return false;
  };
  // Fresh content: packed by piece into the free runs when the piece size is known; the
  // rest at the end, smallest first, so that the tail cut below moves the largest files
  // into the largest free runs first and small runs stay dead when the waste allows
  // (one run per file, cut into extents when huge).
  const rest = new Map<string, number>();
  const freshBlocks = input.fresh.reduce((n, f) => n + f.blocks, 0);
  if (input.pieceBlocks !== undefined && input.pieceBlocks > 0 && freshBlocks > 0) {
    const budget = Math.min(input.maxWaste, input.freshWaste);
    const need = Math.max(0, Math.ceil((free.total() - budget * (free.end + freshBlocks)) / (1 - budget)));
    const dirty: Run[] = [];
    for (const m of input.metadata) for (const r of runs.get(m.key) ?? []) dirty.push(r);
    const pack = packFresh({
      holes: free.runsWithin(floorBelow(free.end), free.end), dirty, pieceBlocks: input.pieceBlocks, need,
      items: input.fresh.filter((f) => f.blocks <= input.maxExtentBlocks), maxExtents: input.maxExtents, maxExtentBlocks: input.maxExtentBlocks,
    });
    for (const [key, list] of pack.placed) {
      for (const r of list) {
        free.take(r.start, r.length);
        place(key, r);
      }
      runs.set(key, list.slice());
      rest.set(key, pack.rest.get(key) ?? 0);
    }
  }
  const appendFresh = (f: LayoutItem, blocks: number) => {
    const list: Run[] = runs.get(f.key) ?? [];
    let at = free.append(blocks);
    for (const n of chunks(blocks, input.maxExtentBlocks)) {
      const r = { start: at, length: n };
      at += n;
      list.push(r);
      place(f.key, r);
    }
    runs.set(f.key, list);
  };
  const tail: { f: LayoutItem; blocks: number }[] = [];
  for (const f of bySize(input.fresh.slice()).reverse()) {
    owners.set(f.key, { key: f.key, kind: 'fresh', splittable: f.splittable });
    const blocks = rest.get(f.key) ?? f.blocks;
    if (blocks > 0) tail.push({ f, blocks });
  }
  const P = input.pieceBlocks ?? 0;
  if (P > 1) {
    // Files of a piece or more start on a piece border, so that when they change or go in a
    // later release their blocks free whole pieces; smaller files fill the gaps before them,
    // and what they leave stays dead while the waste allows.
    let allowance = Math.min(input.maxWaste, input.freshWaste) * (free.end + tail.reduce((n, t) => n + t.blocks, 0)) - free.total();
    const large = tail.filter((t) => t.blocks >= P && !runs.has(t.f.key)).reverse();
    const isLarge = new Set(large);
    const small = tail.filter((t) => !isLarge.has(t)).reverse(); // largest first
    for (const t of large) {
      let gap = (P - (free.end % P)) % P;
      for (let i = 0; gap > 0 && i < small.length;) {
        if (small[i]!.blocks <= gap) {
          gap -= small[i]!.blocks;
          appendFresh(small[i]!.f, small[i]!.blocks);
          small.splice(i, 1);
        } else i++;
      }
      if (gap > 0 && gap <= allowance) {
        allowance -= gap;
        const at = free.append(gap);
        appendFresh(t.f, t.blocks);
        free.release(at, gap);
      } else appendFresh(t.f, t.blocks);
    }
    for (const t of small.reverse()) appendFresh(t.f, t.blocks);
  } else for (const t of tail) appendFresh(t.f, t.blocks);

  // Evicted kept files: at the end like fresh content (their blocks all count as moved).
  for (const k of evicted) {
    const list: Run[] = [];
    let at = free.append(k.blocks);
    for (const n of chunks(k.blocks, input.maxExtentBlocks)) {
      const r = { start: at, length: n };
      at += n;
      list.push(r);
      place(k.key, r);
    }
    runs.set(k.key, list);
    moved.set(k.key, k.blocks);
  }

  // Cut the tail into the free runs below it. A file's extents stay in
  // ascending block order (libarchive reads an image in one forward sweep),
  // so a split fills free runs between the file's previous extent and its
  // last one with the first blocks of that last extent, and slides the rest
  // down to where the extent began.
  const bound = input.maxWaste;
  for (let guard = 0; guard < 10_000_000; guard++) {
    const dead = free.total();
    if (dead === 0) break;
    const tail = byEnd.get(free.end);
    if (!tail) break;
    const owner = owners.get(tail.key)!;
    if (owner.kind === 'pinned') break;
    if (owner.kind === 'kept' ? dead <= bound * free.end : dead <= Math.min(bound, input.freshWaste) * free.end) break;
    const list = runs.get(tail.key)!;
    const idx = list.indexOf(tail.run);
    const { start: s, length: len } = tail.run;
    const prevEnd = idx > 0 ? Math.max(list[idx - 1]!.start + list[idx - 1]!.length, floorBelow(s)) : 0;
    const whole = free.bestFit(len, s, prevEnd);
    if (whole !== undefined) {
      const r = { start: whole, length: len };
      list[idx] = r;
      byEnd.delete(s + len);
      place(tail.key, r);
      free.release(s, len);
      if (owner.kind === 'kept') moved.set(tail.key, (moved.get(tail.key) ?? 0) + len);
      continue;
    }
    if (!owner.splittable) {
      if (lowerBarrier()) continue;
      break;
    }
    // Lay the whole file out again after the last directory zone below the end: free runs
    // there first, lowest first, the rest at the end. Kept only if the image gets shorter.
    const trial = free.clone();
    for (const r of list) trial.release(r.start, r.length);
    let left = 0;
    for (const r of list) left += r.length;
    const total = left;
    const parts: Run[] = [];
    // The largest free runs first: each run filled costs a stock client the pieces it
    // shares with unchanged neighbours, so few large runs beat many small ones.
    const holes = trial.runsWithin(floorBelow(trial.end), trial.end).sort((a, b) => b.length - a.length || a.start - b.start);
    for (const h of holes) {
      if (left === 0 || parts.length >= input.maxExtents - 1) break;
      const n = Math.min(h.length, left, input.maxExtentBlocks);
      parts.push({ start: h.start, length: n });
      left -= n;
    }
    parts.sort((a, b) => a.start - b.start);
    for (const p of parts) trial.take(p.start, p.length);
    for (const n of chunks(left, input.maxExtentBlocks)) parts.push({ start: trial.append(n), length: n });
    if (trial.end >= free.end) {
      if (lowerBarrier()) continue;
      break;
    }
    free = trial;
    for (const r of list) byEnd.delete(r.start + r.length);
    runs.set(tail.key, parts);
    for (const p of parts) place(tail.key, p);
    if (owner.kind === 'kept') moved.set(tail.key, total);
  }
  return { runs, end: free.end, deadBlocks: free.total(), moved };
}
