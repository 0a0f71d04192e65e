/**
 * `isosync completion bash|zsh|fish`: prints the shell completion script
 * (src/cli/completion.ts), and the hidden `isosync manpage`, which prints
 * the manual page that `npm run man` stores as man/isosync.1.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { VERSION } from '../../version.js';
import { action, withCommon } from '../common.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { manPage } from '../man-page.js';

/** The program the command belongs to (its root). */
function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export function register(program: Command): void {
  const cmd = program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .argument('<shell>', SHELLS.join(', '));
  withCommon(cmd, { json: false }).action(
    action((shell: string, _opts: unknown, self: Command) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new IsosyncError('BAD_ARGUMENT', `Invalid shell ${JSON.stringify(shell)}: must be one of ${SHELLS.join(', ')}`);
      process.stdout.write(completionScript(root(self), shell as Shell));
    }),
  );
  const man = program.command('manpage', { hidden: true }).description('print the manual page (roff)');
  withCommon(man, { json: false }).action(
    action((_opts: unknown, self: Command) => {
      process.stdout.write(manPage(root(self), VERSION));
    }),
  );
}
