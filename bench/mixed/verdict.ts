/**
 * The mixed bench's arithmetic: medians, quartiles, and the verdict a set of
 * per-round ratios (b)/(a) allows. A ratio is one round's (b) over its (a),
 * the two run back to back, so the load they saw is about the same; on a
 * shared machine one round's wall ratio still swings from 0.85 to 2.2, so a
 * verdict reads the middle of the rounds, not one of them:
 *
 *   no slower    the median ratio is at most 1.00;
 *   slower       the lower quartile is above 1.00 (three rounds in four, at
 *                least, had (b) slower than (a));
 *   undecided    between the two: the median is above 1.00 but the rounds
 *                disagree; more rounds (ISOSYNC_BENCH_MIXED_ROUNDS) decide.
 */

export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export type Verdict = 'no slower' | 'slower' | 'undecided';

export function verdict(ratios: readonly number[]): Verdict {
  if (median(ratios) <= 1) return 'no slower';
  return quantile(ratios, 0.25) > 1 ? 'slower' : 'undecided';
}

/** "0.962 [0.91-1.04] (0.85-1.20)": median, interquartile range, range. */
export function spread(ratios: readonly number[]): string {
  const ok = ratios.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return 'n/a';
  const f = (x: number) => x.toFixed(2);
  return `${median(ok).toFixed(3)} [${f(quantile(ok, 0.25))}-${f(quantile(ok, 0.75))}] (${f(Math.min(...ok))}-${f(Math.max(...ok))})`;
}
