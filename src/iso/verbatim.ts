/**
 * Which directories of the new image could be the base's directory blocks
 * as they are (meta-region.ts decides whether they are): a directory whose
 * children, names, attributes and file extents all equal what the base
 * records. The ISO/Rock Ridge tree is compared with the base's Rock Ridge
 * listing, the Joliet tree with the base's Joliet listing. Keeping such
 * directories byte for byte is what lets a stock client skip them: a
 * directory written anew never equals the base's bytes. Pure.
 */
import { SECTOR_BYTES } from './context.js';
import type { IsoEntry, IsoImage } from './entry.js';
import type { Run } from './free-space.js';
import { ucs2Text } from './fields.js';
import { modeOf, type ChildRef, type Content, type DirModel, type Model } from './master-model.js';

export interface DirVerdict {
  readonly candidate: boolean;
  readonly attrStable: boolean;
  readonly base?: Run;
}

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;
const blocksOf = (bytes: number) => Math.ceil(bytes / SECTOR_BYTES);

function sameExtents(c: Content | undefined, e: IsoEntry, moved: ReadonlySet<string>): boolean {
  if (!c) return false;
  if (c.size === 0) return e.size === 0;
  if (!c.kept || moved.has(c.key) || c.size !== e.size) return false;
  const ours = c.kept.filter((x) => x.size > 0), theirs = e.extents.filter((x) => x.size > 0);
  return ours.length === theirs.length && ours.every((x, i) => x.lba === theirs[i]!.lba && x.size === theirs[i]!.size);
}

function childrenByParent(entries: readonly IsoEntry[]): Map<string, Map<string, IsoEntry>> {
  const out = new Map<string, Map<string, IsoEntry>>();
  for (const e of entries) {
    if (e.path === '/') continue;
    const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    let m = out.get(parent);
    if (!m) out.set(parent, (m = new Map()));
    m.set(e.name, e);
  }
  return out;
}

/** Verdicts for the ISO/Rock Ridge tree (when the base has Rock Ridge) and the Joliet tree (when `baseJoliet` is given). */
export function directoryVerdicts(model: Model, base: IsoImage, baseJoliet: readonly IsoEntry[] | undefined, moved: ReadonlySet<string>): { iso: Map<DirModel, DirVerdict>; joliet: Map<DirModel, DirVerdict> } {
  const catalogLba = base.boot?.catalogLba;
  const iso = new Map<DirModel, DirVerdict>();
  const joliet = new Map<DirModel, DirVerdict>();
  const nlinkOf = (c: ChildRef) => (c.dir ? 2 + c.dir.children.filter((x) => x.dir).length : c.node.type === 'file' ? Math.max(1, c.node.nlink ?? 1) : 1);

  if (base.tree === 'rockridge') {
    const byPath = new Map(base.entries.map((e) => [e.path, e]));
    const kids = childrenByParent(base.entries);
    const attrs = (c: ChildRef | { node: DirModel['node']; dir: DirModel }, e: IsoEntry | undefined) =>
      e !== undefined && e.mode === modeOf(c.node) && e.uid === c.node.uid && e.gid === c.node.gid && (c.dir !== undefined || (e.nlink ?? 1) === nlinkOf(c as ChildRef)) && e.mtimeMs === seconds(c.node.mtimeMs);
    for (const d of model.dirs) {
      const e = byPath.get(d.node.path);
      const self = { node: d.node, dir: d };
      const attrStable = e?.type === 'dir' && attrs(self, e);
      const theirs = kids.get(d.node.path) ?? new Map<string, IsoEntry>();
      let candidate = attrStable && theirs.size === d.children.length;
      for (const c of d.children) {
        if (!candidate) break;
        const b = theirs.get(c.name);
        const type = c.dir ? 'dir' : c.node.type === 'symlink' ? 'symlink' : 'file';
        candidate = b !== undefined && b.type === type && attrs(c, b) && (type !== 'symlink' || b.target === c.node.target)
          && (type !== 'file' || (c.catalog ? b.lba === catalogLba : sameExtents(c.content, b, moved)));
      }
      iso.set(d, { candidate, attrStable, ...(e?.type === 'dir' ? { base: { start: e.lba, length: blocksOf(e.size) } } : {}) });
    }
  }

  if (baseJoliet && model.jolietDirs.length > 0) {
    const byPath = new Map(baseJoliet.map((e) => [e.path, e]));
    const kids = childrenByParent(baseJoliet);
    const jpath = new Map<DirModel, string>([[model.root, '/']]);
    for (const d of model.jolietDirs) {
      const here = jpath.get(d)!;
      for (const { child, id } of d.joliet) if (child.dir) jpath.set(child.dir, here === '/' ? `/${ucs2Text(id)}` : `${here}/${ucs2Text(id)}`);
    }
    for (const d of model.jolietDirs) {
      const e = byPath.get(jpath.get(d)!);
      const attrStable = e?.type === 'dir' && e.mtimeMs === seconds(d.node.mtimeMs);
      const theirs = kids.get(jpath.get(d)!) ?? new Map<string, IsoEntry>();
      let candidate = attrStable && theirs.size === d.joliet.length;
      for (const { child: c, id } of d.joliet) {
        if (!candidate) break;
        const b = theirs.get(ucs2Text(id));
        const isDir = c.dir !== undefined;
        candidate = b !== undefined && (b.type === 'dir') === isDir && b.mtimeMs === seconds(c.node.mtimeMs)
          && (isDir || (c.catalog ? b.lba === catalogLba : c.node.type === 'symlink' ? b.size === 0 : sameExtents(c.content, b, moved)));
      }
      joliet.set(d, { candidate, attrStable, ...(e?.type === 'dir' ? { base: { start: e.lba, length: blocksOf(e.size) } } : {}) });
    }
  }
  return { iso, joliet };
}
