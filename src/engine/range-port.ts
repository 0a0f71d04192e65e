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

/** The range port of the engine: byte ranges anywhere, and who sent each byte (kept for the sync: a few entries per range read). */
export class RangePort<W> {
  private readonly blame: Blame<W>[number][] = [];

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
      for (const b of f.blame) this.blame.push(b);
      return f;
    });
  }

  /** Who sent which bytes of `span` through this port. */
  sentRange(span: Span): Blame<W>[number][] {
    return this.blame.filter((b) => b.start < span.end && b.end > span.start);
  }
}
