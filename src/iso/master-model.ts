/**
 * The model of the image a remaster writes: the source tree (what TREE holds,
 * as plain records), its directories in path-table order, the ISO 9660 and
 * Joliet identifiers of every entry, the Rock Ridge entries of every record,
 * and the file contents as layout items, each either kept (the base holds
 * the same bytes: its extents) or fresh. Pure: the caller scanned TREE and
 * compared contents.
 */
import type { BootCatalog, IsoEntry, IsoImage } from './entry.js';
import type { Extent } from './dir-write.js';
import { compareIsoIds, compareJolietIds, isoIdentifiers, jolietIdentifiers } from './names.js';
import { erEntry, rrEntries, spEntry, type RrAttributes } from './susp-write.js';
import { ucs2Bytes } from './encode.js';
import { latin1Text } from './fields.js';
import { IsosyncError } from '../errors.js';

export interface SourceNode {
  /** '/'-separated with a leading '/'; the root is '/'. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  /** st_mode, type bits included. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  /** Content bytes of a file, 0 otherwise. */
  readonly size: number;
  readonly target?: string;
  /** Hard-link group (device and inode) of a file with more than one link. */
  readonly link?: string;
  /** Links of this inode inside TREE. */
  readonly nlink?: number;
}

/** One file content of the new image: a layout item. */
export interface Content {
  readonly key: string;
  readonly size: number;
  /** Tree path to read it from (the first of its hard links). */
  readonly source: string;
  /** The base's extents when the base holds the same bytes. */
  readonly kept?: readonly Extent[];
  /** May be split into several extents (no boot loader reads it). */
  readonly splittable: boolean;
  /** Indexes of the El Torito entries whose image this is. */
  readonly bootEntries: readonly number[];
}

export interface ChildRef {
  readonly node: SourceNode;
  readonly name: string;
  readonly dir?: DirModel;
  readonly content?: Content;
  /** The El Torito catalog shown as a file. */
  readonly catalog?: boolean;
  readonly serial: number;
}

export interface DirModel {
  readonly node: SourceNode;
  readonly name: string;
  readonly parent: DirModel | undefined;
  /** 1-based path table numbers in the ISO and Joliet tables (§9.4). */
  number: number;
  jolietNumber: number;
  readonly serial: number;
  readonly children: ChildRef[];
  /** Children in ISO order with their identifiers, and in Joliet order. */
  iso: { child: ChildRef; id: Uint8Array }[];
  joliet: { child: ChildRef; id: Uint8Array }[];
}

export interface ModelInput {
  readonly nodes: readonly SourceNode[];
  readonly base: IsoImage;
  /** Tree files whose bytes equal the base's file at the same path. */
  readonly same: ReadonlySet<string>;
  readonly joliet: boolean;
  /** The ISO 9660 identifier the base recorded for each path (kept where it can be). */
  readonly baseIsoIds?: ReadonlyMap<string, string>;
  /** A new boot setup (boot-setup.ts) instead of the base's: catalog entry indexes by image path, and the catalog's path. */
  readonly boot?: { readonly images: ReadonlyMap<string, readonly number[]>; readonly catalogPath?: string };
}

