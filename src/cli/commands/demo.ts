/** `isosync demo`: the end-to-end release demo on the committed fixtures (src/demo/demo.ts). */
import type { Command } from 'commander';
import { runDemo } from '../../demo/demo.js';
import { action, withCommon, type CommonOptions } from '../common.js';

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('publish the fixture releases 1.00 and 1.01, upgrade and roll back through a local mirror, follow the signed feed and update, and report what moved')
    .option('--keep', 'keep the work folder')
    .option('--dir <dir>', 'work in this folder (kept) instead of a temp folder');
  withCommon(cmd, { json: false }).action(
    action(async (opts: CommonOptions & { keep?: boolean; dir?: string }) => {
      await runDemo({ ...(opts.keep ? { keep: true } : {}), ...(opts.dir ? { dir: opts.dir } : {}) });
    }),
  );
}
