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

/** The rolling hash of the window moved one byte: `out` leaves at its front, `inb` enters at its back. */
export function roll(h: number, out: number, inb: number): number {
  return (Math.imul(h - Math.imul(out, P_OUT), P) + inb) | 0;
}