export interface Model {
  /** Directories in ISO path table order. */
  readonly dirs: readonly DirModel[];
  /** Directories in Joliet path table order. */
  readonly jolietDirs: readonly DirModel[];
  readonly contents: readonly Content[];
  readonly root: DirModel;
}

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFMT = 0o170000;
/** Folders whose files boot loaders (isolinux, GRUB's first stage) read by themselves: never split. */
const LOADER_DIRS = /^\/(boot|isolinux|syslinux|efi|grub)(\/|$)/i;
const enc = new TextEncoder();
const SERIAL_BASE = 0x80000000;

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function buildModel(input: ModelInput): Model {
  const { base } = input;
  const byPath = new Map<string, IsoEntry>();
  for (const e of base.entries) byPath.set(e.path, e);
  const boot: BootCatalog | undefined = base.boot;
  const bootLbas = new Map<number, number[]>();
  boot?.entries.forEach((b, i) => bootLbas.set(b.lba, [...(bootLbas.get(b.lba) ?? []), i]));
  const loaderDirs = new Set<string>();
  if (input.boot) for (const p of input.boot.images.keys()) loaderDirs.add(parentOf(p));
  else for (const e of base.entries) if (e.type === 'file' && bootLbas.has(e.lba)) loaderDirs.add(parentOf(e.path));
  const isCatalog = (path: string, old: IsoEntry | undefined) =>
    input.boot ? path === input.boot.catalogPath : boot !== undefined && old?.type === 'file' && old.lba === boot.catalogLba && old.size > 0;

  // File serial numbers (PX, RRIP 1.12) from 2^31 up: readers that find none (a reused
  // base directory from a writer without them) number entries by their block, which
  // stays below 2^31, so the two never meet (libarchive would see hard links). A path
  // the base numbered keeps its number, since a reused directory still shows it.
  let top = SERIAL_BASE;
  for (const e of base.entries) if (e.inode !== undefined && e.inode > top) top = e.inode;
  const taken = new Set<number>();
  const serialFor = (path: string): number => {
    const old = byPath.get(path)?.inode;
    if (old !== undefined && old > SERIAL_BASE && !taken.has(old)) {
      taken.add(old);
      return old;
    }
    return ++top;
  };
  const dirs = new Map<string, DirModel>();
  const contents: Content[] = [];
  const byLink = new Map<string, { content: Content; serial: number }>();
  const byExtent = new Map<number, Content>();

  const sorted = input.nodes.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const rootNode = sorted.find((n) => n.path === '/');
  if (!rootNode || rootNode.type !== 'dir') throw new IsosyncError('INTERNAL', 'Cannot lay out the image: the tree has no root directory');
  const root: DirModel = { node: rootNode, name: '', parent: undefined, number: 1, jolietNumber: 1, serial: serialFor('/'), children: [], iso: [], joliet: [] };
  dirs.set('/', root);

  for (const n of sorted) {
    if (n.path === '/') continue;
    const parent = dirs.get(parentOf(n.path));
    if (!parent) throw new IsosyncError('INTERNAL', `Cannot lay out the image: ${n.path} comes before its directory`, { path: n.path });
    const name = baseName(n.path);
    if (n.type === 'dir') {
      const d: DirModel = { node: n, name, parent, number: 0, jolietNumber: 0, serial: serialFor(n.path), children: [], iso: [], joliet: [] };
      dirs.set(n.path, d);
      parent.children.push({ node: n, name, dir: d, serial: d.serial });
      continue;
    }
    if (n.type === 'symlink') {
      parent.children.push({ node: n, name, serial: serialFor(n.path) });
      continue;
    }
    const linked = n.link !== undefined ? byLink.get(n.link) : undefined;
    if (linked) {
      parent.children.push({ node: n, name, content: linked.content, serial: linked.serial });
      continue;
    }
    const old = byPath.get(n.path);
    if (isCatalog(n.path, old)) {
      parent.children.push({ node: n, name, catalog: true, serial: serialFor(n.path) });
      continue;
    }
    let content: Content | undefined;
    const same = old !== undefined && old.type === 'file' && input.same.has(n.path) && old.size === n.size;
    if (same && old.size > 0) content = byExtent.get(old.lba);
    if (!content) {
      const bootEntries = input.boot ? input.boot.images.get(n.path) ?? [] : old?.type === 'file' ? bootLbas.get(old.lba) ?? [] : [];
      const splittable = bootEntries.length === 0 && !LOADER_DIRS.test(n.path) && !loaderDirs.has(parentOf(n.path));
      content = {
        key: `f:${n.path}`, size: n.size, source: n.path, splittable, bootEntries,
        ...(same ? { kept: old.extents.map((x) => ({ lba: x.lba, size: x.size })) } : {}),
      };
      contents.push(content);
      if (same && old.size > 0) byExtent.set(old.lba, content);
    }
    const s = serialFor(n.path);
    if (n.link !== undefined) byLink.set(n.link, { content, serial: s });
    parent.children.push({ node: n, name, content, serial: s });
  }

  // Identifiers, unique per directory, and records in §9.3 order.
  for (const d of dirs.values()) {
    const specs = d.children.map((c) => ({ name: c.name, dir: c.dir !== undefined }));
    const seen = new Set<string>();
    const iso = isoIdentifiers(d.children.map((c, i) => {
      const keep = input.baseIsoIds?.get(c.node.path);
      const usable = keep !== undefined && (c.dir !== undefined) === !keep.includes(';') && !seen.has(keep);
      if (usable) seen.add(keep);
      return { ...specs[i]!, ...(usable ? { keep } : {}) };
    }));
    d.iso = d.children.map((child, i) => ({ child, id: enc.encode(iso[i]!) })).sort((a, b) => compareIsoIds(latin(a.id), latin(b.id)));
    if (input.joliet) {
      const jol = jolietIdentifiers(specs);
      d.joliet = d.children.map((child, i) => ({ child, id: ucs2Bytes(jol[i]!), key: jol[i]! }))
        .sort((a, b) => compareJolietIds(a.key, b.key)).map(({ child, id }) => ({ child, id }));
    }
  }
  const order = (tree: 'iso' | 'joliet'): DirModel[] => {
    const out: DirModel[] = [root];
    for (let i = 0; i < out.length; i++) for (const c of out[i]![tree]) if (c.child.dir) out.push(c.child.dir);
    return out;
  };
  const isoOrder = order('iso');
  isoOrder.forEach((d, i) => { d.number = i + 1; });
  const jolietOrder = input.joliet ? order('joliet') : [];
  jolietOrder.forEach((d, i) => { d.jolietNumber = i + 1; });
  return { dirs: isoOrder, jolietDirs: jolietOrder, contents, root };
}

