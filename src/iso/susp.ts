/**
 * The System Use Sharing Protocol (SUSP 1.12) and the Rock Ridge entries
 * carried in it (RRIP 1.12, IEEE P1282).
 *
 * A system use area is a sequence of entries: 2-byte signature, 1-byte
 * length, 1-byte version, data (SUSP §4.1). CE (§5.1) continues the area
 * elsewhere on the volume; ST (§5.3) ends it; SP (§5.3) on the root's "."
 * record says SUSP is in use and how many bytes to skip in every area; ER
 * (§5.5) names the extension (RRIP_1991A, IEEE_P1282, IEEE_1282).
 *
 * Rock Ridge (RRIP §4.1): PX attributes (36 bytes in 1.10, 44 with the file
 * serial number in 1.12), NM alternate name (CONTINUE/CURRENT/PARENT flags),
 * SL symbolic link (components with CONTINUE/CURRENT/PARENT/ROOT flags,
 * itself continued by the entry's CONTINUE flag), TF time stamps (7-byte
 * §9.1.5 or 17-byte §8.4.26.1 form), CL/PL/RE for relocated directories.
 */
import { IsoContext, LIMITS } from './context.js';
import { latin1Text, longDate, num, shortDate, u32At, utf8Text } from './fields.js';
import type { Span } from '../core/span.js';

import { CE, CL_PL, ER, NM, PX, SL, SL_COMPONENT, SP, SUSP_ENTRY, TF } from './susp-fields.js';

const SL_FLAG = { continue: 0x01, current: 0x02, parent: 0x04, root: 0x08 } as const;
const NM_FLAG = { continue: 0x01, current: 0x02, parent: 0x04 } as const;
const TF_FLAG = { creation: 0x01, modify: 0x02, access: 0x04, attributes: 0x08, backup: 0x10, expiration: 0x20, effective: 0x40, longForm: 0x80 } as const;
const TF_ORDER = ['creation', 'modify', 'access', 'attributes', 'backup', 'expiration', 'effective'] as const;
/** TF flags of the stamps a scan dates: all, but for the walk (rockRidgeInline), which wants the modification time only. */
const ALL_TIMES = 0x7f;
/** RRIP §5.1 ER identifiers of Rock Ridge. */
const RRIP_IDS = new Set(['RRIP_1991A', 'IEEE_P1282', 'IEEE_1282']);

export type TimeStamps = Partial<Record<(typeof TF_ORDER)[number], number>>;

export interface RockRidge {
  name?: string | undefined;
  nameIsCurrent?: boolean | undefined;
  nameIsParent?: boolean | undefined;
  mode?: number | undefined;
  nlink?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  serial?: number | undefined;
  target?: string | undefined;
  times?: TimeStamps | undefined;
  childLink?: number | undefined;
  parentLink?: number | undefined;
  relocated?: boolean | undefined;
}

/**
 * A RockRidge made with every field present (undefined when absent): the
 * walk makes one per record, and one shape costs less than an object that
 * grows a field at a time.
 */
class RockRidgeFields implements RockRidge {
  name: string | undefined = undefined;
  nameIsCurrent: boolean | undefined = undefined;
  nameIsParent: boolean | undefined = undefined;
  mode: number | undefined = undefined;
  nlink: number | undefined = undefined;
  uid: number | undefined = undefined;
  gid: number | undefined = undefined;
  serial: number | undefined = undefined;
  target: string | undefined = undefined;
  times: TimeStamps | undefined = undefined;
  childLink: number | undefined = undefined;
  parentLink: number | undefined = undefined;
  relocated: boolean | undefined = undefined;
}

/** TF's time stamps, in one shape. */
class TimeFields implements TimeStamps {
  creation: number | undefined = undefined;
  modify: number | undefined = undefined;
  access: number | undefined = undefined;
  attributes: number | undefined = undefined;
  backup: number | undefined = undefined;
  expiration: number | undefined = undefined;
  effective: number | undefined = undefined;
}

export interface SystemUse {
  readonly rr: RockRidge;
  /** Whether any Rock Ridge entry was seen. */
  readonly hasRockRidge: boolean;
  /** SP found (root "." record only): bytes to skip in every other area. */
  readonly spSkip?: number;
  /** ER identifiers. */
  readonly extensions: string[];
  /** Continuation areas read, as byte spans in the image. */
  readonly continuations: Span[];
}

