/**
 * What the fuzz runner and its workers share: the job, the shared progress
 * cells, the messages, and how a foreign error is described.
 */

export interface WorkerJob {
  readonly target: string;
  readonly seed: number;
  readonly start: number;
  readonly count: number;
  /** Int32Array cells over a SharedArrayBuffer, see PROGRESS. */
  readonly progress: SharedArrayBuffer;
}

/** The shared cells: index now running, seeds made (0/1), and the counts so far. */
export const PROGRESS = { index: 0, ready: 1, accepted: 2, rejected: 3, foreign: 4, seeds: 5, size: 6 } as const;

export interface Foreign {
  readonly index: number;
  readonly error: string;
}

export type WorkerReply =
  | { readonly type: 'foreign'; readonly sample: Foreign }
  | { readonly type: 'done'; readonly ms: number };

/** How an error thrown by a parser is shown: its class, code or name, and message, plus where it came from. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const where = (e.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' | ');
    return `${e.constructor.name}: ${e.message.split('\n')[0]} (${where})`;
  }
  return `thrown ${typeof e}: ${String(e)}`;
}