function latin(b: Uint8Array): string {
  return latin1Text(b);
}

/** POSIX mode with the file type bits the entry's type says. */
export function modeOf(n: SourceNode): number {
  const type = n.type === 'dir' ? S_IFDIR : n.type === 'symlink' ? S_IFLNK : S_IFREG;
  return (n.mode & ~S_IFMT) | type;
}

/** Rock Ridge attributes of a directory ("." and its record in the parent). */
export function dirAttributes(d: DirModel, named: boolean): RrAttributes {
  const subdirs = d.children.filter((c) => c.dir).length;
  return {
    mode: modeOf(d.node), nlink: 2 + subdirs, uid: d.node.uid, gid: d.node.gid, serial: d.serial, mtimeMs: d.node.mtimeMs,
    ...(named ? { name: enc.encode(d.name) } : {}),
  };
}

/** The system use entries of a child's record. */
export function childSystemUse(c: ChildRef): Uint8Array[] {
  if (c.dir) return rrEntries(dirAttributes(c.dir, true));
  const n = c.node;
  return rrEntries({
    mode: modeOf(n), nlink: n.type === 'file' ? Math.max(1, n.nlink ?? 1) : 1, uid: n.uid, gid: n.gid, serial: c.serial, mtimeMs: n.mtimeMs,
    name: enc.encode(c.name), ...(n.type === 'symlink' ? { target: n.target ?? '' } : {}),
  });
}

/** The system use of a directory's "." record: the root's starts with SP and carries ER. */
export function selfSystemUse(d: DirModel): Uint8Array[] {
  const rr = rrEntries(dirAttributes(d, false));
  return d.parent ? rr : [spEntry(), ...rr, erEntry()];
}

/** The system use of a ".." record: the parent's attributes. */
export function parentSystemUse(parent: DirModel): Uint8Array[] {
  return rrEntries(dirAttributes(parent, false));
}
