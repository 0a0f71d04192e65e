/**
 * One fetcher for a sync: peers and web seeds behind assemble's PieceFetcher
 * and the VirtualTarget's RangeFetcher, with one piece picker.
 *
 * For each request (byte ranges of one piece) it chooses a source:
 *   - peers, when a connected peer has the piece and the peers' block queue
 *     is not already deep (then a free web seed takes the request, so both
 *     work at once);
 *   - a web seed, when no peer has the piece and one is alive;
 *   - otherwise peers again: the request waits for a peer that has the piece
 *     (the swarm fails it after NO_PEER_MS).
 * A whole-piece request after a failed hash goes to one peer only, so a bad
 * copy convicts exactly its sender. Blame from peers is per 16 KiB block.
 * Ranges that cross pieces (target metadata read while planning) are split
 * at piece boundaries.
 */
import { IsosyncError } from '../errors.js';
import type { Blame, PieceFetcher } from '../delta/assemble.js';
import type { Span } from '../core/span.js';
import { pickPiece } from './picker.js';
import { PIPELINE_DEPTH, type Swarm } from './swarm.js';
import { Connection } from './connection.js';
import { PER_MIRROR_CONCURRENCY, WebSeed, type MirrorPool } from './webseed.js';

export type Source = WebSeed | Connection;

/**
 * Piece bytes a sync with peers keeps in flight (assemble's window; memory is
 * about twice this). Eight 256 KiB pieces (2 MiB) capped each leecher of a
 * loopback 4-leecher swarm near 30 MB/s: the window drains once per round
 * trip, and round trips grow when every peer's event loop is busy.
 */
export const PEER_WINDOW_BYTES = 8 * 1024 * 1024;
/** Fewest and most pieces in that window. */
export const MIN_PEER_WINDOW_PIECES = 8;
export const MAX_PEER_WINDOW_PIECES = 64;

export class SwarmFetcher implements PieceFetcher<Source> {
  /** Bytes still to fetch per piece (from the plan), for partial-first ordering. */
  missingBytes: (piece: number) => number;

  constructor(
    readonly swarm: Swarm | undefined,
    public pool: MirrorPool | undefined,
    readonly pieceLength: number,
    readonly length: number,
  ) {
    this.missingBytes = () => pieceLength;
    if (swarm) this.concurrency = Math.min(MAX_PEER_WINDOW_PIECES, Math.max(MIN_PEER_WINDOW_PIECES, Math.ceil(PEER_WINDOW_BYTES / pieceLength)));
  }

  /** Pieces assemble works on at once (undefined: its default). */
  readonly concurrency: number | undefined;

  private pieceOf(pos: number): number {
    return Math.floor(pos / this.pieceLength);
  }

  private webSeedFree(avoid: ReadonlySet<unknown>): boolean {
    return (this.pool?.alive ?? []).some((s) => !avoid.has(s) && s.inFlight < PER_MIRROR_CONCURRENCY);
  }

  private usePeers(p: number, avoid: ReadonlySet<unknown>): boolean {
    const swarm = this.swarm;
    if (!swarm) return false;
    const webSeeds = (this.pool?.alive.length ?? 0) > 0;
    if (!webSeeds) return true;
    if (!swarm.canServe(p, avoid) && !swarm.canServe(p)) return false;
    const busy = swarm.pendingBlocks > 2 * PIPELINE_DEPTH * Math.max(1, swarm.connectedPeers);
    return !(busy && this.webSeedFree(avoid));
  }

  async fetch(start: number, end: number, avoid: ReadonlySet<Source> = new Set()): Promise<{ bytes: Uint8Array; seed: Source; blame?: Blame<Source> }> {
    const { parts, seed, blame } = await this.fetchMany([{ start, end }], avoid);
    return { bytes: parts[0]!, seed, ...(blame ? { blame } : {}) };
  }

  /** Ranges of one piece (sorted, disjoint). */
  async fetchMany(ranges: readonly Span[], avoid: ReadonlySet<Source> = new Set()): Promise<{ parts: Uint8Array[]; seed: Source; blame?: Blame<Source> }> {
    const first = ranges[0];
    if (!first) return { parts: [], seed: undefined as never };
    const p = this.pieceOf(first.start);
    if (this.pieceOf(ranges[ranges.length - 1]!.end - 1) !== p) {
      throw new IsosyncError('UNSUPPORTED', `Cannot fetch bytes ${first.start}-${ranges[ranges.length - 1]!.end - 1} at once: they cross a piece boundary`);
    }
    if (this.usePeers(p, avoid)) {
      const swarm = this.swarm!;
      const pieceStart = p * this.pieceLength;
      const whole = ranges.length === 1 && first.start === pieceStart && first.end === Math.min(this.length, pieceStart + this.pieceLength);
      const pin = whole && avoid.size > 0 ? swarm.pickPeerFor(p, avoid) : undefined;
      const { parts, blame } = await swarm.fetchRanges(p, ranges, avoid, pin);
      return { parts, seed: blame[0]!.who, blame };
    }
    if (this.pool && this.pool.alive.length > 0) {
      const { parts, seed } = await this.pool.fetchMany(ranges, avoid as ReadonlySet<WebSeed>);
      return { parts, seed };
    }
    throw new IsosyncError('NETWORK', `Cannot fetch piece ${p}: no web seed or peer to fetch it from`, { piece: p });
  }

  convict(who: Source, why: string): void {
    if (who instanceof WebSeed) this.pool?.convict(who, why);
    else this.swarm?.convict(who, why);
  }

  pick(remaining: readonly number[]): number {
    const swarm = this.swarm;
    // The piece picked now is the last to start: from here on, endgame may ask blocks twice.
    if (swarm) swarm.piecesToStart = remaining.length > 1;
    return pickPiece(remaining, {
      availability: (p) => swarm?.availability(p) ?? 0,
      missingBytes: this.missingBytes,
      webSeeds: (this.pool?.alive.length ?? 0) > 0,
    });
  }

  // RangeFetcher (the target's metadata, read while planning): ranges may cross pieces.
  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    return (await this.fetchRanges([{ start, end }]))[0]!;
  }

  async fetchRanges(ranges: readonly Span[]): Promise<Uint8Array[]> {
    // Split every range at piece boundaries, fetch each piece's parts together, then join.
    const byPiece = new Map<number, Span[]>();
    for (const r of ranges) {
      for (let a = r.start; a < r.end; ) {
        const p = this.pieceOf(a);
        const b = Math.min(r.end, (p + 1) * this.pieceLength);
        const list = byPiece.get(p) ?? [];
        list.push({ start: a, end: b });
        byPiece.set(p, list);
        a = b;
      }
    }
    const got = new Map<number, Uint8Array>();
    await Promise.all(
      [...byPiece.values()].map(async (list) => {
        const { parts } = await this.fetchMany(list);
        list.forEach((r, i) => got.set(r.start, parts[i]!));
      }),
    );
    return ranges.map((r) => {
      const out = new Uint8Array(r.end - r.start);
      for (let a = r.start; a < r.end; ) {
        const bytes = got.get(a)!;
        out.set(bytes, a - r.start);
        a += bytes.length;
      }
      return out;
    });
  }
}
