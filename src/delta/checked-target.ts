/**
 * A ByteSource over the target image for reading nested metadata: a piece
 * whose bytes the candidate segments (the ISO mapping and its first guesses)
 * cover entirely is assembled locally and kept only if it matches the torrent's
 * piece hash (torrent/piece-check.ts); everything else is read through the VirtualTarget (exact local
 * layers, then the network). So the target's nested metadata costs only the
 * bytes that are not already local, and nothing unverified is trusted.
 *
 * The pieces that verified become exact plan segments (`verifiedSegments`).
 * The most recently read verified pieces are kept (MAX_KEPT_BYTES); one read
 * again after that is assembled again, not checked again.
 */
import { checkRange, readInto, type ByteSource } from '../store/byte-source.js';
import { pieceSpan, segmentsIn, ZERO_SOURCE, type LocalSegment } from './plan.js';
import { mergeBounds, mergeSpans, spanBounds, subtractSpans, type Span } from '../core/span.js';
import { pieceIndex } from '../core/ids.js';
import { pieceCheckOf, type CheckSource } from '../torrent/piece-check.js';

/**
 * Verified pieces kept, least recently read dropped first: 16 pieces of 256 KiB. An EROFS walk reads inodes all over
 * the image, and 64 MiB kept every piece that verified (at 100,000 entries some 40 of them, a peak that grew with
 * the image); a level's reads move forward through the image, so a piece is mostly read again while still kept.
 */
const MAX_KEPT_BYTES = 4 * 1024 * 1024;

/** The target: its metainfo, or the v1 fields alone (torrent/piece-check.ts). */
export type PieceTarget = CheckSource;

export class CheckedTarget implements ByteSource {
  private readonly kept = new Map<number, Uint8Array>();
  private readonly verified = new Set<number>();
  private readonly failed = new Set<number>();
  private keptBytes = 0;
  /** A failed piece's buffer, taken by the next piece assembled (a walk tries thousands; most fail where files changed). */
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

  /** The bytes of piece p when the candidates cover it and it verifies, else undefined. */
  private async local(p: number): Promise<Uint8Array | undefined> {
    const hit = this.kept.get(p);
    if (hit) {
      this.kept.delete(p); // to the back: most recently read
      this.kept.set(p, hit);
      return hit;
    }
    if (this.failed.has(p)) return undefined;
    const span = pieceSpan(this.target, pieceIndex(p));
    const segs = segmentsIn(this.candidates, span.start, span.end);
    if (subtractSpans([span], mergeSpans(segs)).length > 0) {
      this.failed.add(p);
      return undefined;
    }
    // Taken synchronously: two pieces assembled at once never share it.
    const buf = this.spare?.length === span.end - span.start ? this.spare : new Uint8Array(span.end - span.start);
    this.spare = undefined;
    const fail = (): undefined => {
      this.failed.add(p);
      this.spare = buf;
      return undefined;
    };
    for (const s of segs) {
      if (s.source === ZERO_SOURCE) {
        buf.fill(0, s.start - span.start, s.end - span.start);
        continue;
      }
      const src = s.source >= 0 ? this.sources[s.source] : undefined;
      if (!src || s.sourceOffset < 0 || s.sourceOffset + (s.end - s.start) > src.size) return fail();
      await readInto(src, buf, s.start - span.start, s.sourceOffset, s.end - s.start);
    }
    if (!this.verified.has(p) && !pieceCheckOf(this.target).matches(pieceIndex(p), buf)) return fail();
    this.verified.add(p);
    // Dropped ones are left to the collector, not reused: a caller may not have copied from one yet.
    while (this.kept.size > 0 && this.keptBytes + buf.length > MAX_KEPT_BYTES) {
      const [q, old] = this.kept.entries().next().value!;
      this.kept.delete(q);
      this.keptBytes -= old.length;
    }
    if (this.keptBytes + buf.length <= MAX_KEPT_BYTES) {
      this.kept.set(p, buf);
      this.keptBytes += buf.length;
    }
    return buf;
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
      const bytes = await this.local(p);
      if (bytes) out.set(bytes.subarray(a - span.start, b - span.start), a - offset);
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
