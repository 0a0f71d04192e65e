/**
 * Fuzzing in the test suite: every parser of hostile input gets 10,000
 * seeded mutations of its fixtures (`npm run fuzz` runs more, `npm run bench
 * -- fuzz` a million each), and every input must end in a value or in the
 * project's own IsosyncError. First, the harness shows it can fail: inputs
 * are reproducible by index, and a foreign error, a hang and a runaway
 * allocation are each reported with the index that reproduces them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inputAt } from './mutate.js';
import { isHang, runTarget } from './runner.js';
import { HARNESS_CHECKS, TARGETS } from './targets.js';

const SHORT_RUN = 10_000;

test('inputs never change their seeds, even Buffers (whose slice() is a view), so input N is the same in any order', () => {
  const seeds = [{ bytes: Buffer.from('d8:intervali1800e5:peers6:abcdefe') }, { bytes: Buffer.from('d14:failure reason3:badee') }];
  const before = seeds.map((s) => Buffer.from(s.bytes));
  const late = inputAt(seeds, [], 3, 't', 500);
  for (let i = 0; i < 2000; i++) inputAt(seeds, [], 3, 't', i, i % 2 === 0);
  assert.deepEqual(seeds.map((s) => Buffer.from(s.bytes)), before, 'the seeds are untouched');
  assert.deepEqual(inputAt(seeds, [], 3, 't', 500), late, 'input 500 before and after 2,000 others');
});

test('an input is a pure function of (seed, target, index); the first inputs are the seeds', async () => {
  const t = TARGETS.find((x) => x.name === 'tracker-http')!;
  const seeds = await t.seeds();
  for (let i = 0; i < seeds.length; i++) assert.deepEqual(inputAt(seeds, [], 1, t.name, i), seeds[i]!.bytes);
  const a = inputAt(seeds, [], 1, t.name, 1234);
  assert.deepEqual(inputAt(seeds, [], 1, t.name, 1234), a);
  assert.notDeepEqual(inputAt(seeds, [], 1, t.name, 1235), a);
  assert.notDeepEqual(inputAt(seeds, [], 2, t.name, 1234), a);
  assert.notDeepEqual(inputAt(seeds, [], 1, 'other', 1234), a);
});

test('a hang is judged by CPU time as well as wall time, so a loaded machine does not make one', () => {
  const cases: [wallMs: number, cpuMs: number, hang: boolean, why: string][] = [
    [7999, 7999, false, 'not yet the hang time'],
    [8001, 8001, true, 'spinning on a free core'],
    [8001, 4000, true, 'half of it on the CPU'],
    [8001, 3999, false, 'a small share of a busy core'],
    [20000, 1000, false, 'still a small share'],
    [32001, 0, true, 'four times the hang time, whatever the CPU did (waiting forever)'],
  ];
  for (const [wall, cpu, hang, why] of cases) assert.equal(isHang(wall, cpu, 8000), hang, why);
});

test('the runner counts parsed and refused inputs and reports a foreign error, a hang and runaway memory by index', async () => {
  const check = HARNESS_CHECKS[0]!;
  const seeds = await check.seeds();
  // The memory input must pass the RSS mark before the hang watchdog fires, also on a loaded machine: a low mark (256 MiB
  // above now, four 64 MiB buffers) and a generous hang time.
  const r = await runTarget(check.name, 3000, { seed: 5, hangMs: 8000, heapMb: 64, rssMb: Math.round(process.memoryUsage.rss() / 1048576) + 256 });
  assert.equal(r.count, 3000);
  assert.equal(r.accepted + r.rejected + r.foreign, 3000, 'every input counted once');
  assert.ok(r.accepted > 0 && r.rejected > 0);
  // Every input index 2 ("B1") and any mutation that still reads B + one byte is a TypeError.
  const typeErrors = r.samples.filter((s) => s.error.startsWith('TypeError: a foreign error on purpose'));
  assert.ok(typeErrors.some((s) => s.index === 2), JSON.stringify(r.samples));
  for (const s of typeErrors) {
    const input = inputAt(seeds, [], 5, check.name, s.index);
    assert.equal(input[0], 0x42, 'the reported index reproduces the input');
    assert.equal(input.length, 2);
  }
  assert.ok(r.samples.some((s) => s.index === 3 && /^hang: input still running after 8000 ms/.test(s.error)), JSON.stringify(r.samples));
  assert.ok(r.samples.some((s) => s.index === 4 && /^worker died: .*out of memory/i.test(s.error)), JSON.stringify(r.samples));
  assert.ok(r.samples.some((s) => s.index === 5 && /^memory: the process passed \d+ MiB/.test(s.error)), JSON.stringify(r.samples));
});

describe(`every parser, ${SHORT_RUN.toLocaleString('en')} mutated inputs each (fewer where one input is a whole filesystem image)`, { concurrency: 2 }, () => {
  for (const t of TARGETS) {
    test(`${t.name}: ${t.what}`, async () => {
      const n = t.shortRun ?? SHORT_RUN;
      const r = await runTarget(t.name, n, { seed: 1 });
      const detail = r.samples.map((s) => `input ${s.index}: ${s.error} (npm run fuzz -- ${t.name} --index ${s.index})`).join('\n');
      assert.equal(r.foreign, 0, `${r.foreign} inputs failed with an error that is not IsosyncError:\n${detail}`);
      assert.equal(r.accepted + r.rejected, n);
      assert.ok(r.seeds > 0, 'the target has seeds');
    });
  }
});
