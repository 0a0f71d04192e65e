/**
 * Planning input is verified before the plan is trusted. The target's
 * metadata is read while planning from whichever source answers first
 * (delta/virtual-target.ts), unverified: a lying peer could make the plan
 * reuse almost nothing. So, before the other pieces, the pieces that hold
 * bytes fetched while planning are assembled and verified (they are needed
 * anyway), and each planning byte is compared with its verified piece:
 *
 *   - all equal: the plan was made from true bytes; assembly goes on;
 *   - some differ: their senders are convicted (struck like any source of a
 *     bad piece), and the plan is made again from the .part as it is now,
 *     where those pieces are verified, so the metadata is read from them;
 *     the bytes that plan fetches anew are checked the same way.
 *
 * At most MAX_PLANS plans; after that the last plan stands (assembly still
 * verifies every piece: the image is right, only reuse may suffer).
 */
import type { Span } from '../core/span.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { assemble, type AssembleEvent, type AssembleStats } from '../delta/assemble.js';
import { pieceNeeds } from '../delta/sure-bytes.js';
import type { PartFile } from '../store/part-file.js';
import type { PieceCheck } from '../torrent/piece-check.js';
import type { Prepared } from './prepare.js';

/** Plans made at most (the first and its re-plans). */
export const MAX_PLANS = 4;
/**
 * Planning segments are compared with each piece as it is written; those in pieces verified
 * before are read back from the .part one window at a time, one read per window of nearby
 * segments, not one per segment: an EROFS plan holds thousands of small ones (9,735 on the bench
 * pair, whose reads one after another took seconds of a loaded machine's wall time).
 */
const WINDOW_BYTES = 1 << 20;
/** A gap between segments wider than this ends a window (its bytes would be read for nothing). */
const WINDOW_GAP_BYTES = 64 << 10;

export interface CheckedPlan {
  readonly prepared: Prepared;
  /** What assembling the pieces of planning bytes did (added to the sync's own). */
  readonly stats: Pick<AssembleStats, 'reusedBytes' | 'fetchedBytes' | 'wastedBytes' | 'guessedWrongBytes' | 'guessedRightFetchedBytes'>;
  /** Bytes fetched while planning, over every plan made. */
  readonly planningBytes: number;
  /** Plans made again because planning bytes were wrong. */
  readonly replans: number;
}

/** `leaves`: the pieces' BEP 52 leaf hashes, when peers give them (assemble.ts). */
export async function checkPlanningInput(
  first: Prepared,
  part: PartFile,
  check: PieceCheck,
  onEvent: (e: AssembleEvent) => void,
  leaves?: (p: PieceIndex) => Promise<Uint8Array | undefined>,
): Promise<CheckedPlan> {
  const stats = { reusedBytes: 0, fetchedBytes: 0, wastedBytes: 0, guessedWrongBytes: 0, guessedRightFetchedBytes: 0 };
  let prepared = first;
  let planningBytes = first.vt.fetchedBytes;
  let replans = 0;
  const engine = prepared.net.engine;
  for (let round = 1; ; round++) {
    const { plan, vt } = prepared;
    // The planning ranges, [start, end) pairs: one per nested inode, thousands (no object per range).
    const cached = vt.cachedBounds();
    const todo = new Set<PieceIndex>();
    for (let i = 0; i < cached.length; i += 2) for (let p = Math.floor(cached[i]! / plan.pieceLength); p * plan.pieceLength < cached[i + 1]!; p++) if (!part.have[p]) todo.add(pieceIndex(p));
    if (todo.size === 0 || !prepared.net.hasSources) break;
    // Only the pieces of planning bytes: the others count as done for this pass.
    const have = part.have.map((ok, p) => ok || !todo.has(pieceIndex(p)));
    engine.planned(pieceNeeds(plan, have));
    const compare = new PlanningCompare(cached, vt, plan.pieceLength);
    const s = await assemble({
      plan,
      check,
      sources: prepared.byteSources,
      cache: vt,
      store: {
        have,
        releasesBytes: part.releasesBytes,
        alignedWrites: part.alignedWrites,
        writePiece: async (p, offset, bytes) => {
          compare.written(p, offset, bytes);
          await part.writePiece(p, offset, bytes);
          have[p] = true;
        },
      },
      fetcher: engine,
      onEvent,
      ...(leaves ? { leaves } : {}),
    });
    stats.reusedBytes += s.reusedBytes;
    stats.fetchedBytes += s.fetchedBytes;
    stats.wastedBytes += s.wastedBytes;
    stats.guessedWrongBytes += s.guessedWrongBytes;
    stats.guessedRightFetchedBytes += s.guessedRightFetchedBytes;
    const wrongSegments = await compare.differing(part);
    for (const c of wrongSegments) {
      const len = c.end - c.start;
      const mine = new Uint8Array(len);
      vt.cacheBytes(mine, c.start, c.end);
      const truth = await part.read(c.start, len);
      // Exact blame: each sender whose own bytes differ from the verified ones, once.
      const guilty = new Set<(typeof engine.sources)[number]>();
      for (const b of engine.sentRange(c)) {
        const a = Math.max(b.start, c.start) - c.start;
        const z = Math.min(b.end, c.end) - c.start;
        if (Buffer.compare(mine.subarray(a, z), truth.subarray(a, z)) !== 0) guilty.add(b.who);
      }
      for (const who of guilty) engine.convict(who, `sent target metadata (bytes ${c.start}-${c.end - 1}) that differs from the verified image`);
    }
    const wrong = wrongSegments.length > 0;
    if (!wrong || round >= MAX_PLANS) break;
    prepared = await prepared.replan();
    planningBytes += prepared.vt.fetchedBytes;
    replans++;
  }
  return { prepared, stats, planningBytes, replans };
}

