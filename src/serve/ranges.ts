/**
 * HTTP byte ranges (RFC 9110 §14): parsing a `Range` header against a file
 * size. Pure: no I/O.
 *
 * Choices (all allowed by RFC 9110 §14.2):
 *   - a header of another unit or of invalid syntax is ignored (the whole
 *     file is served with 200), as the RFC requires of an unknown unit;
 *   - more than MAX_RANGES ranges, or ranges whose total exceeds
 *     MAX_RANGE_AMPLIFICATION × the file, are ignored too (a denial-of-service
 *     pattern: many overlapping ranges multiply what one request costs);
 *   - ranges past the end are dropped; when none is left, 416.
 */

/**
 * Most ranges served in one multipart reply; more is a denial-of-service
 * pattern (RFC 9110 §14.2). isosync's own web-seed client asks up to 200
 * per request (webseed/web-peer.ts), Apache's MaxRanges defaults to 200 and
 * nginx's max_ranges to no limit; the amplification bound below still caps
 * what one request costs.
 */
export const MAX_RANGES = 256;
/** Multi-range replies may repeat bytes (overlaps) up to this many file sizes; more and the Range is ignored. */
export const MAX_RANGE_AMPLIFICATION = 2;

/** An inclusive byte range [start, end], as HTTP writes it. */
export type ByteRange = [start: number, end: number];

/**
 * Parses a `Range` header: inclusive [start, end] pairs, 'unsatisfiable'
 * (answer 416), or undefined (no header, malformed, or too many: serve whole).
 */
export function parseRanges(header: string | undefined, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const parts = m[1]!.split(',');
  if (parts.length > MAX_RANGES) return undefined;
  const out: ByteRange[] = [];
  for (const p of parts) {
    const r = parseRange(`bytes=${p.trim()}`, size);
    if (r === undefined) return undefined;
    if (r !== 'unsatisfiable') out.push(r);
  }
  if (out.length === 0) return 'unsatisfiable';
  const total = out.reduce((n, [a, b]) => n + b - a + 1, 0);
  if (out.length > 1 && total > MAX_RANGE_AMPLIFICATION * Math.max(size, 1)) return undefined;
  return out;
}

/** Largest number accepted in a range: beyond it the value is meaningless for any file (2^53). */
const MAX_POSITION = Number.MAX_SAFE_INTEGER;

/** Parses one `bytes=a-b` range against a size: [start, end] inclusive, 'unsatisfiable', or undefined (serve whole). */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several or malformed ranges: serve whole (allowed by RFC 9110)
  const a = m[1] === '' ? undefined : Number(m[1]);
  const b = m[2] === '' ? undefined : Number(m[2]);
  if (a !== undefined && a > MAX_POSITION) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (a === undefined) {
    const suffix = b!;
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    start = Math.max(0, size - Math.min(suffix, size));
    end = size - 1;
  } else {
    start = a;
    end = b === undefined ? size - 1 : Math.min(b, size - 1);
    if (b !== undefined && b < a) return undefined; // "5-2" is invalid syntax: ignored (RFC 9110 §14.1.1)
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}
