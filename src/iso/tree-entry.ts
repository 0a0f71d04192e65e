/**
 * What the tree walk (tree.ts) makes of a directory record: its name (ISO
 * 9660 or Joliet) and its entry, with the attributes Rock Ridge gives.
 */
import type { IsoEntry, Extent } from './entry.js';
import { latin1Text, ucs2Text } from './fields.js';
import type { RockRidge } from './susp.js';

/** ISO 9660 name: strip the ";version" (ECMA-119 §7.5.1) and a trailing dot of an empty extension. */
export function isoName(id: Uint8Array): string {
  let n = latin1Text(id).replace(/;\d*$/, '');
  if (n.endsWith('.') && n.length > 1) n = n.slice(0, -1);
  return n;
}

/** Joliet name: UCS-2BE, strip ";1" as the ISO name. */
export function jolietName(id: Uint8Array): string {
  return ucs2Text(id).replace(/;\d*$/, '');
}

export type MutableEntry = { -readonly [K in keyof IsoEntry]: IsoEntry[K] };

/**
 * An entry with the attributes Rock Ridge gives (only those present) and
 * its modification time (TreeWalk.mtimeOf), built in one shape: the walk
 * makes one per file. The usual record (PX with its four fields, maybe the
 * serial number, no link target) is one literal, every property in the
 * object itself: added one at a time, the last five went to a separate
 * property store, allocated and grown per entry.
 */
export function entryOf(path: string, name: string, type: IsoEntry['type'], size: number, lba: number, extents: readonly Extent[], rr: RockRidge | undefined, mtimeMs: number | undefined, recordOffset: number): MutableEntry {
  const mode = rr?.mode, uid = rr?.uid, gid = rr?.gid, nlink = rr?.nlink, inode = rr?.serial;
  if (type !== 'symlink' && mode !== undefined && uid !== undefined && gid !== undefined && nlink !== undefined) {
    if (inode === undefined) return withTime({ path, name, type, size, lba, extents, recordOffset, mode, uid, gid, nlink }, mtimeMs);
    if (mtimeMs === undefined) return { path, name, type, size, lba, extents, recordOffset, mode, uid, gid, nlink, inode };
    return { path, name, type, size, lba, extents, recordOffset, mode, uid, gid, nlink, inode, mtimeMs };
  }
  const e: MutableEntry = { path, name, type, size, lba, extents, recordOffset };
  if (rr !== undefined) {
    if (type === 'symlink') e.target = rr.target ?? '';
    if (mode !== undefined) e.mode = mode;
    if (uid !== undefined) e.uid = uid;
    if (gid !== undefined) e.gid = gid;
    if (nlink !== undefined) e.nlink = nlink;
    if (inode !== undefined) e.inode = inode;
  }
  return withTime(e, mtimeMs);
}

function withTime(e: MutableEntry, mtimeMs: number | undefined): MutableEntry {
  if (mtimeMs !== undefined) e.mtimeMs = mtimeMs;
  return e;
}
