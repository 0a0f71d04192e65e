/** What the scheduler (scheduler.ts) and its seed rules (seed-share.ts) see of a source in one turn. */
import type { PieceIndex } from '../core/ids.js';
import type { Capacity } from './handle.js';

export interface SourceView<H> {
  readonly handle: H;
  readonly kind: 'peer' | 'web';
  /** Has every piece. */
  readonly complete: boolean;
  /** May be asked now (not choking us). */
  readonly ready: boolean;
  /** Free capacity this turn (handle.ts). */
  readonly capacity: Capacity;
  has(piece: PieceIndex): boolean;
  /** Blocks it sent that a piece hash proved wrong. */
  readonly strikes: number;
  /** No ask of it timed out since its last block. */
  readonly keepsUp: boolean;
  /** Bytes per second while it had asks out (engine/rate.ts); undefined until measured. */
  readonly rate?: number | undefined;
  /** Bytes asked of it and not answered yet (default none). */
  readonly inFlight?: number;
}
