/**
 * "Is a core free now?" from two injected readings of /proc/stat and the
 * calling thread's own CPU time: parsing, the decision, and the load-average
 * rule used where /proc/stat is absent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { FREE_SHARE, parseProcStat, parseThreadStat, spareCores, spareCoresFromLoad, type CpuSample } from '../../src/core/idle-cores.js';
import { EARLY_READING, SpareCoreWatch, spareCoresNow, usableEarly } from '../../src/core/idle-sampler.js';

/** A /proc/stat text for `cpus` CPUs whose aggregate line has these jiffies (user, nice, system, idle, iowait, irq, softirq, steal). */
function procStat(cpus: number, [user, nice, system, idle, iowait, irq, softirq, steal]: number[]): string {
  const per = Array.from({ length: cpus }, (_, i) => `cpu${i} 1 0 1 1 0 0 0 0 0 0`);
  return [`cpu  ${user} ${nice} ${system} ${idle} ${iowait} ${irq} ${softirq} ${steal} 7 0`, ...per, 'intr 1234 0 0', 'ctxt 99', 'btime 1700000000', 'procs_running 3'].join('\n');
}

/**
 * A pair of samples over a span of `span` jiffies per CPU on `cpus` CPUs, where the other processes kept
 * `others` cores busy and the calling thread `own` cores (both in cores' worth of the span).
 */
function pair(cpus: number, span: number, others: number, own: number): [CpuSample, CpuSample] {
  const before: CpuSample = { machine: { idle: 50_000, total: 200_000, cpus }, own: 900 };
  const busy = Math.round((others + own) * span);
  const total = cpus * span;
  return [before, { machine: { idle: before.machine.idle + total - busy, total: before.machine.total + total, cpus }, own: before.own + Math.round(own * span) }];
}

describe('parseProcStat: the aggregate cpu line and the CPUs counted', () => {
  it('sums user to steal, idle with iowait, and counts the cpuN lines', () => {
    assert.deepEqual(parseProcStat(procStat(2, [100, 5, 30, 800, 20, 3, 2, 1])), { idle: 820, total: 961, cpus: 2 });
  });
  it('reads an old kernel line of four fields', () => {
    assert.deepEqual(parseProcStat('cpu  10 0 10 80\ncpu0 10 0 10 80\n'), { idle: 80, total: 100, cpus: 1 });
  });
  const bad: [string, string][] = [
    ['empty', ''],
    ['no aggregate line', 'cpu0 1 2 3 4\nintr 5'],
    ['a field that is no number', 'cpu  1 x 3 4\ncpu0 1 2 3 4'],
    ['no cpuN line', 'cpu  1 2 3 4\n'],
  ];
  for (const [name, text] of bad) it(`gives nothing for ${name}`, () => assert.equal(parseProcStat(text), undefined));
});

describe('parseThreadStat: utime + stime after the command name', () => {
  it('counts fields after the last parenthesis, whatever the name holds', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 4 0 100';
    assert.equal(parseThreadStat(`4242 (node) ${rest}`), 290);
    assert.equal(parseThreadStat(`4242 (a) b (c)) ${rest}`), 290);
  });
  it('gives nothing for a text without its fields', () => {
    assert.equal(parseThreadStat('4242 node S 1'), undefined);
    assert.equal(parseThreadStat('4242 (node) S 1 2'), undefined);
  });
});

describe('spareCores: cores free beyond the caller\'s between two samples', () => {
  // [name, cpus, other processes' busy cores, the caller's own busy cores, spare]
  const table: [string, number, number, number, number][] = [
    ['2 CPUs, an idle machine, the caller asleep', 2, 0, 0, 1],
    ['2 CPUs, an idle machine, the caller busy (its own time is not others\')', 2, 0, 1, 1],
    ['2 CPUs, another process on a whole core', 2, 1, 0, 0],
    ['2 CPUs, others on a core while the caller runs too', 2, 1, 1, 0],
    [`2 CPUs, others on ${1 - FREE_SHARE} of a core: still free`, 2, 1 - FREE_SHARE, 0, 1],
    ['2 CPUs, others on half a core: not free', 2, 0.5, 0, 0],
    ['2 CPUs, saturated', 2, 2, 0, 0],
    ['1 CPU, idle: the caller takes it', 1, 0, 0, 0],
    ['8 CPUs, others on 5.5', 8, 5.5, 1, 1],
    ['8 CPUs, others on 2', 8, 2, 0, 5],
    ['8 CPUs, idle: seven beside the caller', 8, 0, 0, 7],
  ];
  for (const [name, cpus, others, own, want] of table) {
    it(name, () => {
      const [a, b] = pair(cpus, 600, others, own);
      assert.equal(spareCores(a, b), want);
    });
  }
  it('tells nothing when no time passed, counters went back or the CPUs changed', () => {
    const [a, b] = pair(2, 6, 0, 0);
    assert.equal(spareCores(a, a), undefined);
    assert.equal(spareCores(b, a), undefined);
    assert.equal(spareCores(a, { ...b, machine: { ...b.machine, cpus: 3 } }), undefined);
  });
  it('at a 60 ms sample\'s resolution (six jiffies per CPU) tells a busy core from an idle one', () => {
    assert.equal(spareCores(...pair(2, 6, 0, 1)), 1);
    assert.equal(spareCores(...pair(2, 6, 1, 1)), 0);
  });
});

