/**
 * `npm run fuzz`: runs every fuzz target (or those named) and prints, per
 * target, the inputs run, inputs per second, how many parsed, how many were
 * refused with the project's own error, and how many failed any other way,
 * with the index of each such failure. Exits 1 when any input failed.
 *
 *   npm run fuzz                              100,000 inputs per target, seed 1
 *   npm run fuzz -- iso bencode --count 1e6   some targets, more inputs
 *   npm run fuzz -- --seed 7                  another stream of inputs
 *   npm run fuzz -- iso --index 4321          input 4321 of "iso" alone: written
 *                                             to fuzz-iso-1-4321.bin and run here,
 *                                             with the full stack of what it threw
 *
 * It lives in bench/, not test/: Node's test runner runs every file under a
 * folder named test, and this one would start a long run there. The
 * targets, the mutations and the runner are in test/fuzz/.
 */
import { writeFileSync } from 'node:fs';
import { IsosyncError } from '../src/errors.js';
import { inputAt } from '../test/fuzz/mutate.js';
import { runTarget, type FuzzResult } from '../test/fuzz/runner.js';
import { TARGETS } from '../test/fuzz/targets.js';

function parseArgs(argv: string[]): { names: string[]; count: number; seed: number; index?: number } {
  const names: string[] = [];
  let count = 100_000;
  let seed = 1;
  let index: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a whole number, got ${JSON.stringify(argv[i])}`);
      return v;
    };
    if (a === '--count') count = value();
    else if (a === '--seed') seed = value();
    else if (a === '--index') index = value();
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else names.push(a);
  }
  for (const n of names) if (!TARGETS.some((t) => t.name === n)) throw new Error(`no fuzz target ${JSON.stringify(n)} (targets: ${TARGETS.map((t) => t.name).join(', ')})`);
  return { names: names.length > 0 ? names : TARGETS.map((t) => t.name), count, seed, ...(index !== undefined ? { index } : {}) };
}

/** One line per target, the same in `npm run fuzz` and `npm run bench -- fuzz`. */
export function formatRow(r: FuzzResult): string {
  const rate = r.ms > 0 ? Math.round((r.count / r.ms) * 1000) : 0;
  return `${r.target.padEnd(20)} ${String(r.count).padStart(10)} ${String(rate).padStart(9)} ${String(r.accepted).padStart(10)} ${String(r.rejected).padStart(10)} ${String(r.foreign).padStart(8)}`;
}

export const HEADER = `${'target'.padEnd(20)} ${'inputs'.padStart(10)} ${'inputs/s'.padStart(9)} ${'parsed'.padStart(10)} ${'refused'.padStart(10)} ${'foreign'.padStart(8)}`;

async function reproduce(name: string, seed: number, index: number): Promise<number> {
  const target = TARGETS.find((t) => t.name === name)!;
  const seeds = await target.seeds();
  const input = inputAt(seeds, (target.dictionary ?? []).map((s) => new TextEncoder().encode(s)), seed, name, index, target.inPlace);
  const file = `fuzz-${name}-${seed}-${index}.bin`;
  writeFileSync(file, input);
  process.stdout.write(`input ${index} of ${name} (seed ${seed}): ${input.length} bytes, written to ${file}\n`);
  try {
    await target.run(input);
    process.stdout.write('parsed without error\n');
    return 0;
  } catch (e) {
    if (e instanceof IsosyncError) {
      process.stdout.write(`refused with the project's own error (${e.code}): ${e.message}\n`);
      return 0;
    }
    process.stdout.write(`FOREIGN: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.index !== undefined) {
    if (o.names.length !== 1) throw new Error('--index needs exactly one target');
    return reproduce(o.names[0]!, o.seed, o.index);
  }
  process.stdout.write(`fuzzing ${o.names.length} targets, ${o.count} inputs each, seed ${o.seed}\n${HEADER}\n`);
  let failed = 0;
  for (const name of o.names) {
    const r = await runTarget(name, o.count, { seed: o.seed });
    process.stdout.write(`${formatRow(r)}\n`);
    for (const s of r.samples) process.stdout.write(`    input ${s.index}: ${s.error}\n      reproduce: npm run fuzz -- ${name} --seed ${o.seed} --index ${s.index}\n`);
    failed += r.foreign;
  }
  process.stdout.write(failed === 0 ? 'no foreign errors\n' : `${failed} inputs failed with errors that are not IsosyncError\n`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`fuzz: ${(e as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