/**
 * Compares the planning segments (sorted, disjoint; [start, end) pairs) with verified bytes: each piece's as
 * it is written (no read), then, from the .part, the parts of segments that no piece written here held.
 */
class PlanningCompare {
  private readonly wrong = new Set<number>();
  private readonly seen = new Set<number>();

  constructor(
    private readonly cached: Float64Array,
    private readonly vt: Prepared['vt'],
    private readonly pieceLength: number,
  ) {}

  private get count(): number {
    return this.cached.length >> 1;
  }

  private start(i: number): number {
    return this.cached[2 * i]!;
  }

  private end(i: number): number {
    return this.cached[2 * i + 1]!;
  }

  /** Index of the first segment that ends after `pos` (binary search). */
  private firstEndingAfter(pos: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.end(mid) <= pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Piece `p` verified, `bytes` from byte `offset` of the image on. */
  written(p: number, offset: number, bytes: Uint8Array): void {
    this.seen.add(p);
    const end = offset + bytes.length;
    for (let i = this.firstEndingAfter(offset); i < this.count && this.start(i) < end; i++) {
      const a = Math.max(this.start(i), offset);
      const b = Math.min(this.end(i), end);
      if (!this.vt.cachedEquals(a, bytes.subarray(a - offset, b - offset))) this.wrong.add(i);
    }
  }

  /** The segments whose bytes differ from the verified ones. */
  async differing(part: PartFile): Promise<Span[]> {
    // The parts of segments in pieces not written here (verified before, or not assembled): start, end and
    // segment index, three numbers a part.
    const rest: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.start(i);
      const e = this.end(i);
      for (let p = Math.floor(s / this.pieceLength); p * this.pieceLength < e; p++) {
        if (this.seen.has(p)) continue;
        const a = Math.max(s, p * this.pieceLength);
        const b = Math.min(e, (p + 1) * this.pieceLength);
        const n = rest.length;
        if (n > 0 && rest[n - 1] === i && rest[n - 2] === a) rest[n - 2] = b;
        else rest.push(a, b, i);
      }
    }
    const parts = rest.length / 3;
    for (let k = 0; k < parts; ) {
      const start = rest[3 * k]!;
      let j = k + 1;
      while (j < parts && rest[3 * j + 1]! - start <= WINDOW_BYTES && rest[3 * j]! - rest[3 * j - 2]! <= WINDOW_GAP_BYTES) j++;
      const truth = await part.read(start, rest[3 * j - 2]! - start);
      for (; k < j; k++) {
        const a = rest[3 * k]!;
        if (!this.vt.cachedEquals(a, truth.subarray(a - start, rest[3 * k + 1]! - start))) this.wrong.add(rest[3 * k + 2]!);
      }
    }
    return [...this.wrong].sort((x, y) => x - y).map((i) => ({ start: this.start(i), end: this.end(i) }));
  }
}
