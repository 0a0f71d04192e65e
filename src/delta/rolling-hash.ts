/**
 * The matcher's hashes of a BLOCK-byte window (delta/matcher.ts): a 32-bit
 * polynomial hash that rolls one byte at a time (`roll`: the only place the
 * window moves), and a second, non-rolling hash computed only when the
 * rolling one hits, which tells collisions apart. Pure arithmetic, all
 * modulo 2^32 with Math.imul.
 */

/** Window and source block size: small enough to catch runs inside changed packages. */
export const BLOCK = 512;
/** Multiplier of the rolling hash (odd, well-mixed 32-bit constant). */
export const P = 0x01000193;
/** Weight of the lanes in the second, non-rolling hash (odd, well mixed). */
export const Q = 0x5bd1e995;
const Q2 = Math.imul(Q, Q);
const Q3 = Math.imul(Q2, Q);

function pow(p: number, n: number): number {
  let r = 1;
  for (let i = 0; i < n; i++) r = Math.imul(r, p);
  return r;
}
/** P^(BLOCK-1) mod 2^32, to remove the outgoing byte when rolling. */
const P_OUT = pow(P, BLOCK - 1);

/** Scratch output of hashPair: [rolling hash, second hash, 1 if the block has a non-zero byte]. */
export const pair = new Int32Array(3);

/**
 * The two hashes of the window at `at` and whether it is all zero, into
 * `pair`. The window is read in four independent lanes (bytes i = 4k+j in
 * lane j, each a polynomial in P^4), which the CPU runs in parallel; the
 * rolling hash h(P) = sum(buf[at+i] * P^(BLOCK-1-i)) mod 2^32 (the value the
 * rolling window has at `at`) is the lanes combined with P^3, P^2, P, 1, and
 * the second hash the same lanes combined with Q^3, Q^2, Q, 1: two blocks
 * whose rolling hashes collide have equal second hashes only if their lanes
 * also meet a second, independent condition. One multiplication per byte,
 * where a second polynomial in Q took two.
 */
export function hashPair(buf: Uint8Array, at: number): void {
  const p2 = Math.imul(P, P);
  const p3 = Math.imul(p2, P);
  const p4 = Math.imul(p2, p2);
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let any = 0;
  for (let i = at, end = at + BLOCK; i < end; i += 4) {
    const w = buf[i]!;
    const x = buf[i + 1]!;
    const y = buf[i + 2]!;
    const z = buf[i + 3]!;
    any |= w | x | y | z;
    a = (Math.imul(a, p4) + w) | 0;
    b = (Math.imul(b, p4) + x) | 0;
    c = (Math.imul(c, p4) + y) | 0;
    d = (Math.imul(d, p4) + z) | 0;
  }
  pair[0] = (Math.imul(a, p3) + Math.imul(b, p2) + Math.imul(c, P) + d) | 0;
  pair[1] = (Math.imul(a, Q3) + Math.imul(b, Q2) + Math.imul(c, Q) + d) | 0;
  pair[2] = any === 0 ? 0 : 1;
}

/** Whether this machine stores a 32-bit word's low byte first (every platform Node ships for but a few). */
export const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** 32-bit words per block. */
const BLOCK_WORDS = BLOCK / 4;

/**
 * hashPair of the block at byte `4 * word` of a buffer read as 32-bit words
 * (`words`, a little-endian Int32Array view of the same bytes): the same
 * three values, from one load per four bytes, each byte taken out of its word
 * with a shift and a mask, where hashPair loads (and bounds-checks) every
 * byte. For the blocks hashed whole, which start on a word boundary (the
 * source index, two-way.ts); the rolling window, at any byte, keeps
 * hashPair. Only on a little-endian machine (see wordsOf).
 */
export function hashWords(words: Int32Array, word: number): void {
  const p2 = Math.imul(P, P);
  const p3 = Math.imul(p2, P);
  const p4 = Math.imul(p2, p2);
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let any = 0;
  for (let i = word, end = word + BLOCK_WORDS; i < end; i++) {
    const v = words[i]!;
    any |= v;
    a = (Math.imul(a, p4) + (v & 0xff)) | 0;
    b = (Math.imul(b, p4) + ((v >>> 8) & 0xff)) | 0;
    c = (Math.imul(c, p4) + ((v >>> 16) & 0xff)) | 0;
    d = (Math.imul(d, p4) + (v >>> 24)) | 0;
  }
  pair[0] = (Math.imul(a, p3) + Math.imul(b, p2) + Math.imul(c, P) + d) | 0;
  pair[1] = (Math.imul(a, Q3) + Math.imul(b, Q2) + Math.imul(c, Q) + d) | 0;
  pair[2] = any === 0 ? 0 : 1;
}

/**
 * `buf` read as 32-bit words for hashWords, or undefined when hashWords
 * cannot read it (a big-endian machine, or a buffer not starting on a word
 * boundary): then hash with hashPair. One view per buffer, made once.
 */
export function wordsOf(buf: Uint8Array): Int32Array | undefined {
  if (!LITTLE_ENDIAN || buf.byteOffset % 4 !== 0) return undefined;
  return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
}

/** The rolling hash of the window moved one byte: `out` leaves at its front, `inb` enters at its back. */
export function roll(h: number, out: number, inb: number): number {
  return (Math.imul(h - Math.imul(out, P_OUT), P) + inb) | 0;
}
