/**
 * PeerHandle: what the engine knows of a remote source of pieces, so that a
 * BitTorrent peer and an HTTP web seed are asked through the same scheduler
 * (webtorrent's webconn.js idea). A web seed is a peer that has every piece,
 * never chokes, has a few request slots, and turns one turn's asks into one
 * multi-range request.
 *
 * The engine calls `request` and `cancel`; the handle answers through the
 * HandleSink it was attached with. Every ask ends exactly once: with its
 * bytes (`block`), without them (`failed`), or when the handle closes
 * (`closed`: all its asks return to the scheduler at once).
 */
import type { PieceIndex } from '../core/ids.js';
import type { Block } from './block.js';

/** How much a handle may be asked in one scheduling turn. */
export interface Capacity {
  /** Blocks it can take now (a peer's free pipeline slots); Infinity for a web seed with a free request slot. */
  readonly blocks: number;
  /** Bytes one turn's asks may hold (a web seed's request size); Infinity for a peer. */
  readonly bytes: number;
  /** Separate byte ranges one turn's asks may form (a multi-range request's limit); Infinity for a peer. */
  readonly runs: number;
  /** A web seed: the bytes it sends soon at its measured rate, this turn's request included; seed peers leave them to it. */
  readonly queue?: number;
}

export const NO_CAPACITY: Capacity = { blocks: 0, bytes: 0, runs: 0 };

export interface PeerHandle {
  /** Who it is, as warnings and reports name it: "peer 10.0.0.1:6881", "web seed http://...". */
  readonly id: string;
  readonly kind: 'peer' | 'web';
  /** Whether it has piece `piece` (and may be asked for it). */
  has(piece: PieceIndex): boolean;
  /** It has every piece (a seed, or a web seed). */
  readonly complete: boolean;
  /** It lets us ask now (a peer that does not choke us; a web seed that is alive). */
  readonly ready: boolean;
  /**
   * What it can take this turn (`asked`: blocks asked of it and not answered
   * yet; `rate`: bytes per second it sent while asks were out, engine/rate.ts,
   * undefined until measured: a peer sizes its pipeline by it).
   */
  capacity(asked: number, rate?: number): Capacity;
  /** Sends asks: one turn's worth (a web seed makes them one request). */
  request(blocks: readonly Block[]): void;
  /** Withdraws asks (another source sent the bytes, or nobody wants them now). */
  cancel(blocks: readonly Block[]): void;
  /** These asks went unanswered for too long (the engine already took them back). */
  timedOut?(blocks: readonly Block[]): void;
  /** Stops using it for good (banned, stalled, dropped); it then reports `closed`. */
  drop(reason: string): void;
}

/**
 * What received bytes pass through before they count: `--download-limit`, one
 * token bucket (swarm/rate-limit.ts) shared by every peer and web seed, so
 * the limit is a total. `take(n)` resolves when n bytes may pass.
 */
export interface ByteGate {
  take(n: number): Promise<void>;
  /** True when every take resolves at once (no limit): a reader may then skip the gate. */
  readonly unlimited?: boolean;
}

/** Why an ask ended without its bytes. */
export type FailReason = 'rejected' | 'choked' | 'error';

/** How a handle reports to the engine. */
export interface HandleSink {
  /** An asked block arrived (its bytes must not change afterwards: the engine and the journal keep them). */
  block(h: PeerHandle, b: Block, bytes: Uint8Array): void;
  /**
   * Optional: where the asked block (piece, offset, length) may be received
   * in place (a view of the buffer its piece is assembled in), to be
   * reported by `block` with that view in the same turn; undefined: the
   * handle keeps its own copy.
   */
  inPlace?(h: PeerHandle, piece: PieceIndex, offset: number, length: number): Uint8Array | undefined;
  /** Asks ended without bytes; they go back to the scheduler. */
  failed(h: PeerHandle, blocks: readonly Block[], why: FailReason): void;
  /** What it has, whether it chokes, or its capacity changed: time to ask again. */
  changed(h: PeerHandle): void;
  /** It is gone for good; every ask still out returns to the scheduler. */
  closed(h: PeerHandle, reason: string): void;
}
