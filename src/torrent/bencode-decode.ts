/**
 * A strict bencode decoder (BEP 3, "bencoding").
 *
 * Strict means it accepts only canonical bencode, the form every encoder
 * writes and every infohash is computed over:
 *   - integers `i<digits>e` without leading zeros, without `-0`, and with at
 *     least one digit;
 *   - byte strings `<len>:<bytes>` whose length has no leading zeros and stays
 *     within the input;
 *   - dictionary keys that are byte strings in strictly increasing raw-byte
 *     order (so no duplicates);
 *   - nothing after the top-level value;
 *   - lists and dictionaries nested at most MAX_DEPTH deep (a hostile file
 *     cannot overflow the stack).
 *
 * Decoded values: byte strings stay Uint8Array (most are not text), integers
 * are `number` when they are safe integers and `bigint` beyond that,
 * dictionaries are `Map`s whose keys are the raw key bytes as a latin1 string
 * (one char per byte, so ASCII keys read as themselves and any byte sequence
 * round-trips).
 *
 * It also records the byte span of the top-level dictionary's `info` value,
 * so that the infohash is the SHA-1 of exactly the bytes in the file, not of
 * a re-encoding.
 *
 * Pure: no I/O. Errors are BencodeError (core/errors.ts: position + detail,
 * code BAD_BENCODE); the metainfo parser names the file in its own error.
 */
import { BencodeError } from '../core/errors.js';
import type { Span } from '../core/span.js';

export { BencodeError };

export type BValue = number | bigint | Uint8Array | BList | BDict;
export type BList = readonly BValue[];
export type BDict = ReadonlyMap<string, BValue>;

/** Lists/dicts nested deeper than this are refused; real torrents nest 4 deep (info.files[i].path[j]). */
export const MAX_DEPTH = 64;

/** Longest integer literal accepted, in digits: 2^64 has 20, so 40 leaves room without unbounded BigInt parsing. */
const MAX_INT_DIGITS = 40;

export interface Decoded {
  readonly value: BValue;
  /** Byte span [start, end) of the top-level dictionary's `info` value, when there is one. */
  readonly infoSpan?: Span;
}

const CH_I = 0x69; // 'i'
const CH_L = 0x6c; // 'l'
const CH_D = 0x64; // 'd'
const CH_E = 0x65; // 'e'
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

const INFO_KEY = 'info';

export function decodeBencode(bytes: Uint8Array): Decoded {
  const d = new Decoder(bytes);
  const value = d.value(0);
  if (d.pos !== bytes.length) {
    throw new BencodeError(d.pos, `${bytes.length - d.pos} bytes of trailing data after the top-level value (at byte ${d.pos})`);
  }
  return d.infoSpan ? { value, infoSpan: d.infoSpan } : { value };
}

/**
 * Decodes one value at the start of `bytes` and says where it ends: for
 * messages that carry raw bytes after a bencoded header (BEP 9 metadata
 * data messages). Same strictness as decodeBencode otherwise.
 */
export function decodeBencodePrefix(bytes: Uint8Array): { value: BValue; end: number } {
  const d = new Decoder(bytes);
  const value = d.value(0);
  return { value, end: d.pos };
}

/**
 * The end of the one bencoded value that starts at `start`, checked for
 * shape only, not canonical form (any key order, leading zeros allowed):
 * every byte string's length is a decimal that stays within the data,
 * every integer is `i`, an optional `-`, digits and `e`, every dictionary
 * key is a byte string followed by a value, nesting is at most MAX_DEPTH.
 * It is for bytes about to reach a lenient decoder: the `bencode` package
 * inside bittorrent-protocol loops forever on a negative string length
 * (`-3:`). Iterative; throws BencodeError.
 */
export function bencodeValueEnd(b: Uint8Array, start = 0): number {
  // Open containers, innermost last: a list, or a dictionary expecting its next key or a value.
  const open: ('list' | 'key' | 'value')[] = [];
  let pos = start;
  do {
    const c = b[pos];
    if (c === undefined) throw new BencodeError(pos, `unexpected end of data at byte ${pos}`);
    const top = open[open.length - 1];
    if (c === CH_E) {
      if (top === undefined) throw new BencodeError(pos, `unexpected "e" at byte ${pos}`);
      if (top === 'value') throw new BencodeError(pos, `dictionary key without a value before byte ${pos}`);
      open.pop();
      pos++;
    } else if (top === 'key' && (c < CH_0 || c > CH_9)) {
      throw new BencodeError(pos, `dictionary key at byte ${pos} is not a byte string (found ${describeByte(c)})`);
    } else if (c === CH_L || c === CH_D) {
      if (open.length >= MAX_DEPTH) throw new BencodeError(pos, `lists and dictionaries nested deeper than ${MAX_DEPTH} levels at byte ${pos}`);
      open.push(c === CH_D ? 'key' : 'list');
      pos++;
      continue; // the container is an item of its parent once it closes
    } else if (c === CH_I) {
      const end = b.indexOf(CH_E, pos + 1);
      if (end < 0 || end - pos - 1 > MAX_INT_DIGITS + 1 || !/^-?\d+$/.test(latin1(b.subarray(pos + 1, end)))) {
        throw new BencodeError(pos, `integer at byte ${pos} is not "i", digits and "e"`);
      }
      pos = end + 1;
    } else if (c >= CH_0 && c <= CH_9) {
      const colon = b.indexOf(CH_COLON, pos);
      const text = colon < 0 ? '' : latin1(b.subarray(pos, colon));
      if (!/^\d{1,16}$/.test(text)) throw new BencodeError(pos, `byte string at byte ${pos} has no decimal length and ":"`);
      const len = Number(text);
      if (len > b.length - colon - 1) throw new BencodeError(pos, `byte string at byte ${pos} declares length ${len}, past the end of the data`);
      pos = colon + 1 + len;
    } else {
      throw new BencodeError(pos, `unexpected byte ${describeByte(c)} at byte ${pos}`);
    }
    // One item ended (a string, an integer or a closed container): a dictionary alternates key, value.
    const parent = open.length - 1;
    if (parent >= 0 && open[parent] !== 'list') open[parent] = open[parent] === 'key' ? 'value' : 'key';
  } while (open.length > 0);
  return pos;
}

