/**
 * The `isosync` command line: builds the commander program from one module
 * per command (src/cli/commands/*.ts, each exporting `register`) and runs it.
 * Commander's own usage errors exit with 2, like every other bad input.
 */
import { Command, CommanderError } from 'commander';
import { debugRequested, reportError } from './common.js';
import { COMMANDS } from './commands/index.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('isosync');
  program
    .description('Distribute ISO images so that nobody downloads the same bytes twice')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run "isosync --help" for usage)')
    // Program options (-V/--version) only before the command, so that a command may use -V (remaster's volume id).
    .enablePositionalOptions()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `isosync info X | head`: a reader that closed the pipe wants no more output; that is not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(e, debugRequested(argv));
  }
}
