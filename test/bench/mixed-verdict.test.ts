/**
 * The mixed bench's verdict (bench/mixed/verdict.ts), as tables: no bench
 * runs here. A table row is one round, "a b a'" in seconds; a simulated run
 * draws rounds from a seeded generator (a load factor per round, a noise per
 * run), so its outcome is the same on every machine.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { claim, decide, roundOrder, shiftInterval, type RoundFigures } from '../../bench/mixed/verdict.js';
import { mulberry32 } from '../helpers/random.js';

function table(...rows: string[]): RoundFigures[] {
  return rows.map((row) => {
    const [a, b, a2] = row.trim().split(/\s+/).map(Number);
    assert.ok(a && b && a2, `bad row ${row}`);
    return { a, b, a2 };
  });
}

/** n rounds: a per-round load factor (sd `load` in log) and per-run noise (sd `noise`); (b) is `effect` times slower. */
function simulate(random: () => number, n: number, o: { effect: number; noise: number; load?: number }): RoundFigures[] {
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rounds: RoundFigures[] = [];
  for (let i = 0; i < n; i++) {
    const mu = Math.log(10) + (o.load ?? 0.5) * normal();
    const run = () => Math.exp(mu + o.noise * normal());
    rounds.push({ a: run(), b: run() * o.effect, a2: run() });
  }
  return rounds;
}

describe('mixed bench: the randomization interval', () => {
  test('with two runs a round its ends are order statistics of the subsample means (Hartigan)', () => {
    // Paired log differences 1, 2, 4: subsample means 1, 1.5, 2, 7/3, 2.5, 3, 4; 8 labellings.
    const rounds = [1, 2, 4].map((d) => [Math.exp(d), 1]);
    const widest = shiftInterval(rounds, 0.125);
    assert.equal(widest.arrangements, 8);
    assert.ok(Math.abs(Math.log(widest.lo) - 1) < 1e-12 && Math.abs(Math.log(widest.hi) - 4) < 1e-12, `${widest.lo} ${widest.hi}`);
    assert.equal(widest.confidence, 0.75);
    const next = shiftInterval(rounds, 0.25);
    assert.ok(Math.abs(Math.log(next.lo) - 1.5) < 1e-12 && Math.abs(Math.log(next.hi) - 3) < 1e-12, `${next.lo} ${next.hi}`);
    assert.equal(next.confidence, 0.5);
  });

  test('its ends are where the randomization test starts to reject (inversion checked by brute force)', () => {
    const rounds = simulate(mulberry32(7), 4, { effect: 1.05, noise: 0.05 }).map((r) => [r.b, r.a, r.a2]);
    const iv = shiftInterval(rounds, 0.05);
    assert.equal(iv.arrangements, 81);
    const r = Math.floor(0.05 * 81);
    // Lower-tail p-value count of theta0, by labelling all 81 ways: how many T* are <= T observed.
    const atOrBelow = (theta0: number): number => {
      const z = rounds.map((x) => x.map((v, j) => Math.log(v) - (j === 0 ? theta0 : 0)));
      const t = (pick: number[]) => z.reduce((s, zi, i) => s + zi[pick[i]!]! - (zi.reduce((u, v) => u + v, 0) - zi[pick[i]!]!) / 2, 0);
      const observed = t([0, 0, 0, 0]);
      let count = 0;
      for (let k = 0; k < 81; k++) {
        const pick = [k % 3, Math.floor(k / 3) % 3, Math.floor(k / 9) % 3, Math.floor(k / 27) % 3];
        if (t(pick) <= observed + 1e-12) count++;
      }
      return count;
    };
    const hi = Math.log(iv.hi);
    assert.ok(atOrBelow(hi + 1e-9) <= r, 'just above the upper end is rejected');
    assert.ok(atOrBelow(hi - 1e-9) > r, 'just below the upper end is not');
    assert.ok(atOrBelow(Math.log(iv.estimate)) > r, 'the estimate is inside');
  });

  test('rounds with a missing figure are left out; beyond the exact limit the draws are seeded', () => {
    const rounds = [[10, 10, 10], [NaN, 10, 10], [11, 10, 10.2], [9.8, 10, 10.1]];
    assert.equal(shiftInterval(rounds).rounds, 3);
    const many = simulate(mulberry32(3), 14, { effect: 1, noise: 0.02 }).map((r) => [r.b, r.a, r.a2]);
    const one = shiftInterval(many);
    assert.equal(one.exact, false);
    assert.deepEqual(shiftInterval(many), one);
    assert.ok(one.lo < one.estimate && one.estimate < one.hi && Math.abs(one.confidence - 0.9) < 0.001, JSON.stringify(one));
  });
});