function describeByte(b: number): string {
  const hex = `0x${b.toString(16).padStart(2, '0')}`;
  return b >= 0x20 && b < 0x7f ? `${hex} ("${String.fromCharCode(b)}")` : hex;
}

/** A key for error messages: printable ASCII as-is, else hex. */
export function describeKey(key: string): string {
  return /^[\x20-\x7e]*$/.test(key) ? JSON.stringify(key) : `0x${Buffer.from(key, 'latin1').toString('hex')}`;
}

class Decoder {
  pos = 0;
  infoSpan: Span | undefined;

  constructor(private readonly b: Uint8Array) {}

  private peek(): number {
    const c = this.b[this.pos];
    if (c === undefined) throw new BencodeError(this.pos, `unexpected end of data at byte ${this.pos}`);
    return c;
  }

  value(depth: number): BValue {
    const c = this.peek();
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.string();
    if (c === CH_L || c === CH_D) {
      if (depth >= MAX_DEPTH) {
        throw new BencodeError(this.pos, `lists and dictionaries nested deeper than ${MAX_DEPTH} levels at byte ${this.pos}`);
      }
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    throw new BencodeError(this.pos, `unexpected byte ${describeByte(c)} at byte ${this.pos}`);
  }

  private integer(): number | bigint {
    const start = this.pos;
    this.pos++; // 'i'
    const end = this.b.indexOf(CH_E, this.pos);
    if (end < 0) throw new BencodeError(start, `integer at byte ${start} has no end marker "e"`);
    const text = latin1(this.b.subarray(this.pos, end));
    if (!/^-?\d+$/.test(text)) {
      throw new BencodeError(start, `integer ${JSON.stringify(abbreviate(text))} at byte ${start} is not a decimal number`);
    }
    if (/^-?0\d/.test(text) || text === '-0') {
      throw new BencodeError(start, `integer ${JSON.stringify(abbreviate(text))} at byte ${start} is not canonical (leading zero or -0)`);
    }
    if (text.replace('-', '').length > MAX_INT_DIGITS) {
      throw new BencodeError(start, `integer at byte ${start} has more than ${MAX_INT_DIGITS} digits`);
    }
    this.pos = end + 1;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }

  private string(): Uint8Array {
    const start = this.pos;
    const colon = this.b.indexOf(CH_COLON, this.pos);
    if (colon < 0) throw new BencodeError(start, `byte string at byte ${start} has no ":" after its length`);
    const text = latin1(this.b.subarray(this.pos, colon));
    if (!/^\d+$/.test(text)) {
      throw new BencodeError(start, `byte string length ${JSON.stringify(abbreviate(text))} at byte ${start} is not a decimal number`);
    }
    if (text.length > 1 && text[0] === '0') {
      throw new BencodeError(start, `byte string length ${JSON.stringify(abbreviate(text))} at byte ${start} has a leading zero`);
    }
    const len = Number(text);
    const dataStart = colon + 1;
    if (!Number.isSafeInteger(len) || len > this.b.length - dataStart) {
      throw new BencodeError(
        start,
        `byte string at byte ${start} declares length ${abbreviate(text)}, past the end of the data (${this.b.length - dataStart} bytes left)`,
      );
    }
    this.pos = dataStart + len;
    return this.b.subarray(dataStart, this.pos);
  }

  private list(depth: number): BList {
    this.pos++; // 'l'
    const out: BValue[] = [];
    while (this.peek() !== CH_E) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    const start = this.pos;
    this.pos++; // 'd'
    const out = new Map<string, BValue>();
    let prev: Uint8Array | undefined;
    while (this.peek() !== CH_E) {
      const keyAt = this.pos;
      const c = this.peek();
      if (c < CH_0 || c > CH_9) {
        throw new BencodeError(keyAt, `dictionary key at byte ${keyAt} is not a byte string (found ${describeByte(c)})`);
      }
      const keyBytes = this.string();
      const key = latin1(keyBytes);
      if (prev) {
        const cmp = Buffer.compare(prev, keyBytes);
        if (cmp === 0) throw new BencodeError(keyAt, `duplicate dictionary key ${describeKey(key)} at byte ${keyAt}`);
        if (cmp > 0) {
          throw new BencodeError(
            keyAt,
            `dictionary keys are not sorted: ${describeKey(key)} at byte ${keyAt} comes after ${describeKey(latin1(prev))}`,
          );
        }
      }
      prev = keyBytes;
      const valueStart = this.pos;
      const value = this.value(depth);
      if (depth === 1 && start === 0 && key === INFO_KEY) this.infoSpan = { start: valueStart, end: this.pos };
      out.set(key, value);
    }
    this.pos++;
    return out;
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function abbreviate(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}...` : s;
}
