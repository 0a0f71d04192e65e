/**
 * Binary field tables: every on-disc structure the reader parses is declared
 * as a table of named fields (offset, encoding, length) that cites its spec
 * section, and read through `u8/u16/u32/both32/text` below, so no module
 * carries bare offsets.
 *
 * ECMA-119 §7.2 and §7.3 define the integer encodings: 7.2.1/7.3.1 little
 * endian, 7.2.2/7.3.2 big endian, 7.2.3/7.3.3 "both-byte orders" (the LE
 * value followed by the BE copy). Readers trust the LE half of a both-endian
 * field (as Linux and libisofs do) and do not insist the halves agree.
 */
import { IsosyncError } from '../errors.js';

export type FieldKind = 'u8' | 'u16le' | 'u16be' | 'u16both' | 'u32le' | 'u32be' | 'u32both' | 'bytes';

export interface Field {
  /** Offset from the start of the structure, in bytes. */
  readonly at: number;
  readonly kind: FieldKind;
  /** Length in bytes (for 'bytes'; implied by the kind otherwise). */
  readonly len?: number;
}

const WIDTH: Record<Exclude<FieldKind, 'bytes'>, number> = {
  u8: 1, u16le: 2, u16be: 2, u16both: 4, u32le: 4, u32be: 4, u32both: 8,
};

/** Width in bytes of a field. */
export function fieldWidth(f: Field): number {
  return f.kind === 'bytes' ? (f.len ?? 0) : WIDTH[f.kind];
}

/** End offset (exclusive) of a field relative to its structure. */
export function fieldEnd(f: Field): number {
  return f.at + fieldWidth(f);
}

/** Reads a numeric field of a structure that starts at `base` in `b`. */
export function num(b: Uint8Array, base: number, f: Field): number {
  const o = base + f.at;
  switch (f.kind) {
    case 'u8': return b[o]!;
    case 'u16le': case 'u16both': return b[o]! | (b[o + 1]! << 8);
    case 'u16be': return (b[o]! << 8) | b[o + 1]!;
    case 'u32le': case 'u32both': return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
    case 'u32be': return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
    case 'bytes': throw new IsosyncError('INTERNAL', 'Internal error: num() on a bytes field');
  }
}

/**
 * The little-endian 32-bit value at byte `o` of `b` (the LE half of a u32both field, or a
 * u32le one): num() without its dispatch on the field's kind, for the few fields the walk
 * reads in every record and every Rock Ridge entry. A listing of 62,500 entries made ~1
 * million num() calls, and while the walk still runs in the interpreter each paid for the
 * table lookups and the switch (~10 % of a cold `ls`). Callers take the offset from the
 * field's table (`PX.mode.at`), so no bare offset appears.
 */
export function u32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** The raw bytes of a field (a view, not a copy). */
export function raw(b: Uint8Array, base: number, f: Field): Uint8Array {
  return b.subarray(base + f.at, base + f.at + fieldWidth(f));
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const ucs2be = new TextDecoder('utf-16be');

/** A-/d-characters (ECMA-119 §7.4) with trailing spaces removed. */
export function text(b: Uint8Array, base: number, f: Field): string {
  return latin1.decode(raw(b, base, f)).replace(/[ \0]+$/, '');
}

/** Bytes as UTF-8 (Rock Ridge names are bytes; every Linux tool writes UTF-8). */
export function utf8Text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Latin-1 decoding of ISO 9660 identifiers (d-characters are ASCII). */
export function latin1Text(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Joliet identifiers: UCS-2 big endian (Joliet spec §3.3). */
export function ucs2Text(bytes: Uint8Array): string {
  return ucs2be.decode(bytes.length % 2 === 0 ? bytes : bytes.subarray(0, bytes.length - 1));
}

/**
 * Date.UTC(year, month - 1, day, hour, minute, second) for years from 100 on, by arithmetic
 * (days from the civil date, H. Hinnant's algorithm): the reader dates every record and
 * every Rock Ridge time stamp, and Date.UTC cost ~8 % of a listing. Out-of-range months
 * carry into the year, and days, hours, minutes and seconds past their range add on, as
 * Date.UTC does.
 */
export function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const m0 = month - 1;
  let y = year + Math.floor(m0 / 12);
  const m = m0 - Math.floor(m0 / 12) * 12 + 1; // 1..12
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5);
  const days = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468 + day - 1;
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
}

/**
 * ECMA-119 §9.1.5 "recording date and time", 7 bytes: years since 1900,
 * month, day, hour, minute, second, offset from GMT in 15-minute units
 * (signed). Returns milliseconds since the epoch, or undefined when unset.
 */
export function shortDate(b: Uint8Array, o: number): number | undefined {
  const y = b[o]!, mo = b[o + 1]!, d = b[o + 2]!, h = b[o + 3]!, mi = b[o + 4]!, s = b[o + 5]!;
  if (mo === 0 || d === 0) return undefined;
  const off = (b[o + 6]! << 24) >> 24;
  return utcMs(1900 + y, mo, d, h, mi, s) - off * 15 * 60_000;
}

/**
 * ECMA-119 §8.4.26.1 date and time, 17 bytes: "YYYYMMDDHHMMSScc" in ASCII
 * digits, then the GMT offset in 15-minute units. Unset is all '0' digits.
 */
export function longDate(b: Uint8Array, o: number): number | undefined {
  const digits = latin1.decode(b.subarray(o, o + 16));
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return undefined;
  const n = (i: number, l: number) => Number(digits.slice(i, i + l));
  const off = (b[o + 16]! << 24) >> 24;
  const mo = n(4, 2), d = n(6, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  return Date.UTC(n(0, 4), mo - 1, d, n(8, 2), n(10, 2), n(12, 2), n(14, 2) * 10) - off * 15 * 60_000;
}
