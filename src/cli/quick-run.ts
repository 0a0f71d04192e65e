/**
 * What bin/isosync's short paths (quick-info.ts, quick-ls.ts, quick-extract.ts,
 * quick-publish.ts) do around a command instead of main.ts: the same stdout
 * EPIPE handling, output settings, error line and exit code, without
 * commander or the command table.
 */
import { debugRequested, reportError } from './common.js';
import { configureOutput } from './output.js';

/** The global options that set the output (main.ts declares them on the program). */
export interface QuickOutput {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly progress?: boolean;
}

/** Runs `body` as main.ts runs a command's action given these output options (a boolean: only --json, or not). */
export async function runQuick(output: boolean | QuickOutput, body: () => Promise<void>): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    configureOutput(typeof output === 'boolean' ? { json: output, progress: true } : output);
    await body();
  } catch (e) {
    process.exitCode = reportError(e, debugRequested());
  }
}