/** Rock Ridge signatures that prove the extension is in use even without ER (RRIP 1.09 images). */
const RR_SIGNATURES = new Set(['PX', 'PN', 'SL', 'NM', 'CL', 'PL', 'RE', 'TF', 'SF', 'RR']);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * What a scan gathers. Only the Rock Ridge result is allocated for every
 * record: the lists start empty and shared (NONE) and are replaced on first
 * use, and one NM entry (nearly every name) is kept as a range of the area
 * (`nameAt`), decoded once, without a view per entry.
 */
interface ScanState {
  rr: RockRidge;
  extensions: string[];
  continuations: Span[];
  spSkip: number | undefined;
  hasRockRidge: boolean;
  /** The one NM name part seen so far, as [start, end) of `nameBuf`; further parts go to `nameParts`. */
  nameBuf: Uint8Array | undefined;
  nameAt: number;
  nameEnd: number;
  nameParts: Uint8Array[];
  link: { parts: Uint8Array[]; components: Uint8Array[]; root: boolean; started: boolean } | undefined;
}

/** A two-letter signature as a number (first byte high), so that the scan allocates no string per entry. */
function sig2(s: string): number {
  return (s.charCodeAt(0) << 8) | s.charCodeAt(1);
}
const RR_SIGNATURE_CODES = new Set([...RR_SIGNATURES].map(sig2));
const S = { SP: sig2('SP'), CE: sig2('CE'), ER: sig2('ER'), PX: sig2('PX'), NM: sig2('NM'), SL: sig2('SL'), TF: sig2('TF'), CL: sig2('CL'), PL: sig2('PL'), RE: sig2('RE'), ST: sig2('ST') } as const;
const DOT = new TextEncoder().encode('.');
const DOT_DOT = new TextEncoder().encode('..');
/** Shared empty lists of a fresh state: never pushed to (replaced on first use). */
const NONE: never[] = [];
/** SUSP_ENTRY's length byte, read from every entry (see u32At for why not through num()). */
const ENTRY_LENGTH_AT = SUSP_ENTRY.length.at;

function newState(): ScanState {
  return { rr: new RockRidgeFields(), extensions: NONE, continuations: NONE, spSkip: undefined, hasRockRidge: false, nameBuf: undefined, nameAt: 0, nameEnd: 0, nameParts: NONE, link: undefined };
}

/** The state of rockRidgeInline, reused from record to record (a scan never awaits): only its `rr` is new each time. */
const INLINE_STATE = newState();

function freshState(st: ScanState): ScanState {
  st.rr = new RockRidgeFields();
  st.extensions = NONE;
  st.continuations = NONE;
  st.spSkip = undefined;
  st.hasRockRidge = false;
  st.nameBuf = undefined;
  st.nameParts = NONE;
  st.link = undefined;
  return st;
}

function pushName(st: ScanState, buf: Uint8Array, start: number, end: number): void {
  if (st.nameBuf === undefined && st.nameParts.length === 0) {
    st.nameBuf = buf;
    st.nameAt = start;
    st.nameEnd = end;
    return;
  }
  if (st.nameParts === NONE) st.nameParts = [];
  if (st.nameBuf !== undefined) st.nameParts.push(st.nameBuf.subarray(st.nameAt, st.nameEnd));
  st.nameBuf = undefined;
  st.nameParts.push(buf.subarray(start, end));
}

/** SL (RRIP §4.1.3): the components of the entry at `e` (`len` bytes) of `buf`, into the link being built. */
function scanLink(st: ScanState, buf: Uint8Array, e: number, len: number): void {
  const link = (st.link ??= { parts: [], components: [], root: false, started: false });
  let p = SL.components.at;
  while (p + 2 <= len) {
    const cflags = num(buf, e + p, SL_COMPONENT.flags);
    const clen = num(buf, e + p, SL_COMPONENT.length);
    const content = buf.subarray(e + p + 2, e + Math.min(len, p + 2 + clen));
    p += 2 + clen;
    if (cflags & SL_FLAG.root) {
      if (!link.started) link.root = true;
    } else if (cflags & SL_FLAG.current) link.parts.push(DOT);
    else if (cflags & SL_FLAG.parent) link.parts.push(DOT_DOT);
    else link.parts.push(content);
    link.started = true;
    if (!(cflags & SL_FLAG.continue) && !(cflags & SL_FLAG.root)) {
      link.components.push(concat(link.parts));
      link.parts = [];
    }
  }
}

