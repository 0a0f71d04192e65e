/**
 * One file's turn in a round of delta/reencoded-clusters.ts (steps 2 and 3
 * there): from the cluster just fetched and decoded, the edit's shift in the
 * old file, then each following cluster compressed again from the old bytes
 * at that shift (or found to be an old cluster, reencode-resync.ts) until
 * one fails the check. Pure and synchronous, on plain data (the old file's
 * stored clusters, decoded where read: reencode-old.ts).
 */
import type { Lz4HcEncoder } from '../layouts/erofs/lz4hc.js';
import { inputSizes, reencodeCluster, type ClusterExtent, type Reencoded } from '../layouts/erofs/reencode.js';
import { alignShift, NEEDLE } from './reencode-align.js';
import { OldContent, type StoredFile } from './reencode-old.js';
import { oldFile, sameOldExtent, type NewCluster } from './reencode-resync.js';

export interface ChainInput {
  /** The new file: its size and cluster index. */
  readonly size: number;
  readonly extents: readonly ClusterExtent[];
  /** The cluster fetched, and its uncompressed bytes. */
  readonly k: number;
  readonly plain: Uint8Array;
  /** The shift found so far (target byte x is old byte x - shift). */
  readonly shift: number;
  readonly level: number;
  /** The old file: its stored clusters and its cluster index. */
  readonly old: StoredFile;
  readonly oldExtents: readonly ClusterExtent[];
}

export interface ChainOutput {
  /** The shift found (the one given when the cluster's bytes are nowhere near in the old file). */
  readonly shift: number;
  /** The cluster to fetch next round, if any. */
  readonly want: number | undefined;
  /** The clusters kept, in order, as pairs: the new file's extent, and the old extent it equals (-1: compressed again). */
  readonly kept: readonly number[];
  /** The clusters compressed again, one after another (each its extent's stored length). */
  readonly encoded: Uint8Array;
}

/** Guessed bytes read past the cluster's end before compressing it (most reads stop a few hundred bytes after it). */
const MARGIN = 16 * 1024;

interface Guess extends NewCluster {
  readonly old: OldContent;
  /** The new file as guessed: the fetched cluster, then old bytes at `shift` up to `filled`, zeros past it. */
  readonly bytes: Uint8Array;
  filled: number;
  shift: number;
}

/**
 * The two file-sized buffers a chain works in (the old file as decoded, the new one as guessed), kept from
 * one chain to the next and zeroed for each, as fresh ones would be: allocated for every chain (66 MB each
 * for the 340 chains of the bench pair) they were collected only by full collections of the heap, some ten
 * during re-encoding. The memory is held while the caller keeps the scratch (one re-encoding pass).
 */
export class ChainScratch {
  private guessBuf = new Uint8Array(0);
  private oldBuf = new Uint8Array(0);

  /** `n` zeroed bytes for the guess. */
  guess(n: number): Uint8Array {
    if (this.guessBuf.length < n) this.guessBuf = new Uint8Array(n);
    const b = this.guessBuf.subarray(0, n);
    b.fill(0);
    return b;
  }

  /** `n` zeroed bytes for the old file. */
  old(n: number): Uint8Array {
    if (this.oldBuf.length < n) this.oldBuf = new Uint8Array(n);
    const b = this.oldBuf.subarray(0, n);
    b.fill(0);
    return b;
  }
}

export function runChain(c: ChainInput, enc: Lz4HcEncoder, buffers?: ChainScratch): ChainOutput {
  const old = new OldContent(c.old, undefined, buffers?.old(c.old.size));
  try {
    return chain(c, enc, old, buffers);
  } finally {
    old.close();
  }
}

function chain(c: ChainInput, enc: Lz4HcEncoder, old: OldContent, buffers: ChainScratch | undefined): ChainOutput {
  const ex = c.extents;
  const x = ex[c.k]!;
  const end = c.k + 1 < ex.length ? ex[c.k + 1]!.la : c.size;
  const g: Guess = { extents: ex, sizes: inputSizes(c.size, ex), size: c.size, shift: c.shift, from: oldFile(c.old.size, c.oldExtents), old, bytes: buffers ? buffers.guess(c.size) : new Uint8Array(c.size), filled: 0 };
  // The needle reaches before the cluster only when it is shorter: there the guess is the old bytes at the last shift.
  if (end - NEEDLE < x.la) fillRange(g, end - NEEDLE, x.la);
  g.bytes.set(c.plain, x.la);
  const shift = alignShift(g.bytes, end, old, c.shift);
  // Still inside the edit: the next cluster is new bytes too.
  if (shift === undefined) return { shift: c.shift, want: c.k + 1 < ex.length ? c.k + 1 : undefined, kept: [], encoded: new Uint8Array(0) };
  g.shift = shift;
  g.filled = end;
  const kept: number[] = [];
  let encoded = new Uint8Array(16 * 4096);
  let used = 0;
  const scratch = new Uint8Array(4096);
  for (let n = c.k + 1; n < ex.length; n++) {
    const e = ex[n]!;
    if (e.inline) break;
    const same = sameOldExtent(g, n);
    if (same !== undefined) {
      kept.push(n, same);
      continue;
    }
    const r = reencodeFilled(enc, g, n, c.level, scratch);
    if (!r?.exact) return { shift, want: n, kept, encoded: encoded.subarray(0, used) };
    if (used + r.stored.length > encoded.length) {
      const more = new Uint8Array(Math.max(2 * encoded.length, used + r.stored.length));
      more.set(encoded.subarray(0, used));
      encoded = more;
    }
    encoded.set(r.stored, used);
    used += r.stored.length;
    kept.push(n, -1);
  }
  return { shift, want: undefined, kept, encoded: encoded.subarray(0, used) };
}

/**
 * Compresses extent `n` again from the guess, filled only as far as the compressor reads: to a margin past the
 * cluster first, and further (then compressed again) when the compressor read past what was filled.
 */
function reencodeFilled(enc: Lz4HcEncoder, g: Guess, n: number, level: number, scratch: Uint8Array): Reencoded | undefined {
  const next = n + 1 < g.extents.length ? g.extents[n + 1]!.la : g.size;
  fillTo(g, Math.min(g.size, next + MARGIN));
  let r = reencodeCluster(enc, g.bytes, g.extents, n, g.sizes[n]!, level, scratch);
  while (r && r.reach > g.filled && g.filled < g.size) {
    fillTo(g, Math.min(g.size, Math.max(r.reach + MARGIN, 2 * g.filled - g.extents[n]!.la)));
    r = reencodeCluster(enc, g.bytes, g.extents, n, g.sizes[n]!, level, scratch);
  }
  return r;
}

/** Fills the guess from `g.filled` up to `to` with the old bytes at its shift. */
function fillTo(g: Guess, to: number): void {
  if (to <= g.filled) return;
  fillRange(g, g.filled, to);
  g.filled = to;
}

/** Guess bytes [from, to) as the old bytes at the shift, where there are old bytes. */
function fillRange(g: Guess, from: number, to: number): void {
  const lo = Math.max(from, g.shift, 0);
  const hi = Math.min(to, g.old.size + g.shift);
  if (hi <= lo) return;
  g.old.ensure(lo - g.shift, hi - g.shift);
  g.bytes.set(g.old.bytes.subarray(lo - g.shift, hi - g.shift), lo);
}
