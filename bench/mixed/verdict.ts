/**
 * The mixed bench's statistics: does (b), a sync with one peer beside a web
 * seed, take longer than (a), the web seed alone? Pure: numbers in, a verdict
 * out; bench/mixed-bench.ts measures, test/bench/mixed-verdict.test.ts
 * tables this.
 *
 * The design. Each round runs (a), (b) and (a'), a second (a), back to back
 * in an order rotated every round (a b a', b a' a, a' a b: each variant
 * takes each place once in three rounds), so a load that rises or falls
 * through a round weighs on every variant alike. A figure (wall seconds, CPU
 * seconds) is read on a log scale: z = ln(seconds). The model is the one of
 * a paired design with a multiplicative effect: in round i,
 * z(b) = mu_i + theta + e, z(a) = mu_i + e', z(a') = mu_i + e'', the three
 * e of a round exchangeable (no variant owns a place: the rotation). theta
 * is what the peer does to the figure; exp(theta) is the ratio b/a.
 *
 * The interval (a randomization test inverted into a confidence interval,
 * Lehmann & Romano, Testing Statistical Hypotheses, 3rd ed., sections 5.8
 * and 15.2; Ernst, "Permutation methods: a basis for exact inference",
 * Statistical Science 19 (2004)): if theta were theta0, the three
 * values of a round, once theta0 is taken off (b), could have come in any
 * of the labellings, so the statistic T = sum_i (z_i(b) - theta0 - mean of
 * the other two) is, among the 3^n values it takes when each round picks
 * which of its three runs plays (b), at a uniformly random rank. theta0 is
 * rejected on the upper side when the observed T is among the lowest
 * floor(alpha * 3^n). T against each labelling k is linear in theta0, and
 * they cross at theta_k = the mean, over the rounds where k gave (b)'s part
 * to (a) or (a'), of z(b) - z(that run): the interval's ends are order
 * statistics of these means (with two runs a round, the paired
 * permutation test, they are Hartigan's subsample means: Hartigan, "Using
 * subsample values as typical values", JASA 64 (1969)). Exact, no seed,
 * for up to EXACT_ARRANGEMENTS labellings; beyond, MONTE_CARLO_ARRANGEMENTS
 * drawn with a fixed seed (the randomization test stays exact in level with
 * the observed labelling counted, Phipson & Smyth, Stat. Appl. Genet. Mol.
 * Biol. 9 (2010)). Why this and not a t-interval or a bootstrap: wall times
 * on a loaded machine have long tails (one round's b/a swung from 0.85 to
 * 2.2), a bootstrap of 3-7 rounds covers less than it says, and a
 * distribution-free interval of the pairs b/a alone (sign test, Wilcoxon)
 * needs 5 rounds for 90 %; using (a') in the labellings gives 3^n of them,
 * so 3 rounds give a 92.6 % interval and 4 a 90.1 % one.
 *
 * The verdict (equivalence testing as in Schuirmann's two one-sided tests,
 * J. Pharmacokin. Biopharm. 15 (1987): a claim "no worse than a margin" is
 * shown when the 1 - 2 alpha interval lies inside the margin; then
 * superiority may be tested at no cost, the closed-testing order of the
 * EMA's "Points to consider on switching between superiority and
 * non-inferiority", 2000). With U and L the interval's ends (as ratios b/a)
 * and delta the margin, declared before the run:
 *
 *   faster                 U < 1: (b) faster, beyond the noise;
 *   no slower (within d)   U <= 1 + delta;
 *   slower                 L > 1 (and U > 1 + delta): (b) slower, beyond
 *                          the noise, and not shown to be within delta;
 *   undecided              L <= 1 < 1 + delta < U: the noise is wider than
 *                          the question; more rounds narrow the interval.
 *
 * The same build measured against itself, (a')/(a), gets the same kind of
 * interval (two runs a round: the paired permutation test, 87.5 % with 4
 * rounds, 90 % from 5); it should hold 1 and says how much noise the run
 * had (the A/A check, printed beside the verdict), but takes no part in the
 * verdict: its noise is already in (b)'s interval, which labels (a') as
 * (b) as often as (a).
 */

/** One-sided level of each of the two tests: a 90 % interval. */
export const ALPHA = 0.05;
/** The equivalence margin: "no slower" means at most 3 % slower. */
export const MARGIN = 0.03;
/** Labellings enumerated exactly up to this many (3^11 = 177,147 of them is 11 rounds). */
export const EXACT_ARRANGEMENTS = 262_144;
/** Labellings drawn beyond that, besides the observed one. */
export const MONTE_CARLO_ARRANGEMENTS = 99_999;
/** The seed of those draws: the same rounds always give the same interval. */
const SEED = 0x1505_7c;

