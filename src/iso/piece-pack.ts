/**
 * Where fresh content (changed and new files) goes in the free runs of a
 * remaster, when the image will be published in pieces of `pieceBlocks`
 * blocks. Pure.
 *
 * A stock BitTorrent client that downloads into a copy of the base fetches
 * every piece that holds a changed byte, whole. Fresh bytes are fetched
 * anyway; what a placement adds is the kept bytes that share a piece with
 * fresh ones. So the free blocks are weighed per piece:
 *
 *   - a piece whose blocks are all free, or that holds rewritten metadata,
 *     costs nothing to fill;
 *   - any other piece costs its kept blocks (`pieceBlocks - free`), which
 *     its fill would make the client fetch again.
 *
 * Free blocks in pieces that cost nothing are always offered; the others,
 * cheapest per free block first, only as far as the dead space must shrink
 * to stay within the bound (`need`): the rest stay dead, holding the base's
 * bytes, which the client already has. Files are packed into the offered
 * blocks largest first, each whole into the best-fitting run, else (a
 * splittable file) over the largest runs, its extents ascending, the rest
 * left for the end of the image. Rounds repeat while packing falls short
 * of `need` and pieces remain. Piece boundaries count from block 0, as
 * the image's torrent counts them.
 */
import { FreeSpace, type Run } from './free-space.js';

export interface PackItem {
  readonly key: string;
  readonly blocks: number;
  readonly splittable: boolean;
}

export interface PackInput {
  /** The free runs fresh content may use, ascending, disjoint. */
  readonly holes: readonly Run[];
  /** Runs rewritten in any case (directories, path tables): pieces touching them cost nothing. */
  readonly dirty: readonly Run[];
  readonly pieceBlocks: number;
  readonly items: readonly PackItem[];
  /** Free blocks that must be filled, at a cost if need be (0: only what costs nothing). */
  readonly need: number;
  readonly maxExtents: number;
  readonly maxExtentBlocks: number;
}

export interface PackResult {
  /** Runs each item got, ascending; an item absent got none. */
  readonly placed: ReadonlyMap<string, readonly Run[]>;
  /** Blocks of each placed item still to go at the end of the image (after its runs). */
  readonly rest: ReadonlyMap<string, number>;
  /** Blocks filled. */
  readonly filled: number;
  /** Kept blocks in the pieces that fresh content now shares (what a client fetches again). */
  readonly costBlocks: number;
}

interface Piece {
  readonly index: number;
  free: number;
  dirty: boolean;
}

/** Rounds of offering more pieces; each places at least one file or stops. */
const MAX_ROUNDS = 64;

export function packFresh(input: PackInput): PackResult {
  const P = Math.max(1, Math.floor(input.pieceBlocks));
  const pieces = new Map<number, Piece>();
  for (const h of input.holes) {
    for (let i = Math.floor(h.start / P); i * P < h.start + h.length; i++) {
      const lo = Math.max(h.start, i * P), hi = Math.min(h.start + h.length, (i + 1) * P);
      const p = pieces.get(i) ?? { index: i, free: 0, dirty: false };
      p.free += hi - lo;
      pieces.set(i, p);
    }
  }
  for (const d of input.dirty) {
    for (let i = Math.floor(d.start / P); i * P < d.start + d.length; i++) {
      const p = pieces.get(i);
      if (p) p.dirty = true;
    }
  }
  const cost = (p: Piece) => (p.dirty || p.free >= P ? 0 : P - p.free);
  // Free pieces first, then the cheapest per free block (most free blocks), lowest first among equals.
  const order = [...pieces.values()].sort((a, b) => {
    const ca = cost(a) === 0 ? 0 : 1, cb = cost(b) === 0 ? 0 : 1;
    return ca - cb || b.free - a.free || a.index - b.index;
  });

  const cap = new FreeSpace(Number.MAX_SAFE_INTEGER);
  let capBlocks = 0; // cap.total(), kept as a count
  // The holes that touch each piece.
  const holesOf = new Map<number, Run[]>();
  for (const h of input.holes) {
    for (let i = Math.floor(h.start / P); i * P < h.start + h.length; i++) {
      const list = holesOf.get(i) ?? [];
      list.push(h);
      holesOf.set(i, list);
    }
  }
  const offerPiece = (p: Piece) => {
    for (const h of holesOf.get(p.index) ?? []) {
      const lo = Math.max(h.start, p.index * P), hi = Math.min(h.start + h.length, (p.index + 1) * P);
      if (hi > lo) {
        cap.release(lo, hi - lo);
        capBlocks += hi - lo;
      }
    }
  };

  const placed = new Map<string, Run[]>();
  const rest = new Map<string, number>();
  let waiting = input.items.filter((x) => x.blocks > 0).sort((a, b) => b.blocks - a.blocks || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let filled = 0, k = 0;
  for (let round = 0; round < MAX_ROUNDS && waiting.length > 0; round++) {
    // Offer every piece that costs nothing, then paid pieces until the offer covers what is still needed.
    const before = k;
    while (k < order.length && (cost(order[k]!) === 0 || capBlocks < input.need - filled)) offerPiece(order[k++]!);
    if (k === before && round > 0) break;
    const left: PackItem[] = [];
    for (const it of waiting) {
      const whole = it.blocks <= input.maxExtentBlocks ? cap.bestFit(it.blocks) : undefined;
      if (whole !== undefined) {
        placed.set(it.key, [{ start: whole, length: it.blocks }]);
        filled += it.blocks;
        capBlocks -= it.blocks;
      } else if (it.splittable && capBlocks > 0) {
        const parts: Run[] = [];
        let todo = it.blocks;
        for (const r of cap.list().sort((a, b) => b.length - a.length || a.start - b.start)) {
          if (todo === 0 || parts.length >= input.maxExtents - 1) break;
          const n = Math.min(r.length, todo, input.maxExtentBlocks);
          parts.push({ start: r.start, length: n });
          todo -= n;
        }
        parts.sort((a, b) => a.start - b.start);
        for (const x of parts) {
          cap.take(x.start, x.length);
          capBlocks -= x.length;
        }
        placed.set(it.key, parts);
        if (todo > 0) rest.set(it.key, todo);
        filled += it.blocks - todo;
      } else left.push(it);
    }
    waiting = left;
    if (filled >= input.need || k >= order.length) break;
  }
  // Cost: kept blocks of the pieces where fresh content landed.
  let costBlocks = 0;
  const touched = new Set<number>();
  for (const runs of placed.values()) for (const r of runs) for (let i = Math.floor(r.start / P); i * P < r.start + r.length; i++) touched.add(i);
  for (const i of touched) costBlocks += cost(pieces.get(i)!);
  return { placed, rest, filled, costBlocks };
}
