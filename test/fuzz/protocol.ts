/**
 * What the fuzz runner and its workers share: the job, the shared progress
 * cells, the messages, how a foreign error is described, and what a target is.
 */
import type { Seed } from './mutate.js';

export interface WorkerJob {
  readonly target: string;
  readonly seed: number;
  readonly start: number;
  readonly count: number;
  /** Int32Array cells over a SharedArrayBuffer, see PROGRESS. */
  readonly progress: SharedArrayBuffer;
}

/** The shared cells: index now running, seeds made (0/1), and the counts so far. */
export const PROGRESS = { index: 0, ready: 1, accepted: 2, rejected: 3, foreign: 4, seeds: 5, strays: 6, size: 7 } as const;

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

/** A parser under fuzzing (see targets.ts). */
export interface FuzzTarget {
  readonly name: string;
  /** What it parses, for the report. */
  readonly what: string;
  seeds(): Promise<Seed[]>;
  /** Tokens a mutation may insert (format keywords, markers). */
  readonly dictionary?: readonly string[];
  /** Mutate in place only: the format addresses its parts by absolute offset. */
  readonly inPlace?: boolean;
  /** Inputs in the test suite's short run, when a target's inputs are slow (whole filesystem images); default 10,000. */
  readonly shortRun?: number;
  /** Let the event loop run after each input: the parser leaves work behind (stream teardown), which must finish, and be blamed on, the input that made it. */
  readonly settle?: boolean;
  /** Parses one input; returns normally or throws an IsosyncError. */
  run(input: Uint8Array): unknown;
}
