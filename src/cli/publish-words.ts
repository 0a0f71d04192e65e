/**
 * The plain `publish` forms bin/isosync runs without the command line parser
 * (quick-publish.ts says which), parsed from the words after the command
 * name. No imports: bin/isosync also loads it alone (publish-park.ts), to
 * find the image before the command loads.
 */
import type { PublishCliOptions } from './commands/publish-run.js';

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

