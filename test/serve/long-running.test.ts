/**
 * `isosync serve` and `isosync seed` undo bin/isosync's raised interrupt
 * budget: in a node started with that budget, a function called 200 times is
 * still interpreted, and after tuneForLongRun() TurboFan has optimized it.
 * (%GetOptimizationStatus needs --allow-natives-syntax, hence a child node;
 * synchronous recompilation makes the outcome a count of calls, not a time.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/core/long-running.js', import.meta.url));
const RAISED = 16 * 67_584;

const SCRIPT = `
const { tuneForLongRun } = await import(${JSON.stringify(MODULE)});
if (process.argv[1] === 'tune') tuneForLongRun();
function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s = (s + a[i] * 31) | 0; return s; }
const a = Array.from({ length: 64 }, (_, i) => i);
for (let k = 0; k < 200; k++) hot(a);
process.stdout.write((%GetOptimizationStatus(hot) & 16) !== 0 ? 'optimized' : 'interpreted');
`;

function afterCalls(mode: 'tune' | 'plain'): string {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', `--interrupt-budget=${RAISED}`, '--input-type=module', '-e', SCRIPT, mode], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a long-running command optimizes hot code at V8 default budget, where bin/isosync budget leaves it interpreted', () => {
  assert.equal(afterCalls('plain'), 'interpreted', 'the raised budget holds the function back');
  assert.equal(afterCalls('tune'), 'optimized');
});
