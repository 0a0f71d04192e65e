/**
 * The metadata region of a remastered image: where each directory (of the
 * ISO/Rock Ridge tree and of the Joliet tree) and each path table goes, as
 * absolute blocks from `start` (right after the volume descriptors).
 *
 * A directory whose records would come out the same as the base's (same
 * children, attributes and extents: a `candidate`) is reused verbatim, its
 * base blocks left as they are, when everything its records point at stays
 * put: its parent (for "..") and its child directories at their base blocks
 * with their base sizes and attributes. Other directories keep their base
 * blocks when they still fit there, else take the first free blocks after
 * their parent (every directory after its parent: libarchive reads them in
 * one forward sweep). Path tables take the first free blocks. A candidate
 * that cannot be reused is written anew, which can change sizes, so the
 * decision repeats until nothing changes. `metaRegion` feeds it the
 * remaster model (sizes, verdicts) and maps its answer back. Pure.
 */
import { IsosyncError } from '../errors.js';
import type { Run } from './free-space.js';
import { SECTOR_BYTES } from './context.js';
import type { DirectorySize } from './dir-write.js';
import type { DirModel, Model } from './master-model.js';
import type { DirVerdict } from './verbatim.js';

export interface RegionDir {
  /** Index of the parent in the same list (undefined for a root). */
  readonly parent?: number;
  /** Blocks when written anew (directory and continuation blocks). */
  readonly blocks: number;
  /** Where the base has this directory. */
  readonly base?: Run;
  /** Its records would be the base's, given that what they point at stays. */
  readonly candidate: boolean;
  /** Its own attributes (as its parent's record and its children's ".." show them) are the base's. */
  readonly attrStable: boolean;
}

export interface RegionPlan {
  readonly pos: readonly number[];
  readonly verbatim: readonly boolean[];
  readonly tables: readonly number[];
  /** First block after the region. */
  readonly end: number;
}

export function planRegion(dirs: readonly RegionDir[], tables: readonly number[], start: number, reserved: readonly Run[]): RegionPlan {
  const children: number[][] = dirs.map(() => []);
  dirs.forEach((d, i) => { if (d.parent !== undefined) children[d.parent]!.push(i); });
  let cand = dirs.map((d) => d.candidate && d.base !== undefined);
  for (let round = 0; round <= dirs.length; round++) {
    const used = new Set<number>();
    for (const r of reserved) for (let b = r.start; b < r.start + r.length; b++) used.add(b);
    const isFree = (at: number, n: number) => {
      for (let b = at; b < at + n; b++) if (used.has(b)) return false;
      return true;
    };
    const take = (at: number, n: number) => { for (let b = at; b < at + n; b++) used.add(b); };
    const firstFit = (from: number, n: number) => {
      let at = Math.max(from, start);
      while (!isFree(at, n)) at++;
      return at;
    };
    const blocks = dirs.map((d, i) => (cand[i] ? d.base!.length : d.blocks));
    const pos: number[] = new Array<number>(dirs.length).fill(-1);
    const atBase: boolean[] = dirs.map(() => false);
    // Candidates first (their blocks are the base's), then the rest in path table order.
    for (const pass of [true, false]) {
      dirs.forEach((d, i) => {
        if (cand[i] !== pass) return;
        const parentPos = d.parent === undefined ? -1 : pos[d.parent]!;
        if (d.base && blocks[i]! <= d.base.length && d.base.start >= start && (pass || parentPos < d.base.start) && isFree(d.base.start, blocks[i]!)) {
          pos[i] = d.base.start;
          atBase[i] = true;
        } else if (!pass) {
          pos[i] = firstFit(parentPos + 1, blocks[i]!);
        } else return;
        take(pos[i]!, blocks[i]!);
      });
    }
    // A candidate is reused only if what its records point at stayed, and was placed in order.
    const same = (i: number) => atBase[i]! && (cand[i] || dirs[i]!.blocks === dirs[i]!.base!.length) && dirs[i]!.attrStable;
    const next = dirs.map((d, i) => {
      if (!cand[i] || !atBase[i]) return false;
      if (d.parent !== undefined && (!same(d.parent) || pos[d.parent]! >= pos[i]!)) return false;
      return children[i]!.every((c) => same(c));
    });
    if (next.every((v, i) => v === cand[i])) {
      const tpos = tables.map((n) => {
        const at = firstFit(start, n);
        take(at, n);
        return at;
      });
      let end = start;
      dirs.forEach((_, i) => { end = Math.max(end, pos[i]! + blocks[i]!); });
      tables.forEach((n, k) => { end = Math.max(end, tpos[k]! + n); });
      return { pos, verbatim: next, tables: tpos, end };
    }
    cand = next;
  }
  throw new IsosyncError('UNSUPPORTED', 'Cannot lay out the metadata region: reused directories did not settle');
}

export interface Region {
  readonly at: { iso: Map<DirModel, { lba: number; verbatimBytes?: number }>; joliet: Map<DirModel, { lba: number; verbatimBytes?: number }> };
  readonly tables: Record<string, number>;
  readonly runs: Run[];
  readonly blocks: number;
  readonly verbatim: number;
}

/** Places the directories and path tables (meta-region.ts); base continuation blocks stay when a reused directory may point into them. */
export function metaRegion(
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