/** TF (RRIP §4.1.6): the time stamps of the entry at `e` (`len` bytes) of `buf`. */
function scanTimes(rr: RockRidge, buf: Uint8Array, e: number, len: number, wanted: number): void {
  const flags = num(buf, e, TF.flags);
  const width = flags & TF_FLAG.longForm ? 17 : 7;
  let p = TF.stamps.at;
  const times = (rr.times ??= new TimeFields());
  for (let bit = 0; bit < TF_ORDER.length; bit++) {
    if (!(flags & (1 << bit))) continue;
    if (p + width > len) break;
    if (!(wanted & (1 << bit))) {
      p += width;
      continue;
    }
    const t = width === 17 ? longDate(buf, e + p) : shortDate(buf, e + p);
    if (t !== undefined) setStamp(times, bit, t);
    p += width;
  }
}

/** times[TF_ORDER[bit]] = t, with a store per field rather than a keyed store. */
function setStamp(times: TimeStamps, bit: number, t: number): void {
  switch (bit) {
    case 0: times.creation = t; break;
    case 1: times.modify = t; break;
    case 2: times.access = t; break;
    case 3: times.attributes = t; break;
    case 4: times.backup = t; break;
    case 5: times.expiration = t; break;
    default: times.effective = t; break;
  }
}

/**
 * Scans the system use area (or continuation area) `buf[start, end)` into
 * `st`; returns the CE continuation it names, if any. Entries are read in
 * place (no view per entry).
 */
function scanArea(st: ScanState, buf: Uint8Array, start: number, end: number, blockSize: number, times = ALL_TIMES): { start: number; length: number } | undefined {
  const { rr } = st;
  let next: { start: number; length: number } | undefined;
  let e = start;
  while (e + 4 <= end) {
    const sig = (buf[e]! << 8) | buf[e + 1]!;
    const len = buf[e + ENTRY_LENGTH_AT]!;
    if (len < 4 || e + len > end) break; // padding or a torn entry: the area ends here (as Linux reads it)
    switch (sig) {
      case S.SP:
        if (len >= 7 && num(buf, e, SP.check1) === 0xbe && num(buf, e, SP.check2) === 0xef) st.spSkip = num(buf, e, SP.skip);
        break;
      case S.CE:
        if (len >= 28) next = { start: num(buf, e, CE.blockLba) * blockSize + num(buf, e, CE.offset), length: num(buf, e, CE.length) };
        break;
      case S.ER: {
        const idLen = num(buf, e, ER.idLength);
        if (8 + idLen <= len) (st.extensions === NONE ? (st.extensions = []) : st.extensions).push(latin1Text(buf.subarray(e + 8, e + 8 + idLen)));
        break;
      }
      case S.PX:
        st.hasRockRidge = true;
        if (len >= 36) {
          rr.mode = u32At(buf, e + PX.mode.at);
          rr.nlink = u32At(buf, e + PX.nlink.at);
          rr.uid = u32At(buf, e + PX.uid.at);
          rr.gid = u32At(buf, e + PX.gid.at);
          if (len >= 44) rr.serial = u32At(buf, e + PX.serial.at);
        }
        break;
      case S.NM: {
        st.hasRockRidge = true;
        if (len < 5) break;
        const flags = buf[e + NM.flags.at]!;
        if (flags & NM_FLAG.current) rr.nameIsCurrent = true;
        else if (flags & NM_FLAG.parent) rr.nameIsParent = true;
        else pushName(st, buf, e + NM.name.at, e + len);
        break;
      }
      case S.SL:
        st.hasRockRidge = true;
        if (len >= 5) scanLink(st, buf, e, len);
        break;
      case S.TF:
        st.hasRockRidge = true;
        if (len >= 5 && times !== 0) scanTimes(rr, buf, e, len, times);
        break;
      case S.CL:
        st.hasRockRidge = true;
        if (len >= 12) rr.childLink = u32At(buf, e + CL_PL.lba.at);
        break;
      case S.PL:
        st.hasRockRidge = true;
        if (len >= 12) rr.parentLink = u32At(buf, e + CL_PL.lba.at);
        break;
      case S.RE:
        st.hasRockRidge = true;
        rr.relocated = true;
        break;
      default:
        // PD padding, PN device numbers, SF, ES, AA, AL, zisofs ZF ...: not needed to list or extract
        // (PN, SF and RR still say Rock Ridge is in use).
        if (RR_SIGNATURE_CODES.has(sig)) st.hasRockRidge = true;
        break;
    }
    if (sig === S.ST) break;
    e += len;
  }
  return next;
}

