/**
 * `isosync extract IMAGE -o DIR [--json]` without the command line parser:
 * bin/isosync runs this plain form here (one CommonJS file, no ESM loader,
 * no commander or command table), as quick-ls.ts runs `ls`. Any other form
 * (patterns, --changed-from, another option, --help, `--`) returns
 * undefined and goes through main.ts, which extracts the same and prints
 * every usage error.
 */
import { extractWhole } from './commands/extract.js';
import { runQuick } from './quick-run.js';

export interface QuickExtract {
  image: string;
  output: string;
  json: boolean;
}

/** The plain `extract` forms, from the words after the command name; undefined for any other. */
export function quickExtractArgs(words: readonly string[]): QuickExtract | undefined {
  let image: string | undefined;
  let output: string | undefined;
  let json = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--json') json = true;
    else if ((w === '-o' || w === '--output') && output === undefined && i + 1 < words.length && !words[i + 1]!.startsWith('-')) output = words[++i];
    else if (w.startsWith('--output=') && w.length > 9 && output === undefined) output = w.slice(9);
    else if (w.startsWith('-') || image !== undefined) return undefined;
    else image = w;
  }
  return image === undefined || output === undefined ? undefined : { image, output, json };
}

/** Runs `isosync extract` as main.ts would: same output, error lines and exit codes. */
export function runQuickExtract(q: QuickExtract): Promise<void> {
  return runQuick(q.json, () => extractWhole(q.image, q.output, q.json));
}
