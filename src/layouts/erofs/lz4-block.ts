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
  // Short runs copied 4 bytes a step through these (most literal runs and matches of a cluster are a few bytes long).
  const sv = new DataView(src.buffer, src.byteOffset, src.length);
  const ov = new DataView(out.buffer, out.byteOffset, out.length);
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
      if (lit < 32) {
        const end = s + lit;
        for (; s + 4 <= end; s += 4, d += 4) ov.setInt32(d, sv.getInt32(s, true), true);
        while (s < end) out[d++] = src[s++]!;
      } else {
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
    } else if (offset >= 4) {
      // Short, or overlapping by 4 bytes or more: each 4 bytes read were written before (m + i + 3 < d + i).
      let i = 0;
      for (; i + 4 <= len; i += 4) ov.setInt32(d + i, ov.getInt32(m + i, true), true);
      for (; i < len; i++) out[d + i] = out[m + i]!;
      d += len;
    } else {
      // A repeat of the last 1 to 3 bytes: byte by byte, as the format defines it.
      for (let i = 0; i < len; i++) out[d + i] = out[m + i]!;
      d += len;
    }
  }
  return d - at;
}
