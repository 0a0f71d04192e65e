/**
 * hashWords (rolling-hash.ts) of many whole blocks at once, in WebAssembly
 * SIMD: the source index (source-index.ts) and the newer image's blocks that
 * no run gives (two-way.ts) hash every block of an image, some 0.3 CPU s of
 * publish --previous on the 348 MiB DVD pair in JavaScript.
 *
 * The same two hashes, to the bit: hashPair's four lanes (bytes 4k+j in lane
 * j, each a polynomial in P^4) are the four lanes of one i32x4 vector, and
 * each of those is split again by word k mod 4 into four accumulators, each a
 * polynomial in P^16, so the four vector multiplications of a 16-byte step
 * do not wait for each other; at the block's end they are combined with
 * P^12, P^8, P^4, 1 into the lanes, and the lanes with P^3, P^2, P, 1 (the
 * rolling hash) and Q^3, Q^2, Q, 1 (the second hash). All modulo 2^32, as
 * Math.imul. The module is a few hundred bytes, assembled below (no tool
 * chain); without WebAssembly SIMD, blockHasher returns undefined and the
 * callers keep hashWords.
 */
import { BLOCK, P, Q } from './rolling-hash.js';

/** The WebAssembly API used here (the compiler's lib has no WebAssembly types). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: { hash: (at: number, n: number, out: number) => void } };
  Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}

const PAGE = 65536;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

function pow(x: number, n: number): number {
  let r = 1;
  for (let i = 0; i < n; i++) r = Math.imul(r, x);
  return r;
}

// Opcodes (the core and SIMD tables of the WebAssembly specification).
const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const I32_CONST = 0x41;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = [...simd(0x00), 0, 0];
const V128_CONST = simd(0x0c);
const I32X4_EXTRACT = simd(0x1b);
const I16X8_EXTEND_LOW_U8 = simd(0x89);
const I16X8_EXTEND_HIGH_U8 = simd(0x8a);
const I32X4_EXTEND_LOW_U16 = simd(0xa9);
const I32X4_EXTEND_HIGH_U16 = simd(0xaa);
const I32X4_ADD = simd(0xae);
const I32X4_MUL = simd(0xb5);

/** A v128.const of four 32-bit lanes. */
function lanes(a: number, b: number, c: number, d: number): number[] {
  const bytes = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
  return [...V128_CONST, ...bytes];
}

/**
 * hash(at, n, out): the rolling and second hash of the n blocks at byte `at`
 * of the memory, as 32-bit pairs from byte `out` on.
 * Locals: 0 at, 1 n, 2 out, 3 end, 4 block end; v128: 5-8 accumulators,
 * 9 the bytes loaded, 10 half of them widened, 11 the lanes, 12-17 constants.
 */
