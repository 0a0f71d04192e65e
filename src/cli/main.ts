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
import { COMMANDS, commandModule, loadCommands, type CommandModule, type Register } from './commands/index.js';
import { firstOperand, looksLikeTarget } from './argv.js';
import { hasHelpFooter, helpFooter } from './help-text.js';
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

/** Commands whose own -V is not the version (remaster's volume id, as in mkisofs). */
const OWN_V = new Set(['remaster']);

/** The program with the commands of `registers` (main.ts loads only those a run needs). */
export function buildProgram(registers: readonly Register[], opts: { command?: string } = {}): Command {
  const program = new Command('isosync');
  program
    .description('Distribute ISO images so that nobody downloads the same bytes twice')
    .usage('[COMMAND] [options]  (COMMAND defaults to sync: isosync TARGET)')
    .version(VERSION, opts.command !== undefined && OWN_V.has(opts.command) ? '--version' : '-V, --version')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ outputError: (text) => errorLine(commanderError(text)) })
    .showHelpAfterError('(run "isosync --help" for usage)')
    .exitOverride();
  globalOptions(program);
  for (const register of registers) register(program);
  // Made when help is shown: every run builds the program once or twice, and the tables cost some ms of a start-up.
  program.addHelpText('after', () => helpFooter(''));
  for (const c of program.commands) {
    const name = c.name();
    if (hasHelpFooter(name)) c.addHelpText('after', () => helpFooter(name));
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

/** Commands that need every other command registered (they list or describe them all). */
const NEED_ALL = new Set(['help', 'completion', 'manpage']);

/**
 * The command modules a run needs: only its own when the first word names a
 * command (or is a sync target), every one for help, usage and unknown words.
 * `word` comes from the global options alone; main checks it again once the
 * command's own options are known.
 */
function modulesFor(word: string | undefined, args: readonly string[]): readonly CommandModule[] {
  // `isosync --version` needs no command; `isosync --help` and the usage list them all.
  if (word === undefined) return args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help') ? [] : COMMANDS;
  if (NEED_ALL.has(word)) return COMMANDS;
  const own = commandModule(word);
  if (own) return [own];
  if (looksLikeTarget(word, existsSync)) return [commandModule('sync')!];
  return COMMANDS;
}

/** The program for `args`, with as few command modules loaded as that run needs. */
async function programFor(args: readonly string[]): Promise<Command> {
  const globals = valueFlags(buildProgram([]));
  const first = firstOperand(args, globals);
  const modules = modulesFor(first, args);
  const build = async (mods: readonly CommandModule[]) => {
    const registers = await loadCommands(mods);
    const probe = buildProgram(registers);
    const word = firstOperand(args, valueFlags(probe));
    return { word, program: word !== undefined && OWN_V.has(word) ? buildProgram(registers, { command: word }) : probe };
  };
  const partial = await build(modules);
  // A command's own option before the command word may have hidden it: then the word seen with all options counts.
  if (modules === COMMANDS || modulesFor(partial.word, args).every((m) => modules.includes(m))) return partial.program;
  return (await build(COMMANDS)).program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `isosync info X | head`: a reader that closed the pipe wants no more output; that is not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = await programFor(argv.slice(2));
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
