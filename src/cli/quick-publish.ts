/**
 * `isosync publish IMAGE --product NAME --release VERSION [options]` without
 * the command line parser: bin/isosync runs the plain forms here (one
 * CommonJS file, no ESM loader, no commander or command table), and they do
 * exactly what the full command line does, through the same runPublish
 * (commands/publish-run.ts). Start-up is a large share of a publish: the
 * hashing of a 348 MiB image is ~0.3 CPU s (bench/publish-bench.ts).
 *
 * Plain: one operand; the options publish declares, each as `--opt VALUE`
 * or `--opt=VALUE` (`-o VALUE` for --output), a value that is not empty and
 * does not start with "-", every option that takes a value other than the
 * repeatable ones at most once; the global options --home, --json, -q, -v,
 * --no-progress and --debug. Any other form (--sign and the feed options,
 * --help, `--`, an unknown or bundled option, a missing --product or
 * --release, two operands) returns undefined and goes through main.ts,
 * which prints the same report and every usage error.
 */
import { runQuick } from './quick-run.js';
import type { QuickPublish } from './publish-words.js';

export { quickPublishArgs, type QuickPublish } from './publish-words.js';

/** Runs `isosync publish` as main.ts would: same output settings, report, error lines and exit codes. */
export function runQuickPublish(q: QuickPublish): Promise<void> {
  return runQuick(q.opts, async () => {
    // The usual options: the hashing starts before the rest of publish loads (publish-hashing.ts earlyHashing).
    const { earlyHashing } = await import('../library/publish-hashing.js');
    const early = earlyHashing(q.image, q.opts);
    let run: typeof import('./commands/publish-run.js');
    try {
      run = await import('./commands/publish-run.js');
    } catch (e) {
      early?.pass.cancel();
      throw e;
    }
    await run.runPublish(q.image, q.opts, early);
  });
}
