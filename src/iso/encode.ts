/**
 * The writer's half of fields.ts: puts values into the same named field
 * tables the reader parses (ECMA-119 §7.2/§7.3 integer encodings, §7.4
 * character fields, §8.4.26.1 and §9.1.5 dates), so reader and writer share
 * one description of every structure.
 *
 * Both-byte-order fields are written with both halves equal, as §7.2.3 and
 * §7.3.3 require.
 */
import type { Field } from './fields.js';
import { fieldWidth } from './fields.js';
import { IsosyncError } from '../errors.js';

/** Writes a numeric field of a structure that starts at `base` in `b`. */
export function putNum(b: Uint8Array, base: number, f: Field, value: number): void {
  const o = base + f.at;
  const v = value >>> 0;
  const le16 = (at: number) => { b[at] = v & 0xff; b[at + 1] = (v >>> 8) & 0xff; };
  const be16 = (at: number) => { b[at] = (v >>> 8) & 0xff; b[at + 1] = v & 0xff; };
  const le32 = (at: number) => { b[at] = v & 0xff; b[at + 1] = (v >>> 8) & 0xff; b[at + 2] = (v >>> 16) & 0xff; b[at + 3] = (v >>> 24) & 0xff; };
  const be32 = (at: number) => { b[at] = (v >>> 24) & 0xff; b[at + 1] = (v >>> 16) & 0xff; b[at + 2] = (v >>> 8) & 0xff; b[at + 3] = v & 0xff; };
  switch (f.kind) {
    case 'u8': b[o] = v & 0xff; return;
    case 'u16le': le16(o); return;
    case 'u16be': be16(o); return;
    case 'u16both': le16(o); be16(o + 2); return;
    case 'u32le': le32(o); return;
    case 'u32be': be32(o); return;
    case 'u32both': le32(o); be32(o + 4); return;
    case 'bytes': throw new IsosyncError('INTERNAL', 'Cannot encode a number into a bytes field');
  }
}

/** Copies `bytes` into a bytes field, truncated to its width when it has one. */
export function putBytes(b: Uint8Array, base: number, f: Field, bytes: Uint8Array): void {
  const w = f.len !== undefined ? fieldWidth(f) : bytes.length;
  b.set(bytes.subarray(0, w), base + f.at);
}

/** A-/d-character field (ECMA-119 §7.4): ASCII, padded with spaces to the field width. */
export function putText(b: Uint8Array, base: number, f: Field, s: string): void {
  const w = fieldWidth(f);
  for (let i = 0; i < w; i++) b[base + f.at + i] = i < s.length ? s.charCodeAt(i) & 0x7f : 0x20;
}

/** UCS-2 big-endian text padded with UCS-2 spaces (Joliet §3.3 descriptor fields). */
export function putUcs2Text(b: Uint8Array, base: number, f: Field, s: string): void {
  const w = fieldWidth(f);
  for (let i = 0; i + 1 < w; i += 2) {
    const c = i / 2 < s.length ? s.charCodeAt(i / 2) : 0x20;
    b[base + f.at + i] = c >>> 8;
    b[base + f.at + i + 1] = c & 0xff;
  }
}

/** ECMA-119 §9.1.5 7-byte date at `o`, in UTC (offset 0). */
export function putShortDate(b: Uint8Array, o: number, ms: number): void {
  const d = new Date(clampDate(ms));
  b[o] = d.getUTCFullYear() - 1900;
  b[o + 1] = d.getUTCMonth() + 1;
  b[o + 2] = d.getUTCDate();
  b[o + 3] = d.getUTCHours();
  b[o + 4] = d.getUTCMinutes();
  b[o + 5] = d.getUTCSeconds();
  b[o + 6] = 0;
}

/** ECMA-119 §8.4.26.1 17-byte date at `o` ("YYYYMMDDHHMMSScc" + offset 0); undefined writes "not specified". */
export function putLongDate(b: Uint8Array, o: number, ms: number | undefined): void {
  let digits = '0000000000000000';
  if (ms !== undefined) {
    const d = new Date(clampDate(ms));
    const p = (n: number, w: number) => String(n).padStart(w, '0');
    digits = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1, 2)}${p(d.getUTCDate(), 2)}${p(d.getUTCHours(), 2)}${p(d.getUTCMinutes(), 2)}${p(d.getUTCSeconds(), 2)}${p(Math.floor(d.getUTCMilliseconds() / 10), 2)}`;
  }
  for (let i = 0; i < 16; i++) b[o + i] = digits.charCodeAt(i);
  b[o + 16] = 0;
}

/** §9.1.5 stores years 1900-2155: clamp so a strange mtime never wraps. */
function clampDate(ms: number): number {
  const lo = Date.UTC(1900, 0, 1), hi = Date.UTC(2155, 11, 31, 23, 59, 59);
  return Math.min(hi, Math.max(lo, Number.isFinite(ms) ? ms : 0));
}

/** UCS-2 big endian bytes of `s` (UTF-16 code units; Joliet §3.3). */
export function ucs2Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c >>> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}
