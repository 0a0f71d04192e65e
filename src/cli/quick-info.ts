/**
 * `isosync info TORRENT [--json] [--home DIR]` without the command line parser:
 * bin/isosync runs these plain forms here, so that showing a torrent loads
 * neither commander nor the command table (bench/startup-bench.ts). Any other
 * form (another option, --help, two operands, `--`) returns undefined and goes
 * through main.ts, which prints the same report and every usage error.
 */
import { runQuick } from './quick-run.js';

export interface QuickInfo {
  target: string;
  json: boolean;
  home?: string;
}

/** The plain `info` forms, from the words after the command name; undefined for any other. */
export function quickInfoArgs(words: readonly string[]): QuickInfo | undefined {
  let target: string | undefined;
  let json = false;
  let home: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--json') json = true;
    else if (w === '--home' && i + 1 < words.length && !words[i + 1]!.startsWith('-')) home = words[++i];
    else if (w.startsWith('--home=') && w.length > 7) home = w.slice(7);
    else if (w.startsWith('-') || target !== undefined) return undefined;
    else target = w;
  }
  return target === undefined ? undefined : { target, json, ...(home !== undefined ? { home } : {}) };
}

/** Runs `isosync info` as main.ts would: same output settings, same error lines and exit codes. */
export function runQuickInfo(q: QuickInfo): Promise<void> {
  return runQuick(q.json, async () => {
    const { showInfo } = await import('./commands/info.js');
    await showInfo(q.target, q);
  });
}
