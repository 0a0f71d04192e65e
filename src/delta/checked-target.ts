/**
 * A ByteSource over the target image for reading nested metadata: a piece
 * whose bytes the candidate segments (the ISO mapping and its first guesses)
 * cover entirely is assembled locally and kept only if it matches the torrent's
 * piece hash (torrent/piece-check.ts); everything else is read through the VirtualTarget (exact local
 * layers, then the network). So the target's nested metadata costs only the
 * bytes that are not already local, and nothing unverified is trusted.
 *
 * The pieces that verified become exact plan segments (`verifiedSegments`).
 * Only the verdicts are kept: a verified piece read again is read again from
 * its segments' sources (local, read-only images), not hashed again. Its
 * bytes were kept up to 64 MiB, and an EROFS walk touches a piece for most
 * files (inodes lie beside their data): kept bytes grew with the file count.
 * One buffer, reused, assembles the pieces to hash.
 */
import { checkRange, readInto, type ByteSource } from '../store/byte-source.js';
import { pieceSpan, segmentsIn, ZERO_SOURCE, type LocalSegment } from './plan.js';
import { mergeBounds, mergeSpans, spanBounds, subtractSpans, type Span } from '../core/span.js';
import { pieceIndex } from '../core/ids.js';
import { pieceCheckOf, type CheckSource } from '../torrent/piece-check.js';

/** The target: its metainfo, or the v1 fields alone (torrent/piece-check.ts). */
export type PieceTarget = CheckSource;

export class CheckedTarget implements ByteSource {
  private readonly verified = new Set<number>();
  private readonly failed = new Set<number>();
  /** The buffer pieces are assembled in to be hashed, taken by one piece at a time. */
  private spare: Uint8Array | undefined;

  constructor(
    private readonly target: PieceTarget,
    /** Sorted, non-overlapping candidate segments. */
    private readonly candidates: readonly LocalSegment[],
    private readonly sources: readonly (ByteSource | undefined)[],
    private readonly inner: ByteSource & { readExact?(offset: number, length: number): Promise<Uint8Array>; prefetch?(ranges: readonly Span[], align?: number): Promise<void>; prefetchBounds?(bounds: Float64Array, align?: number): Promise<void> },
  ) {}

  get size(): number {
    return this.target.length;
  }

  /** Whether piece p is covered by the candidates and verifies (assembled and hashed once). */
  private async local(p: number): Promise<boolean> {
    if (this.verified.has(p)) return true;
    if (this.failed.has(p)) return false;
    const span = pieceSpan(this.target, pieceIndex(p));
    const segs = segmentsIn(this.candidates, span.start, span.end);
    if (subtractSpans([span], mergeSpans(segs)).length > 0 || !segs.every((s) => this.readable(s))) {
      this.failed.add(p);
      return false;
    }
    // Taken synchronously: two pieces assembled at once never share it.
    const buf = this.spare?.length === span.end - span.start ? this.spare : new Uint8Array(span.end - span.start);
    this.spare = undefined;
    try {
      await this.fill(segs, buf, span.start);
    } finally {
      this.spare = buf;
    }
    if (!pieceCheckOf(this.target).matches(pieceIndex(p), buf)) {
      this.failed.add(p);
      return false;
    }
    this.verified.add(p);
    return true;
  }

  private readable(s: LocalSegment): boolean {
    if (s.source === ZERO_SOURCE) return true;
    const src = s.source >= 0 ? this.sources[s.source] : undefined;
    return src !== undefined && s.sourceOffset >= 0 && s.sourceOffset + (s.end - s.start) <= src.size;
  }

  /** Segments' bytes into `out`, which holds the target's bytes from `at`. */
  private async fill(segs: readonly LocalSegment[], out: Uint8Array, at: number): Promise<void> {
    for (const s of segs) {
      if (s.source === ZERO_SOURCE) out.fill(0, s.start - at, s.end - at);
      else await readInto(this.sources[s.source]!, out, s.start - at, s.sourceOffset, s.end - s.start);
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'the target image');
    const out = new Uint8Array(length);
    const end = offset + length;
    const pl = this.target.pieceLength;
    const remote: Span[] = [];
    for (let p = Math.floor(offset / pl); p * pl < end; p++) {
      const span = pieceSpan(this.target, pieceIndex(p));
      const a = Math.max(span.start, offset);
      const b = Math.min(span.end, end);
      // A verified piece's part, read again from its segments' sources.
      if (await this.local(p)) await this.fill(segmentsIn(this.candidates, a, b), out, offset);
      else remote.push({ start: a, end: b });
    }
    for (const r of mergeSpans(remote)) out.set(await (this.inner.readExact ?? this.inner.read).call(this.inner, r.start, r.end - r.start), r.start - offset);
    return out;
  }

  /** Verifies the covered pieces of `ranges` locally, and has the inner source fetch the rest at once. */
  prefetch(ranges: readonly Span[]): Promise<void> {
    return this.prefetchBounds(spanBounds(ranges));
  }

  /** prefetch for ranges as [start, end) pairs: what is fetched stays pairs too (a level of nested inodes: thousands). */
  async prefetchBounds(bounds: Float64Array): Promise<void> {
    const remote: number[] = [];
    const pl = this.target.pieceLength;
    const merged = mergeBounds(bounds);
    for (let k = 0; k < merged.length; k += 2) {
      const start = merged[k]!;
      const end = merged[k + 1]!;
      for (let p = Math.floor(start / pl); p * pl < end; p++) {
        const span = pieceSpan(this.target, pieceIndex(p));
        if (!(await this.local(p))) remote.push(Math.max(span.start, start), Math.min(span.end, end));
      }
    }
    if (remote.length === 0) return;
    const need = mergeBounds(remote);
    if (this.inner.prefetchBounds) await this.inner.prefetchBounds(need, 1);
    else if (this.inner.prefetch) {
      const spans: Span[] = [];
      for (let k = 0; k < need.length; k += 2) spans.push({ start: need[k]!, end: need[k + 1]! });
      await this.inner.prefetch(spans, 1);
    }
  }

  /** The candidate segments of every piece that verified: exact now. */
  verifiedSegments(): LocalSegment[] {
    const out: LocalSegment[] = [];
    for (const p of [...this.verified].sort((x, y) => x - y)) {
      const span = pieceSpan(this.target, pieceIndex(p));
      for (const seg of segmentsIn(this.candidates, span.start, span.end)) out.push(seg);
    }
    return out;
  }
}