function hashFunction(): number[] {
  const p4 = pow(P, 4);
  const hsum = (c: number): number[] => [GET, 11, GET, c, ...I32X4_MUL, TEE, 9, ...I32X4_EXTRACT, 0, GET, 9, ...I32X4_EXTRACT, 1, 0x6a, GET, 9, ...I32X4_EXTRACT, 2, 0x6a, GET, 9, ...I32X4_EXTRACT, 3, 0x6a];
  const step = (acc: number, widen: number[]): number[] => [GET, acc, GET, 12, ...I32X4_MUL, GET, 10, ...widen, ...I32X4_ADD, SET, acc];
  const q2 = Math.imul(Q, Q);
  const p2 = Math.imul(P, P);
  const body = [
    ...lanes(pow(p4, 4), pow(p4, 4), pow(p4, 4), pow(p4, 4)), SET, 12,
    ...lanes(pow(p4, 3), pow(p4, 3), pow(p4, 3), pow(p4, 3)), SET, 13,
    ...lanes(pow(p4, 2), pow(p4, 2), pow(p4, 2), pow(p4, 2)), SET, 14,
    ...lanes(p4, p4, p4, p4), SET, 15,
    ...lanes(Math.imul(p2, P), p2, P, 1), SET, 16,
    ...lanes(Math.imul(q2, Q), q2, Q, 1), SET, 17,
    GET, 0, GET, 1, I32_CONST, ...sleb(Math.log2(BLOCK)), 0x74, 0x6a, SET, 3, // end = at + n * BLOCK
    0x02, 0x40, 0x03, 0x40, // block, loop (each block)
    GET, 0, GET, 3, 0x4f, 0x0d, 1, // at >= end: done
    ...lanes(0, 0, 0, 0), TEE, 5, TEE, 6, TEE, 7, SET, 8,
    GET, 0, I32_CONST, ...sleb(BLOCK), 0x6a, SET, 4,
    0x03, 0x40, // loop (each 16 bytes)
    GET, 0, ...V128_LOAD, TEE, 9, ...I16X8_EXTEND_LOW_U8, SET, 10,
    ...step(5, I32X4_EXTEND_LOW_U16), ...step(6, I32X4_EXTEND_HIGH_U16),
    GET, 9, ...I16X8_EXTEND_HIGH_U8, SET, 10,
    ...step(7, I32X4_EXTEND_LOW_U16), ...step(8, I32X4_EXTEND_HIGH_U16),
    GET, 0, I32_CONST, 16, 0x6a, TEE, 0, GET, 4, 0x49, 0x0d, 0, // at < block end: again
    0x0b,
    // lanes = acc0 * P^12 + acc1 * P^8 + acc2 * P^4 + acc3
    GET, 5, GET, 13, ...I32X4_MUL, GET, 6, GET, 14, ...I32X4_MUL, ...I32X4_ADD, GET, 7, GET, 15, ...I32X4_MUL, ...I32X4_ADD, GET, 8, ...I32X4_ADD, SET, 11,
    GET, 2, ...hsum(16), 0x36, 2, 0, // i32.store out
    GET, 2, ...hsum(17), 0x36, 2, 4, // i32.store out + 4
    GET, 2, I32_CONST, 8, 0x6a, SET, 2,
    0x0c, 0, // next block
    0x0b, 0x0b, // end loop, end block
    0x0b, // end function
  ];
  const locals = [2, 2, 0x7f, 13, 0x7b]; // two entries: 2 x i32, 13 x v128
  return [...uleb(locals.length + body.length), ...locals, ...body];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function moduleBytes(): Uint8Array {
  const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type (i32, i32, i32) -> ()
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]), // import memory m.mem, at least one page
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('hash'), 0x00, 0]),
    ...section(10, [1, ...hashFunction()]),
  ]);
}

let compiled: object | null | undefined;

function wasmModule(): object | undefined {
  if (compiled === undefined) {
    try {
      compiled = new (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null; // no WebAssembly SIMD here
    }
  }
  return compiled ?? undefined;
}

/** Hashes whole blocks read into `buf` (block i at byte i * BLOCK). */
export interface BlockHasher {
  /** Room for `bytes` bytes, in the module's memory: read the blocks straight into it. */
  readonly buf: Buffer;
  /** Hashes blocks [first, first + n) of `buf`: block first + i's rolling hash is out[2i], its second hash out[2i+1]. */
  hash(first: number, n: number): Int32Array;
}

/** A hasher with room for `bytes` bytes (a multiple of BLOCK), or undefined where WebAssembly SIMD is missing. */
export function blockHasher(bytes: number): BlockHasher | undefined {
  const mod = wasmModule();
  if (!mod) return undefined;
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  const pages = Math.ceil((bytes + (bytes / BLOCK) * 8) / PAGE);
  const memory = new wasm.Memory({ initial: pages, maximum: pages });
  const { hash } = new wasm.Instance(mod, { m: { mem: memory } }).exports;
  const buf = Buffer.from(memory.buffer, 0, bytes);
  const out = new Int32Array(memory.buffer, bytes, (bytes / BLOCK) * 2);
  return {
    buf,
    hash(first: number, n: number): Int32Array {
      hash(first * BLOCK, n, bytes);
      return out;
    },
  };
}
