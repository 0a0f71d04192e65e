/**
 * Typed access to decoded bencode for the metainfo validator: each getter
 * names the field (`info.piece length`) and the bad value in its error, so
 * every malformed field gives one line a user can act on.
 *
 * Pure: no I/O.
 */
import { FieldError } from '../core/errors.js';
import { describeKey, type BDict, type BList, type BValue } from './bencode-decode.js';

/** A malformed field (core/errors.ts); parseMetainfo prefixes it with `Cannot read torrent "x":`. */
export { FieldError };

export function bad(field: string, detail: string): never {
  throw new FieldError(field, detail);
}

/** Byte strings shown in errors are cut to this many bytes. */
const SHOWN_BYTES = 32;

export function isDict(v: BValue | undefined): v is BDict {
  return v instanceof Map;
}

export function isList(v: BValue | undefined): v is BList {
  return Array.isArray(v);
}

export function kindOf(v: BValue): string {
  if (typeof v === 'number' || typeof v === 'bigint') return `an integer (${v})`;
  if (v instanceof Uint8Array) return `a byte string (${showBytes(v)})`;
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

/** Printable UTF-8 shown quoted, anything else as hex; long values cut. */
export function showBytes(b: Uint8Array): string {
  const cut = b.subarray(0, SHOWN_BYTES);
  const more = b.length > SHOWN_BYTES ? `... (${b.length} bytes)` : '';
  const text = utf8OrUndefined(cut);
  if (text !== undefined && /^[^\x00-\x1f\x7f]*$/.test(text)) return `${JSON.stringify(text)}${more}`;
  return `0x${Buffer.from(cut).toString('hex')}${more}`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8OrUndefined(b: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

export function field(parent: string, key: string): string {
  const k = /^[\x20-\x7e]*$/.test(key) ? key : describeKey(key);
  return parent ? `${parent}.${k}` : k;
}

export function getInt(d: BDict, key: string, parent: string): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  const name = field(parent, key);
  if (typeof v === 'bigint') bad(name, `${name} ${v} is out of range`);
  if (typeof v !== 'number') bad(name, `${name} is ${kindOf(v)}, expected an integer`);
  return v;
}

export function getBytes(d: BDict, key: string, parent: string): Uint8Array | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  const name = field(parent, key);
  if (!(v instanceof Uint8Array)) bad(name, `${name} is ${kindOf(v)}, expected a byte string`);
  return v;
}

/** A UTF-8 text field (BEP 3: strings are UTF-8). */
export function getText(d: BDict, key: string, parent: string): string | undefined {
  const v = getBytes(d, key, parent);
  return v === undefined ? undefined : textOf(v, field(parent, key));
}

export function textOf(v: BValue, name: string): string {
  if (!(v instanceof Uint8Array)) bad(name, `${name} is ${kindOf(v)}, expected a byte string`);
  const s = utf8OrUndefined(v);
  if (s === undefined) bad(name, `${name} ${showBytes(v)} is not valid UTF-8`);
  return s;
}

export function getList(d: BDict, key: string, parent: string): BList | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  const name = field(parent, key);
  if (!isList(v)) bad(name, `${name} is ${kindOf(v)}, expected a list`);
  return v;
}

export function getDict(d: BDict, key: string, parent: string): BDict | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  const name = field(parent, key);
  if (!isDict(v)) bad(name, `${name} is ${kindOf(v)}, expected a dictionary`);
  return v;
}

export function required<T>(v: T | undefined, name: string): T {
  if (v === undefined) bad(name, `${name} is missing`);
  return v;
}
