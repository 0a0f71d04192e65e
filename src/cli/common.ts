/**
 * What every command shares: the --home/--json/--debug options, error
 * formatting and the exit-code contract (0 success, 2 bad input, 1 other).
 */
import { Command, Option } from 'commander';
import { IsosyncError, isIsosyncError } from '../errors.js';
import { formatWarning, type Warning } from '../core/warnings.js';

export interface CommonOptions {
  home?: string;
  json?: boolean;
  debug?: boolean;
}

/** Adds --home and --debug to a command, and --json when it reports something. */
export function withCommon(cmd: Command, opts: { json?: boolean } = { json: true }): Command {
  cmd.addOption(new Option('--home <dir>', 'catalog folder (default $ISOSYNC_HOME or ~/.local/share/isosync)'));
  if (opts.json !== false) cmd.option('--json', 'machine-readable output on stdout');
  cmd.option('--debug', 'print stack traces on failure');
  return cmd;
}

/** Whether --debug was given anywhere on the command line (also before a failure in parsing). */
export function debugRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || process.env['ISOSYNC_DEBUG'] === '1';
}

/** Prints a warning on stderr: `isosync: warning: SOURCE: DETAIL`. */
export function printWarning(w: Warning): void {
  process.stderr.write(`isosync: warning: ${formatWarning(w)}\n`);
}

/** Prints one line for the error (and the stack with --debug) and returns the exit code (EXIT_STATUS of its code). */
export function reportError(e: unknown, debug: boolean): 1 | 2 {
  if (isIsosyncError(e)) {
    process.stderr.write(`isosync: ${e.message}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  const msg = err && typeof err.message === 'string' ? err.message : String(e);
  process.stderr.write(`isosync: ${msg.split('\n')[0]}\n`);
  if (debug && err?.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * Wraps a command action: awaits it, maps any error to one line and an exit
 * code. The process exits through process.exitCode so that pending output
 * is flushed.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
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

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
