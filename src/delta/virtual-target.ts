/**
 * A ByteSource over the target image before it exists: bytes come from the
 * exact local segments known so far (delta hints), then from what was
 * already fetched, and only the rest from the network. The ISO reader reads
 * the target's metadata through it, so reading a new release's directory
 * tree fetches only the metadata bytes that are not already local.
 *
 * Fetched bytes stay in memory (metadata is small) and become CACHE_SOURCE
 * segments of the plan, so nothing is fetched twice. Nothing read here is
 * trusted: the pieces are verified when the image is assembled.
 */
import type { ByteSource } from '../store/byte-source.js';
import { checkRange } from '../store/byte-source.js';
import { IsosyncError } from '../errors.js';
import { CACHE_SOURCE, segmentsIn, ZERO_SOURCE, type LocalSegment } from './plan.js';
import { mergeSpans, subtractSpans, type Span } from './runs.js';

/** Anything that can deliver a byte range of the target from the network. */
export interface RangeFetcher {
  fetchRange(start: number, end: number): Promise<Uint8Array>;
}

/** Fetch granularity for metadata: a whole ISO sector, so neighbouring records come along. */
const FETCH_ALIGN = 2048;

export class VirtualTarget implements ByteSource {
  /** Fetched ranges, sorted and non-overlapping, with their bytes. */
  private readonly cache: { start: number; bytes: Uint8Array }[] = [];
  fetchedBytes = 0;

  constructor(
    readonly size: number,
    private readonly local: readonly LocalSegment[],
    private readonly sources: readonly (ByteSource | undefined)[],
    private readonly fetcher: RangeFetcher | undefined,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'the target image');
    const out = new Uint8Array(length);
    const end = offset + length;
    const localSegs = segmentsIn(this.local, offset, end);
    for (const seg of localSegs) await this.fill(out, offset, seg);
    const cached = this.cachedSpans();
    const gaps = subtractSpans([{ start: offset, end }], mergeSpans([...localSegs.map((s) => ({ start: s.start, end: s.end })), ...cached]));
    if (gaps.length > 0) {
      if (!this.fetcher) {
        throw new IsosyncError('NETWORK', `Cannot read the target image at byte ${gaps[0]!.start}: no web seed or peer to fetch it from`);
      }
      for (const g of gaps) {
        const a = Math.floor(g.start / FETCH_ALIGN) * FETCH_ALIGN;
        const b = Math.min(this.size, Math.ceil(g.end / FETCH_ALIGN) * FETCH_ALIGN);
        // Fetch only what is neither local nor cached inside the aligned range.
        const need = subtractSpans([{ start: a, end: b }], mergeSpans([...this.localSpansIn(a, b), ...this.cachedSpans()]));
        for (const n of need) {
          const bytes = await this.fetcher.fetchRange(n.start, n.end);
          this.fetchedBytes += bytes.length;
          this.addCache(n.start, bytes);
        }
      }
    }
    for (const c of this.cache) {
      const a = Math.max(c.start, offset);
      const b = Math.min(c.start + c.bytes.length, end);
      if (b > a) out.set(c.bytes.subarray(a - c.start, b - c.start), a - offset);
    }
    return out;
  }

  private localSpansIn(a: number, b: number): Span[] {
    return segmentsIn(this.local, a, b).map((s) => ({ start: s.start, end: s.end }));
  }

  private async fill(out: Uint8Array, offset: number, seg: LocalSegment): Promise<void> {
    if (seg.source === ZERO_SOURCE) return; // `out` starts zeroed
    const src = seg.source >= 0 ? this.sources[seg.source] : undefined;
    if (!src) return;
    const len = seg.end - seg.start;
    if (seg.sourceOffset + len > src.size) return;
    out.set(await src.read(seg.sourceOffset, len), seg.start - offset);
  }

  private cachedSpans(): Span[] {
    return this.cache.map((c) => ({ start: c.start, end: c.start + c.bytes.length }));
  }

  private addCache(start: number, bytes: Uint8Array): void {
    let i = 0;
    while (i < this.cache.length && this.cache[i]!.start < start) i++;
    this.cache.splice(i, 0, { start, bytes });
  }

  /** The fetched bytes as plan segments (exact), served from `cacheBytes`. */
  cachedSegments(): LocalSegment[] {
    return this.cache.map((c) => ({ start: c.start, end: c.start + c.bytes.length, source: CACHE_SOURCE, sourceOffset: c.start, reason: 'fetched' as const }));
  }

  /** Copies cached bytes of [start, end) into `out` (at out[0] = start); returns the spans it filled. */
  cacheBytes(out: Uint8Array, start: number, end: number): void {
    for (const c of this.cache) {
      const a = Math.max(c.start, start);
      const b = Math.min(c.start + c.bytes.length, end);
      if (b > a) out.set(c.bytes.subarray(a - c.start, b - c.start), a - start);
    }
  }
}
