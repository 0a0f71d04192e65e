/**
 * `isosync rollback PRODUCT [--to RELEASE]`: back to an earlier release of
 * a followed product, rebuilt from the images on disk through the signed
 * lineage (src/feed/rollback.ts). Exit 0 rolled back, 3 already on that
 * release, 4 a torrent failed its signature check, 1/2 as everywhere.
 */
import type { Command } from 'commander';
import { refusalOf } from '../../feed/feed-verify.js';
import { rollbackProduct } from '../../feed/rollback.js';
import { EXIT_CODES } from '../../feed/update-plan.js';
import { openCatalog } from '../../library/catalog.js';
import { action, debugRequested, printJson, reportError, withCommon, type CommonOptions } from '../common.js';
import { formatBytes, formatSeconds } from '../format.js';
import { printWarning, say } from '../output.js';
import { SyncProgress } from '../sync-progress.js';

interface RollbackCliOptions extends CommonOptions {
  to?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('rollback')
    .description('go back to an earlier release of a followed product, rebuilt from the images on disk through the signed lineage')
    .argument('<product>', 'a followed product')
    .option('--to <release>', 'the release to go back to (default: the one before the release in use)')
    .addHelpText('after', `\nExit codes: ${EXIT_CODES.applied} rolled back, ${EXIT_CODES.upToDate} already on that release, ${EXIT_CODES.refused} a torrent failed its signature check, ${EXIT_CODES.failed} failure, ${EXIT_CODES.badInput} bad input.\n`);
  withCommon(cmd).action(
    action(async (product: string, opts: RollbackCliOptions) => {
      const catalog = openCatalog(opts.home);
      const progress = new SyncProgress(true).start(`rolling back ${product}`);
      try {
        const r = await rollbackProduct({
          catalog,
          product,
          ...(opts.to !== undefined ? { to: opts.to } : {}),
          ...(opts.home !== undefined ? { home: opts.home } : {}),
          onEvent: (e) => (e.type === 'warning' ? printWarning(e.warning) : progress.onEvent(e.event)),
        });
        progress.stop();
        process.exitCode = r.changed ? EXIT_CODES.applied : EXIT_CODES.upToDate;
        if (opts.json) printJson(r);
        else if (!r.changed) say(`${product} is already on ${r.to.release}`);
        else {
          const s = r.sync!;
          say(`${product}: rolled back ${r.from.release} -> ${r.to.release}: ${r.to.path} (reused ${formatBytes(s.reusedBytes)}, fetched ${formatBytes(s.fetchedBytes)} of ${formatBytes(s.targetBytes)}; every piece verified; ${formatSeconds(s.seconds)})`);
        }
      } catch (e) {
        progress.stop();
        if (!refusalOf(e)) throw e;
        reportError(e, debugRequested());
        process.exitCode = EXIT_CODES.refused;
      } finally {
        progress.stop();
        catalog.close();
      }
    }),
  );
}
