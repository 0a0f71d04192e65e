/**
 * A synchronous raw LZ4 block decoder for EROFS clusters (the format of
 * lz4_Block_format.md: tokens, literal runs, 16-bit offsets, match lengths),
 * for the re-encoding of changed clusters (delta/reencode-old.ts), which
 * decodes an old file one cluster at a time, only where its bytes are needed,
 * inside a synchronous loop. lz4js (layouts/codecs.ts) is loaded on demand
 * and copies byte by byte; this one copies long literal runs and matches that
 * do not overlap with `set`/`copyWithin`. Every read and write is bounded:
 * a corrupt block gives -1, never a write outside `out[at, limit)`.
 */

/**
 * Decodes `src[from, to)` into `out` from `at` on, writing below `limit`.
 * Returns the number of bytes written, or -1 when the block is corrupt or
 * does not fit.
 */
export function decodeLz4Block(src: Uint8Array, from: number, to: number, out: Uint8Array, at: number, limit = out.length): number {
  let s = from;
  let d = at;
  while (s < to) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= to) return -1;
        b = src[s++]!;
        lit += b;
      }
    }
    if (lit > 0) {
      if (s + lit > to || d + lit > limit) return -1;
      if (lit < 32) for (let i = 0; i < lit; i++) out[d++] = src[s++]!;
      else {
        out.set(src.subarray(s, s + lit), d);
        s += lit;
        d += lit;
      }
    }
    // The last sequence has literals only.
    if (s >= to) break;
    if (s + 2 > to) return -1;
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d - at) return -1;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b = 255;
      while (b === 255) {
        if (s >= to) return -1;
        b = src[s++]!;
        len += b;
      }
    }
    if (d + len > limit) return -1;
    const m = d - offset;
    if (offset >= len && len >= 32) {
      out.copyWithin(d, m, m + len);
      d += len;
    } else {
      // Overlapping (a repeat of the last `offset` bytes) or short: byte by byte, as the format defines it.
      for (let i = 0; i < len; i++) out[d + i] = out[m + i]!;
      d += len;
    }
  }
  return d - at;
}
