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
import type { PublishCliOptions } from './commands/publish-run.js';
import { runQuick } from './quick-run.js';

export interface QuickPublish {
  readonly image: string;
  readonly opts: PublishCliOptions;
}

type ValueKey = 'product' | 'release' | 'pieceLength' | 'comment' | 'output' | 'outDir' | 'publicUrl' | 'home';
type ListKey = 'previous' | 'tracker' | 'webSeed';
type FlagKey = 'hybrid' | 'v1' | 'v2' | 'force' | 'json' | 'quiet' | 'verbose' | 'debug';

/** Options that take one value (the last given, on the command line; here: at most one). */
const VALUES: Record<string, ValueKey> = {
  '--product': 'product',
  '--release': 'release',
  '--piece-length': 'pieceLength',
  '--comment': 'comment',
  '--output': 'output',
  '-o': 'output',
  '--out-dir': 'outDir',
  '--public-url': 'publicUrl',
  '--home': 'home',
};
/** Repeatable options: every value, in order. */
const LISTS: Record<string, ListKey> = { '--previous': 'previous', '--tracker': 'tracker', '--web-seed': 'webSeed' };
const FLAGS: Record<string, FlagKey> = {
  '--hybrid': 'hybrid',
  '--v1': 'v1',
  '--v2': 'v2',
  '--force': 'force',
  '--json': 'json',
  '--quiet': 'quiet',
  '-q': 'quiet',
  '--verbose': 'verbose',
  '-v': 'verbose',
  '--debug': 'debug',
};

/** The plain `publish` forms, from the words after the command name; undefined for any other. */
export function quickPublishArgs(words: readonly string[]): QuickPublish | undefined {
  let image: string | undefined;
  const values: Partial<Record<ValueKey, string>> = {};
  const lists: Partial<Record<ListKey, string[]>> = {};
  const flags: Partial<Record<FlagKey | 'progress', boolean>> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-')) {
      if (image !== undefined) return undefined;
      image = w;
      continue;
    }
    if (w === '--no-progress') {
      flags.progress = false;
      continue;
    }
    const flag = FLAGS[w];
    if (flag !== undefined) {
      flags[flag] = true;
      continue;
    }
    // --opt=VALUE (long options only), else --opt VALUE.
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const name = eq > 0 ? w.slice(0, eq) : w;
    const value = eq > 0 ? w.slice(eq + 1) : words[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    const one = Object.hasOwn(VALUES, name) ? VALUES[name] : undefined;
    const list = Object.hasOwn(LISTS, name) ? LISTS[name] : undefined;
    if (one !== undefined) {
      if (values[one] !== undefined) return undefined;
      values[one] = value;
    } else if (list !== undefined) (lists[list] ??= []).push(value);
    else return undefined;
  }
  const { product, release } = values;
  if (image === undefined || product === undefined || release === undefined) return undefined;
  return { image, opts: { ...values, product, release, ...lists, ...flags } };
}

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
