/**
 * Writing system use areas: the SUSP 1.12 entries SP, CE, ER and the Rock
 * Ridge (RRIP 1.12) entries PX, TF, NM, SL, laid out with the field tables
 * the reader parses (susp.ts).
 *
 * A directory record holds at most 255 bytes (ECMA-119 §9.1.1), so what does
 * not fit goes to continuation areas (SUSP §5.1), each within one logical
 * block (Linux reads a CE area from one block), chained by a CE at the end
 * of each when one block is not enough. `planSystemUse` decides the split
 * from sizes alone; `encodeSystemUse` fills in the CE pointers once the
 * layout knows where the areas are. Pure.
 */
import { putNum, putShortDate } from './encode.js';
import { CE, ER, NM, PX, SL, SL_COMPONENT, SP, SUSP_ENTRY, TF } from './susp-fields.js';

/** SUSP §5.1: a CE entry is 28 bytes. */
export const CE_BYTES = 28;
/** SUSP §4.1: an entry's length is one byte. */
const MAX_ENTRY = 255;
/** RRIP §4.1.1 PX with the file serial number (RRIP 1.12). */
const PX_BYTES = 44;
/** Continuation areas never cross a logical block. */
export const AREA_BYTES = 2048;
/** RRIP §5 ER identifiers, as mkisofs and xorriso write them for RRIP 1.09/1.10 readers. */
const RRIP_ID = 'RRIP_1991A';
const RRIP_DESC = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const RRIP_SRC = 'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';
const TF_MODIFY_ACCESS_ATTRIBUTES = 0x02 | 0x04 | 0x08;
const FLAG_CONTINUE = 0x01;
const SL_CURRENT = 0x02, SL_PARENT = 0x04, SL_ROOT = 0x08;

export interface RrAttributes {
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly serial: number;
  readonly mtimeMs: number;
  /** The Rock Ridge name as bytes (absent for "." and ".."). */
  readonly name?: Uint8Array;
  /** Symlink target (SL). */
  readonly target?: string;
}

const enc = new TextEncoder();

function entry(sig: string, len: number): Uint8Array {
  const e = new Uint8Array(len);
  e[0] = sig.charCodeAt(0);
  e[1] = sig.charCodeAt(1);
  putNum(e, 0, SUSP_ENTRY.length, len);
  putNum(e, 0, SUSP_ENTRY.version, 1);
  return e;
}

/** SUSP §5.3 SP, first in the root's "." record. */
export function spEntry(): Uint8Array {
  const e = entry('SP', 7);
  putNum(e, 0, SP.check1, 0xbe);
  putNum(e, 0, SP.check2, 0xef);
  putNum(e, 0, SP.skip, 0);
  return e;
}

/** SUSP §5.5 ER naming Rock Ridge, in the root's "." record. */
export function erEntry(): Uint8Array {
  const id = enc.encode(RRIP_ID), desc = enc.encode(RRIP_DESC), src = enc.encode(RRIP_SRC);
  const e = entry('ER', ER.id.at + id.length + desc.length + src.length);
  putNum(e, 0, ER.idLength, id.length);
  putNum(e, 0, ER.descLength, desc.length);
  putNum(e, 0, ER.srcLength, src.length);
  putNum(e, 0, ER.version, 1);
  e.set(id, ER.id.at);
  e.set(desc, ER.id.at + id.length);
  e.set(src, ER.id.at + id.length + desc.length);
  return e;
}

/** The Rock Ridge entries of one record: PX, TF, then NM and SL as needed. */
export function rrEntries(a: RrAttributes): Uint8Array[] {
  const out: Uint8Array[] = [];
  const px = entry('PX', PX_BYTES);
  putNum(px, 0, PX.mode, a.mode);
  putNum(px, 0, PX.nlink, a.nlink);
  putNum(px, 0, PX.uid, a.uid);
  putNum(px, 0, PX.gid, a.gid);
  putNum(px, 0, PX.serial, a.serial);
  out.push(px);
  const tf = entry('TF', TF.stamps.at + 3 * 7);
  putNum(tf, 0, TF.flags, TF_MODIFY_ACCESS_ATTRIBUTES);
  for (let i = 0; i < 3; i++) putShortDate(tf, TF.stamps.at + 7 * i, a.mtimeMs);
  out.push(tf);
  if (a.name) {
    const room = MAX_ENTRY - NM.name.at;
    for (let at = 0; at < a.name.length || at === 0; at += room) {
      const part = a.name.subarray(at, at + room);
      const nm = entry('NM', NM.name.at + part.length);
      putNum(nm, 0, NM.flags, at + room < a.name.length ? FLAG_CONTINUE : 0);
      nm.set(part, NM.name.at);
      out.push(nm);
      if (a.name.length === 0) break;
    }
  }
  if (a.target !== undefined) for (const sl of slEntries(a.target)) out.push(sl);
  return out;
}

