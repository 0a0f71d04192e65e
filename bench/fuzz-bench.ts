/**
 * Fuzzing at length: every fuzz target (test/fuzz/targets.ts) over
 * 1,000,000 inputs, two targets at a time (one per core), and the figures:
 * inputs per target, inputs per second, how many parsed, how many were
 * refused with the project's own IsosyncError, and how many failed any other
 * way (a foreign error, a hang, runaway memory), each with the command that
 * reproduces it. The bench fails when any input did.
 *
 * There is no reference tool to compare with: the figure that matters is
 * the foreign count, which must be 0.
 *
 *   ISOSYNC_BENCH_FUZZ_INPUTS   inputs per target (default 1,000,000)
 *   ISOSYNC_BENCH_FUZZ_SEED     run seed (default 1; the test suite uses 1 for its 10,000)
 *   ISOSYNC_BENCH_FUZZ_TARGETS  comma-separated target names (default all)
 */
import { formatRow, HEADER } from './fuzz.js';
import { runTarget, type FuzzResult } from '../test/fuzz/runner.js';
import { TARGETS } from '../test/fuzz/targets.js';

const INPUTS = Number(process.env['ISOSYNC_BENCH_FUZZ_INPUTS'] ?? 1_000_000);
const SEED = Number(process.env['ISOSYNC_BENCH_FUZZ_SEED'] ?? 1);
const PARALLEL = 2;

export async function run(): Promise<void> {
  const wanted = process.env['ISOSYNC_BENCH_FUZZ_TARGETS']?.split(',').filter((s) => s.length > 0);
  const names = TARGETS.map((t) => t.name).filter((n) => !wanted || wanted.includes(n));
  process.stdout.write(`${names.length} targets x ${INPUTS.toLocaleString('en')} inputs, seed ${SEED}, ${PARALLEL} at a time\n${HEADER}\n`);
  const results: FuzzResult[] = [];
  const queue = [...names];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await runTarget(name, INPUTS, { seed: SEED });
      results.push(r);
      process.stdout.write(`${formatRow(r)}\n`);
      for (const s of r.samples) process.stdout.write(`    input ${s.index}: ${s.error}\n      reproduce: npm run fuzz -- ${name} --seed ${SEED} --index ${s.index}\n`);
    }
  }));
  const total = results.reduce((n, r) => n + r.count, 0);
  const foreign = results.reduce((n, r) => n + r.foreign, 0);
  process.stdout.write(`${total.toLocaleString('en')} inputs in ${((performance.now() - t0) / 1000).toFixed(0)} s; foreign errors: ${foreign}\n`);
  if (foreign > 0) throw new Error(`${foreign} fuzz inputs failed with errors that are not IsosyncError`);
}