/** The Rock Ridge result of a finished scan: the name and link target decoded. */
/**
 * Buffer's UTF-8 decoder, called on a range of any Uint8Array: the same
 * string as utf8Text (U+FFFD for each invalid sequence), without a view of
 * the range and at half the cost of TextDecoder, for the one name of nearly
 * every record.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

function finishRockRidge(st: ScanState): RockRidge {
  const { rr, link } = st;
  if (st.nameBuf !== undefined) rr.name = utf8Slice.call(st.nameBuf, st.nameAt, st.nameEnd);
  else if (st.nameParts.length > 0) rr.name = utf8Text(concat(st.nameParts));
  if (link) {
    if (link.parts.length > 0) link.components.push(concat(link.parts));
    if (link.started) {
      const target = link.components.map((c) => utf8Text(c)).join('/');
      rr.target = link.root ? `/${target}` : target;
    }
  }
  return rr;
}

function finishState(st: ScanState): SystemUse {
  const rr = finishRockRidge(st);
  const hasRockRidge = st.hasRockRidge || st.extensions.some((x) => RRIP_IDS.has(x));
  return { rr, hasRockRidge, extensions: st.extensions === NONE ? [] : st.extensions, continuations: st.continuations === NONE ? [] : st.continuations, ...(st.spSkip !== undefined ? { spSkip: st.spSkip } : {}) };
}

/**
 * The Rock Ridge entries of the system use area `buf[start, end)` (after
 * the SP skip), without I/O: undefined when the area names a continuation
 * area (then call parseSystemUse). Allocates the result only, and of TF
 * dates the modification time only (none without `times`): the walk calls
 * it for every record.
 */
export function rockRidgeInline(buf: Uint8Array, start: number, end: number, blockSize: number, times = true): RockRidge | undefined {
  const st = freshState(INLINE_STATE);
  if (scanArea(st, buf, start, end, blockSize, times ? TF_FLAG.modify : 0)) return undefined;
  return finishRockRidge(st);
}

/**
 * parseSystemUse without I/O: the parsed area when it names no continuation
 * area (nearly every record), else undefined (then call parseSystemUse).
 */
export function parseSystemUseInline(area: Uint8Array, skip: number, blockSize: number): SystemUse | undefined {
  const st = newState();
  if (scanArea(st, area, Math.min(skip, area.length), area.length, blockSize)) return undefined;
  return finishState(st);
}

/**
 * Parses the system use area `area` of the record at byte `recordOffset`,
 * following CE continuation areas (bounded in number and size, and checked
 * against the image's end).
 */
export async function parseSystemUse(ctx: IsoContext, area: Uint8Array, recordOffset: number, skip: number, blockSize: number): Promise<SystemUse> {
  const st = newState();
  let buf = area;
  let start = Math.min(skip, area.length);
  for (let hops = 0; ; hops++) {
    const next = scanArea(st, buf, start, buf.length, blockSize);
    if (!next) break;
    if (hops + 1 > LIMITS.continuations) {
      ctx.fail(`directory record at byte ${recordOffset} chains more than ${LIMITS.continuations} continuation areas`, { offset: recordOffset });
    }
    if (next.length > LIMITS.continuationBytes) {
      ctx.fail(`continuation area of the directory record at byte ${recordOffset} claims ${next.length} bytes, more than the limit of ${LIMITS.continuationBytes}`, { offset: recordOffset });
    }
    if (next.start + next.length > ctx.size) {
      ctx.fail(`continuation area at byte ${next.start} (${next.length} bytes) of the directory record at byte ${recordOffset} lies beyond the end of the image (${ctx.size} bytes)`, { offset: recordOffset });
    }
    buf = await ctx.read(next.start, next.length, 'continuation area');
    start = 0;
    if (st.continuations === NONE) st.continuations = [];
    st.continuations.push({ start: next.start, end: next.start + next.length });
  }
  return finishState(st);
}
