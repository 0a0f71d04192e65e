/**
 * Long-running commands (`isosync serve`, `isosync seed`, the tracker) go back to V8's
 * default interrupt budget. bin/isosync raises it 16 times so that a command
 * lasting seconds spends no CPU optimizing code it runs only briefly; a
 * server runs for hours, and at that budget its hot paths (node:net, the
 * HTTP parser, the peer wire, piece reads) stay in the interpreter for far
 * longer. The budget is read at each tiering check, so setting it applies to
 * all code from the call on. For the tracker, with a connection per
 * announce, node:net's code stayed unoptimized: 350 us of CPU per announce
 * against 190-210 at the default (bench/tracker-bench.ts, same run).
 */
import { setFlagsFromString } from 'node:v8';

/** V8's own default (`node --v8-options`: --interrupt-budget=67584 in Node 20). */
export const V8_DEFAULT_INTERRUPT_BUDGET = 67_584;

/** Lets V8 optimize hot code as it would without bin/isosync's raised budget. */
export function tuneForLongRun(): void {
  setFlagsFromString(`--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET}`);
  // bin/code-cache.cjs then writes no code cache: V8 would reject it under bin/isosync's flags.
  (globalThis as Record<symbol, unknown>)[Symbol.for('isosync.v8FlagsChanged')] = true;
}
