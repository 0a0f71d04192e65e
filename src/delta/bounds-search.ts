/**
 * The binary search of tables that keep rows of numbers in one typed array,
 * `stride` numbers a row, a row's start at its first and its end at its
 * second (a plan's segment table: start, end, source offset; the planning
 * bytes' range cache: start, end). Rows sorted and disjoint.
 */

/** Index of the first of `count` rows whose end is after `pos` (`count` when none is). */
export function firstEndingAfter(bounds: ArrayLike<number>, stride: number, count: number, pos: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[stride * mid + 1]! <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
