/**
 * `isosync ls IMAGE [--json]` without the command line parser: bin/isosync
 * runs this plain form here (one CommonJS file, no ESM loader, no commander
 * or command table: the start-up is a large share of listing even 50,000
 * files). Any other form (--deep, another option, --help, two operands,
 * `--`) returns undefined and goes through main.ts, which prints the same
 * listing and every usage error.
 */
import { listImage } from './commands/ls.js';
import { runQuick } from './quick-run.js';

export interface QuickLs {
  image: string;
  json: boolean;
}

/** The plain `ls` forms, from the words after the command name; undefined for any other. */
export function quickLsArgs(words: readonly string[]): QuickLs | undefined {
  let image: string | undefined;
  let json = false;
  for (const w of words) {
    if (w === '--json') json = true;
    else if (w.startsWith('-') || image !== undefined) return undefined;
    else image = w;
  }
  return image === undefined ? undefined : { image, json };
}

/** Runs `isosync ls` as main.ts would: same output, error lines and exit codes. */
export function runQuickLs(q: QuickLs): Promise<void> {
  return runQuick(q.json, () => listImage(q.image, q.json));
}