export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** A ratio interval of the treated run over its controls. */
export interface Interval {
  /** Ends, as ratios (exp of the log-scale ends); -Infinity..Infinity-free: NaN when no round is usable. */
  readonly lo: number;
  readonly hi: number;
  /** exp(mean over rounds of z(treated) - mean z(controls)): the geometric-mean ratio. */
  readonly estimate: number;
  /** Two-sided coverage, 1 - 2r/N; below 1 - 2 alpha when the rounds are too few for it. */
  readonly confidence: number;
  /** Rounds used (all of a round's figures finite and above 0). */
  readonly rounds: number;
  /** Labellings the ends were read from (N); `exact` when all of them. */
  readonly arrangements: number;
  readonly exact: boolean;
}

/** mulberry32: a small seeded generator, enough to draw labellings. */
function generator(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The randomization interval of the treated figure over its controls.
 * `rounds[i]` is one round: its treated figure first, then its controls
 * (every round as many); figures are positive (seconds). A round with a
 * figure that is not finite or not above 0 is left out.
 */
export function shiftInterval(rounds: readonly (readonly number[])[], alpha = ALPHA): Interval {
  const slots = rounds[0]?.length ?? 0;
  if (rounds.some((r) => r.length !== slots) || (rounds.length > 0 && slots < 2)) throw new Error('shiftInterval: every round needs its treated figure and the same number (>= 1) of controls');
  const used = rounds.filter((r) => r.every((x) => Number.isFinite(x) && x > 0));
  const n = used.length;
  // d[i][j]: z(treated) - z(control j) of round i.
  const d = used.map((r) => r.slice(1).map((x) => Math.log(r[0]!) - Math.log(x)));
  const estimate = Math.exp(d.reduce((s, di) => s + di.reduce((t, x) => t + x, 0) / di.length, 0) / n);
  const none: Interval = { lo: NaN, hi: NaN, estimate: NaN, confidence: 0, rounds: 0, arrangements: 0, exact: true };
  if (n === 0) return none;

  const total = slots ** n;
  const exact = total <= EXACT_ARRANGEMENTS;
  // theta of each labelling but the observed one (and, drawn, its copies, counted in `same`).
  const thetas: number[] = [];
  let same = 0;
  if (exact) {
    same = 1;
    const walk = (i: number, sum: number, count: number): void => {
      if (i === n) {
        if (count > 0) thetas.push(sum / count);
        return;
      }
      walk(i + 1, sum, count); // round i keeps its labels
      for (const x of d[i]!) walk(i + 1, sum + x, count + 1);
    };
    walk(0, 0, 0);
  } else {
    const random = generator(SEED);
    same = 1; // the observed labelling, always one of the N
    for (let k = 0; k < MONTE_CARLO_ARRANGEMENTS; k++) {
      let sum = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        const pick = Math.floor(random() * slots);
        if (pick > 0) {
          sum += d[i]![pick - 1]!;
          count++;
        }
      }
      if (count > 0) thetas.push(sum / count);
      else same++;
    }
  }
  const arrangements = thetas.length + same;
  // Reject theta0 above when at most r labellings give a T at or below the
  // observed one: `same` always do, and each theta_k >= theta0.
  const r = Math.max(Math.floor(alpha * arrangements), same); // too few labellings: the widest ends, at their own (lower) confidence
  const q = r - same; // theta_k allowed at or above theta0
  thetas.sort((x, y) => x - y);
  if (q < 0 || thetas.length === 0) return { ...none, estimate, rounds: n, arrangements, exact };
  const hi = thetas[thetas.length - 1 - q]!;
  const lo = thetas[q]!;
  return { lo: Math.exp(lo), hi: Math.exp(hi), estimate, confidence: 1 - (2 * r) / arrangements, rounds: n, arrangements, exact };
}

export type Verdict = 'faster' | 'no slower' | 'slower' | 'undecided';


/** (a) web seed alone, (b) the same plus the peer, (a2) = (a'), (a) again. */
export type Variant = 'a' | 'b' | 'a2';

/**
 * The order of one round's runs: each build's three in a row, turned every
 * round (a b a', b a' a, a' a b: each takes each place once in three rounds,
 * which the interval assumes: no variant owns a place); with two builds,
 * their turns swap every round.
 */
export function roundOrder<B>(builds: readonly B[], round: number): { build: B; variant: Variant }[] {
  const cycle: Variant[] = ['a', 'b', 'a2'];
  const turned = [...cycle.slice(round % 3), ...cycle.slice(0, round % 3)];
  const order = round % 2 === 0 ? builds : [...builds].reverse();
  return order.flatMap((build) => turned.map((variant) => ({ build, variant })));
}

/** One round of a build in one scenario: its three runs' figures. */
export interface RoundFigures {
  readonly a: number;
  readonly b: number;
  /** (a'), the second web-seed-alone run. */
  readonly a2: number;
}

export interface Decision {
  readonly verdict: Verdict;
  /** (b) over (a) and (a'): the verdict's interval. */
  readonly b: Interval;
  /** (a') over (a): the noise of one build against itself. */
  readonly aa: Interval;
  /** Medians of the per-round ratios b/a and a'/a. */
  readonly medianBA: number;
  readonly medianAA: number;
  readonly margin: number;
  /** The verdict with the rule that gave it, one line. */
  readonly rule: string;
  /** The A/A check, one line: whether the interval of a'/a holds 1. */
  readonly control: string;
}

