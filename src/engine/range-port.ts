/**
 * Byte ranges anywhere in the target (the RangeFetcher port: the target's
 * metadata, read while planning) as fetches of one piece each: every range
 * is cut at piece boundaries, the parts of one piece are fetched together,
 * and each range is joined again from its parts.
 */
import { pieceAt, type PieceIndex } from '../core/ids.js';
import type { Blame, Fetched } from '../core/ports.js';
import { cutAt, type Span } from '../core/span.js';

export async function fetchAcrossPieces<W>(ranges: readonly Span[], pieceLength: number, fetch: (p: PieceIndex, list: Span[]) => Promise<Fetched<W>>): Promise<Uint8Array[]> {
  const byPiece = new Map<PieceIndex, Span[]>();
  for (const r of cutAt(ranges, pieceLength)) {
    const p = pieceAt(r.start, pieceLength);
    (byPiece.get(p) ?? byPiece.set(p, []).get(p)!).push(r);
  }
  const got = new Map<number, Uint8Array>();
  await Promise.all(
    [...byPiece].map(async ([p, list]) => {
      const { parts } = await fetch(p, list);
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

/**
 * Who sent which bytes, compact: a sync keeps it to the end (its planning bytes are checked against
 * the verified pieces), one entry per range read, thousands on a live image's EROFS (an inode each).
 * Bounds in a Float64Array, the sender as an index into the few distinct senders; a range that
 * continues the previous one from the same sender extends it.
 */
export class SenderLog<W> {
  private bounds = new Float64Array(64);
  private senders = new Uint32Array(32);
  private count = 0;
  private readonly whos: W[] = [];
  private readonly whoIndex = new Map<W, number>();

  add(start: number, end: number, who: W): void {
    let w = this.whoIndex.get(who);
    if (w === undefined) {
      w = this.whos.push(who) - 1;
      this.whoIndex.set(who, w);
    }
    const n = this.count;
    if (n > 0 && this.senders[n - 1] === w && this.bounds[2 * n - 1] === start) {
      this.bounds[2 * n - 1] = end;
      return;
    }
    if (n === this.senders.length) {
      const b = new Float64Array(4 * n);
      b.set(this.bounds);
      this.bounds = b;
      const s = new Uint32Array(2 * n);
      s.set(this.senders);
      this.senders = s;
    }
    this.bounds[2 * n] = start;
    this.bounds[2 * n + 1] = end;
    this.senders[n] = w;
    this.count = n + 1;
  }

  /** The entries that overlap `span`, in the order they were added. */
  overlapping(span: Span): Blame<W>[number][] {
    const out: Blame<W>[number][] = [];
    for (let i = 0; i < this.count; i++) {
      const start = this.bounds[2 * i]!;
      const end = this.bounds[2 * i + 1]!;
      if (start < span.end && end > span.start) out.push({ start, end, who: this.whos[this.senders[i]!]! });
    }
    return out;
  }
}

/** The range port of the engine: byte ranges anywhere, and who sent each byte (kept for the sync: a few entries per range read). */
export class RangePort<W> {
  private readonly blame = new SenderLog<W>();

  constructor(
    private readonly pieceLength: number,
    private readonly fetch: (p: PieceIndex, list: Span[]) => Promise<Fetched<W>>,
  ) {}

  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    return (await this.fetchRanges([{ start, end }]))[0]!;
  }

  fetchRanges(ranges: readonly Span[]): Promise<Uint8Array[]> {
    return fetchAcrossPieces(ranges, this.pieceLength, async (p, list) => {
      const f = await this.fetch(p, list);
      for (const b of f.blame) this.blame.add(b.start, b.end, b.who);
      return f;
    });
  }

  /** Who sent which bytes of `span` through this port. */
  sentRange(span: Span): Blame<W>[number][] {
    return this.blame.overlapping(span);
  }
}