describe('mixed bench: the verdict', () => {
  test('the same work in (a), (b) and (a\'), little noise: no slower', () => {
    const d = decide(table('10.00 10.05 9.98', '12.10 12.00 12.08', '9.40 9.43 9.37', '11.00 10.96 11.05', '10.50 10.52 10.45', '13.00 13.06 12.97', '9.90 9.88 9.95'));
    assert.equal(d.verdict, 'no slower', d.rule);
    assert.match(d.rule, /^no slower \(within 3\.0%\)/);
    assert.ok(d.aa.lo < 1 && d.aa.hi > 1, 'the A/A interval holds 1');
    assert.match(d.control, /^A\/A: a'\/a .* holds 1$/);
  });

  test('(b) 10 % slower: slower', () => {
    const d = decide(table('10.00 11.02 9.98', '12.10 13.30 12.08', '9.40 10.31 9.37', '11.00 12.15 11.05', '10.50 11.50 10.45', '13.00 14.35 12.97', '9.90 10.86 9.95'));
    assert.equal(d.verdict, 'slower', d.rule);
    assert.ok(d.b.lo > 1.05 && d.b.hi < 1.15, `${d.b.lo}-${d.b.hi}`);
  });

  test('(b) 10 % faster: faster', () => {
    const d = decide(table('10.00 9.02 9.98', '12.10 10.90 12.08', '9.40 8.43 9.37', '11.00 9.95 11.05'));
    assert.equal(d.verdict, 'faster', d.rule);
  });

  test('wildly noisy rounds of the same work: undecided, and the rule says the noise is wider than the margin', () => {
    const d = decide(table('10 14 8', '12 9 15', '9 12 7', '11 8 13', '10 13 9', '13 10 16', '9 12 8'));
    assert.equal(d.verdict, 'undecided', d.rule);
    assert.match(d.rule, /noise \+-\d+\.\d% > margin 3\.0%, run more rounds/);
  });

  test('a loaded run in which (a\') was slower than (a) in every round: undecided, and the A/A check says the build differed from itself', () => {
    // Loopback at load 13, 4 rounds (wall seconds of a b a'): no swarm started in (b).
    const d = decide(table('8.67 9.16 9.46', '9.52 9.67 13.54', '9.92 12.55 11.85', '8.14 15.30 11.95'));
    assert.equal(d.verdict, 'undecided', d.rule);
    assert.match(d.control, /excludes 1: the same build differed from itself/);
  });

  test('(b) 1 % slower with little noise is no slower within the margin (the margin is the question asked)', () => {
    const d = decide(table('10.00 10.10 10.00', '12.00 12.13 12.01', '9.40 9.49 9.39', '11.00 11.12 11.01', '10.50 10.60 10.49'));
    assert.equal(d.verdict, 'no slower', d.rule);
    assert.ok(d.b.lo > 1, 'yet its whole interval is above 1');
  });

  test('two rounds allow no 90 % interval: undecided, saying so', () => {
    const d = decide(table('10 10 10', '11 11 11'));
    assert.equal(d.verdict, 'undecided');
    assert.match(d.rule, /allow no 90 % interval/);
  });

  test('three rounds are enough for an interval; one slow round out of four does not make (b) slower', () => {
    assert.ok(decide(table('10 10.1 10', '11 11 11.1', '9 9.05 9')).b.confidence >= 0.9);
    const d = decide(table('10 10.1 10', '11 16 11.1', '9 9.05 9', '12 11.9 12.1'));
    assert.notEqual(d.verdict, 'slower', d.rule);
  });

  test('over simulated runs of identical work the interval holds 1 about as often as it says, and never says slower more than alpha allows', () => {
    const random = mulberry32(20260);
    let missed = 0;
    let slower = 0;
    const runs = 300;
    for (let k = 0; k < runs; k++) {
      const d = decide(simulate(random, 7, { effect: 1, noise: 0.06 }));
      if (d.b.lo > 1 || d.b.hi < 1) missed++;
      if (d.verdict === 'slower') slower++;
    }
    // Nominal: 2r/N = 2 * 109 / 2187 = 10.0 % of the intervals miss 1; 300 runs: 6.6-13.4 % in 19 of 20 seeds.
    assert.ok(missed >= runs * 0.05 && missed <= runs * 0.15, `missed ${missed} of ${runs}`);
    assert.ok(slower <= runs * 0.08, `slower ${slower} of ${runs}`);
  });

  test('over simulated runs of (b) 10 % slower with 3 % noise, 7 rounds say slower nearly always', () => {
    const random = mulberry32(99);
    let slower = 0;
    for (let k = 0; k < 100; k++) if (decide(simulate(random, 7, { effect: 1.1, noise: 0.03 })).verdict === 'slower') slower++;
    assert.ok(slower >= 90, `slower in ${slower} of 100`);
  });
});

describe('mixed bench: the order of a round and the claim', () => {
  test('each of (a), (b), (a\') takes each place once in three rounds; two builds swap their turns', () => {
    const one = [0, 1, 2].map((i) => roundOrder(['this'], i).map((x) => x.variant).join(' '));
    assert.deepEqual(one, ['a b a2', 'b a2 a', 'a2 a b']);
    assert.deepEqual(roundOrder(['this', 'before'], 1).map((x) => `${x.build}-${x.variant}`), ['before-b', 'before-a2', 'before-a', 'this-b', 'this-a2', 'this-a']);
  });

  test('the claim holds when every scenario is no slower or faster, fails on one slower at alpha / k, else is undecided', () => {
    const same = table('10.00 10.05 9.98', '12.10 12.00 12.08', '9.40 9.43 9.37', '11.00 10.96 11.05', '10.50 10.52 10.45', '13.00 13.06 12.97', '9.90 9.88 9.95');
    const faster = table('10.00 9.02 9.98', '12.10 10.90 12.08', '9.40 8.43 9.37', '11.00 9.95 11.05', '10.50 9.40 10.45', '13.00 11.80 12.97', '9.90 8.95 9.95');
    const slower = table('10.00 11.02 9.98', '12.10 13.30 12.08', '9.40 10.31 9.37', '11.00 12.15 11.05', '10.50 11.50 10.45', '13.00 14.35 12.97', '9.90 10.86 9.95');
    const noisy = table('10 14 8', '12 9 15', '9 12 7', '11 8 13', '10 13 9', '13 10 16', '9 12 8');
    assert.equal(claim([{ name: 'x', rounds: same }, { name: 'y', rounds: faster }]).verdict, 'HOLDS');
    const no = claim([{ name: 'x', rounds: same }, { name: 'y', rounds: noisy }, { name: 'z', rounds: slower }]);
    assert.equal(no.verdict, 'DOES NOT HOLD');
    assert.match(no.rule, /^z slower at 1\.7% a side \(Bonferroni over 3 scenario\(s\)\)$/);
    assert.deepEqual(claim([{ name: 'x', rounds: same }, { name: 'y', rounds: noisy }]), { verdict: 'UNDECIDED', rule: 'y undecided' });
    assert.equal(claim([]).verdict, 'UNDECIDED');
  });

  test('a scenario slower at alpha alone but not at alpha / k leaves the claim undecided', () => {
    // 4 rounds: 81 labellings, alpha 5 % gives the 4th largest and smallest means; alpha / 4 only the extremes.
    const edge = table('10 10.6 10', '10 10.5 10.1', '10 10.7 10.05', '10 10.2 10.6');
    assert.equal(decide(edge).verdict, 'slower', decide(edge).rule);
    const c = claim(['a', 'b', 'c', 'd'].map((name, i) => ({ name, rounds: i === 0 ? edge : table('10 10 10', '11 11 11', '12 12 12', '9 9 9') })));
    assert.equal(c.verdict, 'UNDECIDED');
    assert.match(c.rule, /a slower at 5\.0% alone, not at the 1\.3% 4 scenarios need/);
  });
});
