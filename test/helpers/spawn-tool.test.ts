/**
 * spawnTool: a fixture tool that crashes by its own fault is run again (at most TOOL_CRASH_RUNS
 * runs); any other failure comes back after one run, for the test to assert on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTool, tempDir, toolCrash, TOOL_CRASH_RUNS } from './env.js';

/** Runs `script` under sh with $1 a file that gets one line per run; returns the result and the run count. */
function counted(script: string, timeout?: number) {
  const t = tempDir();
  try {
    const runs = join(t.dir, 'runs');
    const r = spawnTool('sh', ['-c', `echo run >> "$1"; ${script}`, 'sh', runs], { encoding: 'utf8', ...(timeout ? { timeout } : {}) });
    return { r, runs: readFileSync(runs, 'utf8').split('\n').filter(Boolean).length };
  } finally {
    t.cleanup();
  }
}

test('a tool killed by SIGSEGV on its first run is run again and its second run counts', () => {
  const { r, runs } = counted('[ "$(wc -l < "$1")" -gt 1 ] && { echo built; exit 0; }; kill -SEGV $$');
  assert.deepEqual([r.status, r.stdout, runs], [0, 'built\n', 2]);
});

test("a tool whose own handler reports UNIX-SIGNAL (xorriso's way) is run again, at most TOOL_CRASH_RUNS times", () => {
  const { r, runs } = counted('echo "UNIX-SIGNAL:  SIGSEGV  errno= 0" >&2; exit 5');
  assert.deepEqual([r.status, runs], [5, TOOL_CRASH_RUNS]);
});

test('a plain failure and a timeout are not run again', () => {
  assert.equal(counted('echo "bad option" >&2; exit 2').runs, 1);
  const slow = counted('sleep 5', 200);
  assert.deepEqual([slow.r.signal, slow.runs], ['SIGTERM', 1]);
});

test('toolCrash names the signal, from the OS or from the report, and nothing else', () => {
  const rows: [Parameters<typeof toolCrash>[0], string | undefined][] = [
    [{ signal: 'SIGSEGV', status: null }, 'SIGSEGV'],
    [{ signal: 'SIGBUS', status: null }, 'SIGBUS'],
    [{ signal: 'SIGTERM', status: null }, undefined],
    [{ signal: null, status: 1, stderr: 'xorriso : NOTE\nUNIX-SIGNAL:  SIGABRT  errno= 0\n' }, 'SIGABRT'],
    [{ signal: null, status: 0, stderr: 'UNIX-SIGNAL:  SIGSEGV' }, undefined],
    [{ signal: null, status: 1, stderr: 'no such file' }, undefined],
  ];
  for (const [r, want] of rows) assert.equal(toolCrash(r), want, JSON.stringify(r));
});
