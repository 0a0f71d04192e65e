/**
 * The `isosync` command line: builds the commander program from one module
 * per command (src/cli/commands/*.ts, each exporting `register`) and runs it.
 *
 * The global options live on the program, so they work anywhere on the line
 * (`isosync --home X releases` and `isosync releases --home X`). With no
 * command the usage is printed; a first word that is neither a command nor a
 * possible target (a URL, a path, an existing file) is an unknown command,
 * with the nearest name suggested, instead of a sync of a file called so.
 * Commander's own usage errors exit with 2, like every other bad input.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { debugRequested, reportError } from './common.js';
import { COMMANDS } from './commands/index.js';
import { firstOperand, looksLikeTarget } from './argv.js';
import { helpFooter } from './help-text.js';
import { errorLine } from './output.js';
import { suggestName } from './suggest.js';
import { VERSION } from '../version.js';

/** Adds the global options to the program. */
function globalOptions(program: Command): void {
  program
    .addOption(new Option('--home <dir>', 'catalog folder (default $ISOSYNC_HOME, else ~/.local/share/isosync)'))
    .option('--json', 'machine-readable report on stdout')
    .option('-q, --quiet', 'print only errors')
    .option('-v, --verbose', 'also print per-source detail and warnings')
    .option('--no-progress', 'no live progress line (it is shown only on a terminal)')
    .option('--debug', 'print stack traces on failure');
}

/** commander's "error: unknown option '--fro'\n(Did you mean --from?)" in isosync's one-line form. */
function commanderError(text: string): string {
  return text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\(Did you mean (.+?)\?\)/, " (did you mean '$1'?)")
    .replace(/\s*\(run "isosync --help" for usage\)$/, '');
}

export function buildProgram(): Command {
  const program = new Command('isosync');
  program
    .description('Distribute ISO images so that nobody downloads the same bytes twice')
    .usage('[COMMAND] [options]  (COMMAND defaults to sync: isosync TARGET)')
    .version(VERSION, '-V, --version')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ outputError: (text) => errorLine(commanderError(text)) })
    .showHelpAfterError('(run "isosync --help" for usage)')
    .exitOverride();
  globalOptions(program);
  for (const register of COMMANDS) register(program);
  program.addHelpText('after', helpFooter(''));
  for (const c of program.commands) {
    const footer = helpFooter(c.name());
    if (footer.trim()) c.addHelpText('after', footer);
  }
  return program;
}

/** Every option of the program and its commands that takes a value (for firstOperand). */
function valueFlags(program: Command): Set<string> {
  const out = new Set<string>();
  for (const c of [program, ...program.commands]) {
    for (const o of c.options) {
      if (!o.required && !o.optional) continue;
      if (o.long) out.add(o.long);
      if (o.short) out.add(o.short);
    }
  }
  return out;
}

/** A usage problem found before commander runs: no command at all, or an unknown one. */
function preflight(program: Command, args: readonly string[]): 'usage' | { unknown: string; suggestion?: string } | undefined {
  if (args.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version')) return undefined;
  const word = firstOperand(args, valueFlags(program));
  if (word === undefined) return 'usage';
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]).concat('help');
  if (names.includes(word) || looksLikeTarget(word, existsSync)) return undefined;
  const suggestion = suggestName(word, program.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name()));
  return { unknown: word, ...(suggestion ? { suggestion } : {}) };
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `isosync info X | head`: a reader that closed the pipe wants no more output; that is not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = buildProgram();
  const pre = preflight(program, argv.slice(2));
  if (pre === 'usage') {
    process.stdout.write(program.helpInformation());
    process.stdout.write(helpFooter(''));
    process.exitCode = 0;
    return;
  }
  if (pre) {
    errorLine(`unknown command '${pre.unknown}'${pre.suggestion ? ` (did you mean '${pre.suggestion}'?)` : ''}; run "isosync --help" for the commands`);
    process.exitCode = 2;
    return;
  }
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
