/**
 * The fuzzer's inputs: input number `index` of a target is a pure function
 * of (run seed, target name, index), so any one of a million can be made
 * again alone (`npm run fuzz -- TARGET --index N`).
 *
 * The first inputs are the seeds themselves; every later one takes a seed
 * (or two, to splice) and applies 1-8 mutations, most of them inside the
 * seed's hot ranges (the bytes a parser reads: an ISO's metadata, a reply's
 * header) when the target names them. Mutations: bit flips, interesting
 * bytes and 16/32-bit integers (both byte orders), decimal numbers rewritten
 * (bencode lengths, header fields), dictionary tokens inserted, runs
 * deleted, duplicated or copied over, truncation and splicing.
 */
import { mulberry32 } from '../helpers/random.js';

/** A seed input and where mutations matter most (half-open byte ranges; none: anywhere). */
export interface Seed {
  readonly bytes: Uint8Array;
  readonly hot?: readonly { readonly start: number; readonly end: number }[];
  /** How often it is picked relative to the others (default 1): valid seeds reach deeper than defect fixtures. */
  readonly weight?: number;
}

/** The seed a draw `x` in [0, 1) picks, by weight. */
function pick(seeds: readonly Seed[], x: number): Seed {
  let total = 0;
  for (const s of seeds) total += s.weight ?? 1;
  let at = x * total;
  for (const s of seeds) {
    at -= s.weight ?? 1;
    if (at < 0) return s;
  }
  return seeds[seeds.length - 1]!;
}

/** mulberry32 (helpers/random.ts): 32-bit state, floats in [0, 1). */
export const prng = mulberry32;

/** FNV-1a of a string: the target's part of every input's state. */
export function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** murmur3's finalizer over the three parts: neighbouring indexes give unrelated streams. */
function mix(seed: number, name: number, index: number): number {
  let h = (seed ^ Math.imul(name, 0x9e3779b1) ^ Math.imul(index, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x2d, 0x30, 0x39, 0x3a, 0x65, 0x69, 0x6c, 0x64, 0x0a, 0x0d];
const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const NUMBERS = ['0', '1', '-1', '-0', '00', '7', '255', '256', '65535', '65536', '2147483647', '4294967296', '9007199254740993', '99999999999999999999', '1e9', ''];

/** In-place mutations only (flip, byte, integer, copy-over), and a truncation now and then: for formats addressed by absolute offset (ISO sectors), where an insertion shifts everything after it. */
const IN_PLACE_OPS = [0, 1, 2, 7, 0, 1, 2, 7, 0, 1, 2, 7, 0, 1, 2, 7, 0, 1, 2, 8];

/** Input `index` of a target (see the module comment). */
export function inputAt(seeds: readonly Seed[], dictionary: readonly Uint8Array[], runSeed: number, target: string, index: number, inPlace = false): Uint8Array {
  if (seeds.length === 0) return new Uint8Array(0);
  // Copies, always: a seed read from a file is a Buffer, whose slice() is a view, and a mutation must never reach its seed.
  if (index < seeds.length) return new Uint8Array(seeds[index]!.bytes);
  const r = prng(mix(runSeed, hashName(target), index));
  const int = (n: number): number => Math.floor(r() * n);
  const seed = pick(seeds, r());
  const maxLen = Math.max(2 * seed.bytes.length, seed.bytes.length + 4096);
  let b: Uint8Array = new Uint8Array(seed.bytes);
  const hot = seed.hot && seed.hot.length > 0 ? seed.hot : undefined;
  const pos = (len = b.length): number => {
    if (hot && r() < 0.85) {
      const h = hot[int(hot.length)]!;
      const p = h.start + int(Math.max(1, h.end - h.start));
      if (p <= len) return p;
    }
    return int(len + 1);
  };
  const splice = (at: number, remove: number, insert: Uint8Array): void => {
    const cut = Math.min(remove, b.length - at);
    const out = new Uint8Array(b.length - cut + insert.length);
    out.set(b.subarray(0, at), 0);
    out.set(insert, at);
    out.set(b.subarray(at + cut), at + insert.length);
    b = out;
  };
  // Mostly one or two mutations, sometimes up to eight.
  const count = Math.min(8, 1 + Math.floor(-Math.log2(1 - r())));
  for (let k = 0; k < count; k++) {
    const op = inPlace ? IN_PLACE_OPS[int(IN_PLACE_OPS.length)]! : int(11);
    if (b.length === 0 && op < 9) {
      splice(0, 0, Uint8Array.of(int(256)));
      continue;
    }
    switch (op) {
      case 0: { // flip a bit
        const p = Math.min(pos(), b.length - 1);
        b[p] = b[p]! ^ (1 << int(8));
        break;
      }
      case 1: { // an interesting or random byte
        const p = Math.min(pos(), b.length - 1);
        b[p] = r() < 0.6 ? INTERESTING_8[int(INTERESTING_8.length)]! : int(256);
        break;
      }
      case 2: { // an interesting 16- or 32-bit integer, either byte order
        const width = r() < 0.5 ? 2 : 4;
        const p = Math.min(pos(), Math.max(0, b.length - width));
        let v = INTERESTING_32[int(INTERESTING_32.length)]!;
        if (r() < 0.2) v = (b.length - p) >>> 0;
        const le = r() < 0.5;
        for (let i = 0; i < width && p + i < b.length; i++) {
          const shift = 8 * (le ? i : width - 1 - i);
          b[p + i] = (v >>> shift) & 0xff;
        }
        break;
      }
      case 3: { // rewrite the decimal number nearest a position (bencode lengths and integers, header fields)
        let p = Math.min(pos(), b.length - 1);
        let q = p;
        while (q < b.length && q - p < 64 && !isDigit(b[q]!)) q++;
        if (q === b.length || !isDigit(b[q]!)) break;
        p = q;
        while (q < b.length && isDigit(b[q]!)) q++;
        const text = r() < 0.7 ? NUMBERS[int(NUMBERS.length)]! : String(int(1 << 30));
        splice(p, q - p, new TextEncoder().encode(text));
        break;
      }
      case 4: { // insert a dictionary token or random bytes
        const token = dictionary.length > 0 && r() < 0.6 ? dictionary[int(dictionary.length)]! : randomBytes(1 + int(16), r);
        splice(pos(), 0, token);
        break;
      }
      case 5: { // delete a run
        const p = Math.min(pos(), b.length - 1);
        splice(p, 1 + int(r() < 0.8 ? 16 : 512), new Uint8Array(0));
        break;
      }
      case 6: { // duplicate a run in place
        const p = Math.min(pos(), b.length - 1);
        const run = b.slice(p, p + 1 + int(256));
        splice(p, 0, run);
        break;
      }
      case 7: { // copy a run over another place
        const from = int(b.length);
        const run = b.slice(from, from + 1 + int(256));
        const to = Math.min(pos(), b.length - 1);
        b.set(run.subarray(0, b.length - to), to);
        break;
      }
      case 8: { // truncate
        b = b.slice(0, pos());
        break;
      }
      default: { // splice: keep a prefix of this input, then the tail of another seed
        const other = pick(seeds, r()).bytes;
        const p = pos();
        const q = int(other.length + 1);
        b = concat(b.subarray(0, p), other.subarray(q));
      }
    }
    if (b.length > maxLen) b = b.slice(0, maxLen);
  }
  return b;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function randomBytes(n: number, r: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
