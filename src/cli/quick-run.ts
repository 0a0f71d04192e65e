/**
 * What bin/isosync's short paths (quick-info.ts, quick-ls.ts) do around a
 * command instead of main.ts: the same stdout EPIPE handling, output
 * settings, error line and exit code, without commander or the command table.
 */
import { debugRequested, reportError } from './common.js';
import { configureOutput } from './output.js';

/** Runs `body` as main.ts runs a command's action given only --json (or not). */
export async function runQuick(json: boolean, body: () => Promise<void>): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    configureOutput({ json, progress: true });
    await body();
  } catch (e) {
    process.exitCode = reportError(e, debugRequested());
  }
}