/** RRIP §4.1.3: a target as SL component records, split over entries of at most 255 bytes. */
export function slEntries(target: string): Uint8Array[] {
  const comps: { flags: number; content: Uint8Array }[] = [];
  if (target.startsWith('/')) comps.push({ flags: SL_ROOT, content: new Uint8Array(0) });
  for (const part of target.split('/')) {
    if (part === '') continue;
    if (part === '.') comps.push({ flags: SL_CURRENT, content: new Uint8Array(0) });
    else if (part === '..') comps.push({ flags: SL_PARENT, content: new Uint8Array(0) });
    else {
      const bytes = enc.encode(part);
      const max = MAX_ENTRY - SL.components.at - SL_COMPONENT.content.at;
      for (let at = 0; at < bytes.length; at += max) {
        comps.push({ flags: at + max < bytes.length ? FLAG_CONTINUE : 0, content: bytes.subarray(at, at + max) });
      }
    }
  }
  if (comps.length === 0) comps.push({ flags: SL_CURRENT, content: new Uint8Array(0) });
  const out: Uint8Array[] = [];
  let cur: { flags: number; content: Uint8Array }[] = [];
  let curBytes = SL.components.at;
  const flush = (more: boolean) => {
    const e = entry('SL', curBytes);
    putNum(e, 0, SL.flags, more ? FLAG_CONTINUE : 0);
    let p = SL.components.at;
    for (const c of cur) {
      putNum(e, p, SL_COMPONENT.flags, c.flags);
      putNum(e, p, SL_COMPONENT.length, c.content.length);
      e.set(c.content, p + SL_COMPONENT.content.at);
      p += SL_COMPONENT.content.at + c.content.length;
    }
    out.push(e);
    cur = [];
    curBytes = SL.components.at;
  };
  // An entry boundary falls inside a component (its first part flagged CONTINUE) where it can:
  // libarchive before 3.7 joins the components on either side of a boundary without a "/".
  for (const c of comps) {
    let content = c.content;
    for (;;) {
      const need = SL_COMPONENT.content.at + content.length;
      if (curBytes + need <= MAX_ENTRY) {
        cur.push({ flags: c.flags, content });
        curBytes += need;
        break;
      }
      const fit = MAX_ENTRY - curBytes - SL_COMPONENT.content.at;
      if (content.length > 0 && fit >= 1) {
        cur.push({ flags: c.flags | FLAG_CONTINUE, content: content.subarray(0, fit) });
        curBytes += SL_COMPONENT.content.at + fit;
        content = content.subarray(fit);
      }
      flush(true);
    }
  }
  flush(false);
  return out;
}

/** Where the entries of one record go: inline, and in chained continuation areas. */
export interface SystemUsePlan {
  /** Entries in the record itself (a CE follows them when `areas` is not empty). */
  readonly inline: readonly Uint8Array[];
  /** Bytes inline, the CE included. */
  readonly inlineBytes: number;
  /** Each continuation area's entries (a CE ends every area but the last). */
  readonly areas: readonly (readonly Uint8Array[])[];
  /** Bytes of each area, its CE included. */
  readonly areaBytes: readonly number[];
}

const sum = (xs: readonly Uint8Array[]) => xs.reduce((n, x) => n + x.length, 0);

/** Splits `entries` so that at most `room` bytes stay in the record. */
export function planSystemUse(entries: readonly Uint8Array[], room: number): SystemUsePlan {
  if (sum(entries) <= room) return { inline: entries, inlineBytes: sum(entries), areas: [], areaBytes: [] };
  const inline: Uint8Array[] = [];
  let i = 0, used = CE_BYTES;
  while (i < entries.length && used + entries[i]!.length <= room) used += entries[i++]!.length;
  for (let k = 0; k < i; k++) inline.push(entries[k]!);
  const areas: Uint8Array[][] = [];
  const areaBytes: number[] = [];
  while (i < entries.length) {
    const area: Uint8Array[] = [];
    let bytes = 0;
    const rest = sum(entries.slice(i));
    const cap = rest <= AREA_BYTES ? AREA_BYTES : AREA_BYTES - CE_BYTES;
    while (i < entries.length && bytes + entries[i]!.length <= cap) {
      area.push(entries[i]!);
      bytes += entries[i]!.length;
      i++;
    }
    if (i < entries.length) bytes += CE_BYTES;
    areas.push(area);
    areaBytes.push(bytes);
  }
  return { inline, inlineBytes: used, areas, areaBytes };
}

/** A CE entry pointing at `length` bytes at byte `offset` of block `lba` (SUSP §5.1). */
export function ceEntry(lba: number, offset: number, length: number): Uint8Array {
  const e = entry('CE', CE_BYTES);
  putNum(e, 0, CE.blockLba, lba);
  putNum(e, 0, CE.offset, offset);
  putNum(e, 0, CE.length, length);
  return e;
}
