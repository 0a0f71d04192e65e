/**
 * What every command shares: the global options (--home, --json, --debug,
 * -q, -v, --no-progress, accepted anywhere on the line), error formatting
 * and the exit-code contract (0 success, 2 bad input, 1 other failure,
 * 130 interrupted).
 */
import type { Command } from 'commander';
import { IsosyncError, isIsosyncError } from '../errors.js';
import { configureOutput, errorLine } from './output.js';
import { isSystemError, plainText, systemErrorLine } from './system-errors.js';

export interface CommonOptions {
  home?: string;
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  progress?: boolean;
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Commands that print no report, so --json means nothing to them. */
const NO_JSON = new WeakSet<Command>();

/**
 * Marks a command as taking the global options; `json: false` for commands
 * with nothing to report (--json is then refused). The options themselves
 * live on the program (main.ts), so they work before or after the command.
 */
export function withCommon(cmd: Command, opts: { json?: boolean } = { json: true }): Command {
  if (opts.json === false) NO_JSON.add(cmd);
  return cmd;
}

/** Whether --debug was given anywhere on the command line (also before a failure in parsing). */
export function debugRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || process.env['ISOSYNC_DEBUG'] === '1';
}

/** Prints a typed warning on stderr as the output level decides (output.ts). */
export { printWarning } from './output.js';

/** The one line a user sees for `e`, in plain words. */
export function errorText(e: unknown): string {
  if (isIsosyncError(e)) return plainText(e.message);
  if (isSystemError(e)) return systemErrorLine(e);
  const err = e as Error | undefined;
  const msg = err && typeof err.message === 'string' ? err.message : String(e);
  return plainText(msg.split('\n')[0]!);
}

/** Prints one line for the error (and the stack with --debug) and returns the exit code (EXIT_STATUS of its code). */
export function reportError(e: unknown, debug: boolean): 1 | 2 {
  errorLine(errorText(e));
  const stack = (e as Error | undefined)?.stack;
  if (debug && stack) process.stderr.write(`${stack}\n`);
  return isIsosyncError(e) ? e.exitCode : 1;
}

/**
 * Wraps a command action: merges the global options into the command's
 * own, sets up output (-q/-v/--no-progress), awaits the action, maps any
 * error to one line and an exit code. The process exits through
 * process.exitCode so that pending output is flushed.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command | undefined;
    const merged = cmd && typeof cmd.optsWithGlobals === 'function' ? (cmd.optsWithGlobals() as CommonOptions) : undefined;
    if (merged) args[args.length - 2] = merged;
    try {
      if (merged) {
        if (merged.json && cmd && NO_JSON.has(cmd)) throw new IsosyncError('BAD_ARGUMENT', `Invalid --json: "isosync ${cmd.name()}" has no report to print`);
        configureOutput(merged);
      }
      await fn(...args);
    } catch (e) {
      process.exitCode = reportError(e, debugRequested());
    }
  };
}

/** Prints a value as JSON on stdout, one document. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Parses a non-negative integer option or throws a BAD_ARGUMENT error naming it. */
export function intOption(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(value)}: not a whole number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(value)}: must be at least ${min}`);
  return n;
}

/** Parses a --port value: 0 (any free port) to 65535. */
export function portOption(name: string, value: string | undefined): number | undefined {
  const n = intOption(name, value, 0);
  if (n !== undefined && n > 65535) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(value)}: must be at most 65535`);
  return n;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Resolves at the first SIGINT or SIGTERM (a foreground server's stop), its handlers then removed. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