const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The verdict of one figure over the rounds (see the module comment). */
export function decide(rounds: readonly RoundFigures[], margin = MARGIN, alpha = ALPHA): Decision {
  const b = shiftInterval(rounds.map((r) => [r.b, r.a, r.a2]), alpha);
  const aa = shiftInterval(rounds.map((r) => [r.a2, r.a]), alpha);
  const control = !Number.isFinite(aa.lo)
    ? 'A/A: no interval of a\'/a'
    : aa.lo <= 1 && aa.hi >= 1
      ? `A/A: a'/a ${f3(aa.lo)}-${f3(aa.hi)} (${pct(aa.confidence)}) holds 1`
      : `A/A: a'/a ${f3(aa.lo)}-${f3(aa.hi)} (${pct(aa.confidence)}) excludes 1: the same build differed from itself (load drift, or the ${pct(1 - aa.confidence)} of bad luck)`;
  const base = { b, aa, medianBA: median(rounds.map((r) => r.b / r.a)), medianAA: median(rounds.map((r) => r.a2 / r.a)), margin, control };
  const level = 1 - 2 * alpha;
  const bound = 1 + margin;
  const shown = `${pct(b.confidence)} interval of b/a ${f3(b.lo)}-${f3(b.hi)}`;
  if (!(b.confidence >= level - 1e-12)) {
    return { ...base, verdict: 'undecided', rule: `undecided: ${b.rounds} usable round(s) allow no ${(level * 100).toFixed(0)} % interval (3 rounds do)` };
  }
  if (b.hi < 1) return { ...base, verdict: 'faster', rule: `faster: ${shown} lies below 1` };
  if (b.hi <= bound) return { ...base, verdict: 'no slower', rule: `no slower (within ${pct(margin)}): ${shown}, upper end <= ${f3(bound)}` };
  if (b.lo > 1) return { ...base, verdict: 'slower', rule: `slower: ${shown} lies above 1 and reaches past ${f3(bound)}` };
  const noise = Math.sqrt(b.hi / b.lo) - 1;
  const why = noise > margin ? `noise +-${pct(noise)} > margin ${pct(margin)}` : `interval +-${pct(noise)} holds both 1 and ${f3(bound)}`;
  return { ...base, verdict: 'undecided', rule: `undecided (${why}, run more rounds): ${shown}` };
}

export interface Claim {
  readonly verdict: 'HOLDS' | 'DOES NOT HOLD' | 'UNDECIDED';
  /** Why, one line. */
  readonly rule: string;
}

/**
 * The claim "(b) is no slower than (a)" over k scenarios. It HOLDS when
 * every scenario is "no slower" or "faster" at alpha: an intersection-union
 * test, whose level is alpha with no correction (Berger, Technometrics 24,
 * 1982). It DOES NOT HOLD when some scenario is "slower" at alpha / k
 * (Bonferroni): with k scenarios, one of them lands "slower" by chance up
 * to k times as often as one does, and at alpha = 5 % and 4 scenarios that
 * would refute the claim for identical work in up to 20 % of runs. Else
 * UNDECIDED, naming any scenario slower at alpha alone.
 */
export function claim(scenarios: readonly { readonly name: string; readonly rounds: readonly RoundFigures[] }[], margin = MARGIN, alpha = ALPHA): Claim {
  const k = scenarios.length;
  if (k === 0) return { verdict: 'UNDECIDED', rule: 'no scenario ran' };
  const each = scenarios.map((sc) => ({ name: sc.name, d: decide(sc.rounds, margin, alpha) }));
  if (each.every(({ d }) => d.verdict === 'faster' || d.verdict === 'no slower')) {
    return { verdict: 'HOLDS', rule: `every scenario's 90 % interval of b/a ends at or below ${f3(1 + margin)} (an intersection-union test: the claim at ${pct(alpha)})` };
  }
  const family = alpha / k;
  const slower = scenarios.filter((sc) => decide(sc.rounds, margin, family).verdict === 'slower').map((sc) => sc.name);
  if (slower.length > 0) return { verdict: 'DOES NOT HOLD', rule: `${slower.join(', ')} slower at ${pct(family)} a side (Bonferroni over ${k} scenario(s))` };
  const alone = each.filter(({ d }) => d.verdict === 'slower').map(({ name }) => name);
  const open = each.filter(({ d }) => d.verdict === 'undecided').map(({ name }) => name);
  return {
    verdict: 'UNDECIDED',
    rule: [open.length ? `${open.join(', ')} undecided` : '', alone.length ? `${alone.join(', ')} slower at ${pct(alpha)} alone, not at the ${pct(family)} ${k} scenarios need` : ''].filter(Boolean).join('; '),
  };
}