describe('spareCoresFromLoad: the load-average rule where /proc/stat is absent', () => {
  // [cores, 1-minute load, spare]: a worker when cores - load >= 1, as before.
  const table: [number, number, number][] = [
    [2, 0.2, 1],
    [2, 1.0, 1],
    [2, 1.2, 0],
    [2, 20, 0],
    [1, 0, 0],
    [8, 6.5, 1],
    [8, 0, 7],
  ];
  for (const [cores, load, want] of table) it(`${cores} cores, load ${load}: ${want}`, () => assert.equal(spareCoresFromLoad(cores, load), want));
});

describe('spareCoresNow', () => {
  it('answers with a whole number of cores this process may use beyond the calling thread', async () => {
    const n = await spareCoresNow(20);
    assert.ok(Number.isInteger(n) && n >= 0, `${n}`);
  });
});

describe('SpareCoreWatch: the span since it started, asked when wanted', () => {
  /** Readings of a 2-CPU machine over time: [ms, cores others kept busy so far on average, own cores so far]. */
  const watchOver = (steps: [number, number, number][]) => {
    let at = 0;
    const span = (ms: number) => ms / 10; // jiffies of 10 ms per CPU
    const first: CpuSample = { machine: { idle: 1000, total: 4000, cpus: 2 }, own: 100 };
    const readingAt = () => {
      const step = steps.filter(([ms]) => ms <= at).at(-1)!;
      const [ms, others, own] = step;
      const busy = Math.round((others + own) * span(ms));
      return { machine: { idle: first.machine.idle + 2 * span(ms) - busy, total: first.machine.total + 2 * span(ms), cpus: 2 }, own: first.own + Math.round(own * span(ms)) };
    };
    const w = new SpareCoreWatch(readingAt, () => at, () => -1);
    return { w, go: (ms: number) => (at = ms) };
  };
  it('a blip at the start outweighed by a quiet span after it', () => {
    // 60 ms with others at 1/3 of a core (two ticks): busy; over 600 ms the same two ticks are 1/30 of a core.
    const { w, go } = watchOver([[0, 0, 0], [60, 1 / 3, 1], [600, 1 / 30, 1]]);
    go(60);
    assert.equal(w.spare(), 0);
    go(600);
    assert.equal(w.spare(), Math.min(1, availableParallelism() - 1));
    assert.equal(w.elapsedMs, 600);
  });
  it('a core kept busy all along stays busy', () => {
    const { w, go } = watchOver([[0, 0, 0], [600, 0.9, 1]]);
    go(600);
    assert.equal(w.spare(), 0);
  });
  it('no readings: the fallback rule', () => {
    const w = new SpareCoreWatch(() => undefined, () => 0, () => 3);
    assert.equal(w.sampling, false);
    assert.equal(w.spare(), 3);
  });
});

describe('usableEarly: the reading bin/isosync takes before publish loads', () => {
  const stat = procStat(2, [100, 5, 30, 800, 20, 3, 2, 1]);
  const thread = '4242 (node) R 1 4242 4242 0 -1 4194304 500 0 0 0 17 3 0 0 20 0 1 0 100 1000 100';
  it('is a first reading when it parses and is fresh', () => {
    assert.deepEqual(usableEarly({ at: 1000, stat, thread }, 1040), { sample: { machine: { idle: 820, total: 961, cpus: 2 }, own: 20 }, at: 1000 });
  });
  it('is not used when older than a second, from the future, unparsable or not a reading', () => {
    assert.equal(usableEarly({ at: 1000, stat, thread }, 2500), undefined);
    assert.equal(usableEarly({ at: 1000, stat, thread }, 900), undefined);
    assert.equal(usableEarly({ at: 1000, stat: 'intr 1 2', thread }, 1040), undefined);
    assert.equal(usableEarly({ at: 1000, stat, thread: 'garbage' }, 1040), undefined);
    assert.equal(usableEarly(undefined, 1040), undefined);
    assert.equal(usableEarly({ at: '1000', stat, thread }, 1040), undefined);
  });
  it('is taken by the first spareCoresNow of the run, which still answers', async () => {
    const g = globalThis as { [EARLY_READING]?: unknown };
    g[EARLY_READING] = { at: performance.now(), stat: 'not a reading', thread };
    const n = await spareCoresNow(20);
    assert.equal(EARLY_READING in g, false);
    assert.ok(Number.isInteger(n) && n >= 0, `${n}`);
  });
});
