/**
 * What bin/isosync asks before it loads `publish`: park a piece hashing
 * worker now? It finds the image in the plain forms (publish-words.ts),
 * reads its size, the cores and the run queue (/proc/loadavg, a few times),
 * and leaves the decision to torrent/park-policy.ts. Its own bundle
 * (publish-park.cjs): a few kB, loaded before the command's.
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parkedWorkers, runnableOf } from '../torrent/park-policy.js';
import { quickPublishArgs } from './publish-words.js';

function runQueue(): string | undefined {
  try {
    return readFileSync('/proc/loadavg', 'latin1');
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether to park a hashing worker for `isosync publish` with these words (after the command name); `first`: the
 * text of /proc/loadavg bin/isosync read as its first step, if any.
 */
export function publishParks(words: readonly string[], first: string | undefined): boolean {
  const q = quickPublishArgs(words);
  if (!q) return false;
  const imageBytes = sizeOf(q.image);
  const texts = [first ?? runQueue(), runQueue()];
  texts.push(runQueue());
  const runnable = texts.map((t) => (t === undefined ? undefined : runnableOf(t))).filter((r): r is number => r !== undefined);
  return parkedWorkers({ cores: availableParallelism(), imageBytes, runnable, load1: loadavg()[0]! }) > 0;
}
