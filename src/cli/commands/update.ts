/**
 * `isosync update [PRODUCT] [--dir DIR] [--yes] [--keep N] [--json]`: each
 * followed product (or the one named) brought to the newest release of its
 * signed feed (src/feed/update.ts). One exit code for the whole run tells
 * automation what happened (EXIT_CODES, listed in --help and the README).
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { FollowStore } from '../../feed/follow-store.js';
import { updateProduct, type UpdateEvent, type UpdateReport } from '../../feed/update.js';
import { EXIT_CODES, exitCode } from '../../feed/update-plan.js';
import { openCatalog } from '../../library/catalog.js';
import { action, intOption, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes, formatSeconds } from '../format.js';
import { errorLine, printWarning, say } from '../output.js';
import { SyncProgress } from '../sync-progress.js';
import { formatDiff } from './diff.js';

interface UpdateCliOptions extends CommonOptions {
  dir?: string;
  yes?: boolean;
  keep?: string;
}

export const EXIT_CODES_HELP = `
Exit codes (for automation):
  ${EXIT_CODES.applied}  an update was applied
  ${EXIT_CODES.upToDate}  nothing to do: every product is on its newest release
  ${EXIT_CODES.refused}  refused: a feed or torrent was unsigned, wrongly signed, older than one
     already seen, or expired (nothing was downloaded)
  ${EXIT_CODES.available}  an update is available but was not applied (no --yes, or declined)
  ${EXIT_CODES.failed}  failure (e.g. no network source left); nothing was changed
  ${EXIT_CODES.badInput}  bad input (unknown product, bad option)
With several products the first that applies wins: refused, failure, applied, available, nothing to do.
`;

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Prints an update's events as they come; the sync's own go to its progress line. */
function printEvent(e: UpdateEvent, progress: SyncProgress): void {
  switch (e.type) {
    case 'feed': {
      const b = e.accepted.feed.body;
      say(`${e.product}: feed ${e.url}: sequence ${b.sequence}, signed by ${e.accepted.key.id}${e.accepted.fresh ? '' : ' (no change since the last check)'}`);
      if (e.accepted.rotatedFrom.length > 0) say(`${e.product}: the publisher moved to key ${e.accepted.key.id}, announced under the signature of ${e.accepted.rotatedFrom.map((k) => k.id).join(' -> ')}; now following the new key`);
      return;
    }
    case 'available':
      say(`${e.product}: ${e.from ? `${e.from.release} -> ` : 'install '}${e.to.release} (${e.to.name}, ${formatBytes(e.to.length)})${e.from ? `, from ${e.from.path}` : ''}`);
      return;
    case 'diff':
      for (const w of e.warnings) printWarning(w);
      say(formatDiff({ diff: e.diff }).replace(/^/gm, '  ').trimEnd());
      return;
    case 'syncing':
      progress.start(`syncing ${e.product} ${e.release}`);
      return;
    case 'warning':
      printWarning(e.warning);
      return;
    case 'sync':
      progress.onEvent(e.event);
      return;
  }
}

function printReport(r: UpdateReport): void {
  if (r.outcome === 'refused' || r.outcome === 'failed') {
    errorLine(r.message);
    return;
  }
  if (r.outcome === 'applied' && r.sync) {
    say(`${r.product}: updated to ${r.to?.release}: ${r.to?.path} (reused ${formatBytes(r.sync.reusedBytes)}, fetched ${formatBytes(r.sync.fetchedBytes)} of ${formatBytes(r.sync.targetBytes)}; every piece verified; ${formatSeconds(r.sync.seconds)})`);
    for (const p of r.pruned) say(`${r.product}: removed ${p} (older than the releases kept for rollback)`);
    return;
  }
  say(r.message);
}

export function register(program: Command): void {
  const cmd = program
    .command('update')
    .description('bring followed products to the newest release of their signed feeds (package diff first, then a delta sync)')
    .argument('[product]', 'one followed product (default: every one)')
    .option('--dir <dir>', 'where images are kept (default: the folder used last, else HOME/images/PRODUCT)')
    .option('--yes', 'apply without asking (what a timer runs)')
    .option('--keep <n>', 'previous releases kept on disk for rollback (default 1)')
    .addHelpText('after', EXIT_CODES_HELP);
  withCommon(cmd).action(
    action(async (product: string | undefined, opts: UpdateCliOptions) => {
      const keep = intOption('--keep', opts.keep, 0);
      const catalog = openCatalog(opts.home);
      try {
        const store = new FollowStore(catalog);
        const products = product !== undefined ? [store.require(product).product] : store.all().map((f) => f.product);
        if (products.length === 0) store.require('');
        const interactive = !opts.json && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
        const reports: UpdateReport[] = [];
        for (const p of products) {
          const progress = new SyncProgress(true);
          const r = await updateProduct({
            catalog,
            product: p,
            ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
            ...(opts.home !== undefined ? { home: opts.home } : {}),
            ...(keep !== undefined ? { keep } : {}),
            yes: opts.yes ?? false,
            ...(interactive ? { confirm: askOnTerminal } : {}),
            onEvent: (e: UpdateEvent) => (opts.json ? e.type === 'sync' && progress.onEvent(e.event) : printEvent(e, progress)),
          });
          progress.stop();
          reports.push(r);
          if (!opts.json) printReport(r);
          if (!opts.json && r.outcome === 'failed') progress.afterFailure();
        }
        const code = exitCode(reports.map((r) => r.outcome));
        if (opts.json) printJson({ exitCode: code, products: reports });
        process.exitCode = code;
      } finally {
        catalog.close();
      }
    }),
  );
}
