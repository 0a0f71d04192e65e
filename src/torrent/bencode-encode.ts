/**
 * A canonical bencode encoder (BEP 3): dictionary keys sorted by their raw
 * bytes, integers in shortest form. Canonical output is what makes the same
 * info dictionary hash to the same infohash everywhere.
 *
 * Accepted values:
 *   - number (a safe integer) or bigint -> integer
 *   - string -> its UTF-8 bytes; Uint8Array -> its bytes
 *   - array -> list
 *   - Map or plain object -> dictionary. Object keys are encoded as UTF-8;
 *     Map keys are taken as latin1 (one byte per char), which is how
 *     decodeBencode returns them, so decoded values re-encode to the same
 *     bytes. Entries whose value is `undefined` are left out.
 * Anything else (null, booleans, floats, functions) is a programming error.
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';

export type Bencodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Bencodable[]
  | ReadonlyMap<string, Bencodable>
  | { readonly [key: string]: Bencodable | undefined };

const enc = new TextEncoder();

export function encodeBencode(value: Bencodable | unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  write(value, parts, 0);
  const buf = Buffer.concat(parts);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Deeper than this is surely a cycle or a bug, not data. */
const MAX_ENCODE_DEPTH = 256;

function write(v: unknown, out: Uint8Array[], depth: number): void {
  if (depth > MAX_ENCODE_DEPTH) throw new IsosyncError('INTERNAL', 'Internal error: a value to bencode is nested too deep (a cycle?)');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new IsosyncError('INTERNAL', `Internal error: cannot bencode ${v}: not a safe integer`);
    out.push(enc.encode(`i${v}e`));
  } else if (typeof v === 'bigint') {
    out.push(enc.encode(`i${v}e`));
  } else if (typeof v === 'string') {
    const b = enc.encode(v);
    out.push(enc.encode(`${b.length}:`), b);
  } else if (v instanceof Uint8Array) {
    out.push(enc.encode(`${v.length}:`), v);
  } else if (Array.isArray(v)) {
    out.push(enc.encode('l'));
    for (const item of v) write(item, out, depth + 1);
    out.push(enc.encode('e'));
  } else if (v instanceof Map) {
    writeDict([...v.entries()].map(([k, val]) => [Buffer.from(String(k), 'latin1'), val]), out, depth);
  } else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    writeDict(Object.entries(v).map(([k, val]) => [Buffer.from(k, 'utf8'), val]), out, depth);
  } else {
    throw new IsosyncError('INTERNAL', `Internal error: cannot bencode ${v === null ? 'null' : typeof v}`);
  }
}

function writeDict(entries: [Buffer, unknown][], out: Uint8Array[], depth: number): void {
  const kept = entries.filter(([, val]) => val !== undefined).sort(([a], [b]) => Buffer.compare(a, b));
  for (let i = 1; i < kept.length; i++) {
    if (Buffer.compare(kept[i - 1]![0], kept[i]![0]) === 0) throw new IsosyncError('INTERNAL', 'Internal error: cannot bencode a dictionary with a duplicate key');
  }
  out.push(enc.encode('d'));
  for (const [k, val] of kept) {
    out.push(enc.encode(`${k.length}:`), k);
    write(val, out, depth + 1);
  }
  out.push(enc.encode('e'));
}
