/**
 * What the plan's evidence (changed-block-evidence.ts, in-place-evidence.ts,
 * piece-evidence.ts) shares on the wire: its own samples, fetched in
 * multipart requests, and what a sync's samples and the ranges assembly asks
 * after them cost, priced with the framing each part of a multipart reply
 * was measured to cost on the plan's own requests.
 */
import type { RangeFetcher } from '../core/ports.js';
import { MULTIPART_PART_BYTES } from '../core/ports.js';
import { mergeSpans, spanBytes, subtractSpans, type Span } from '../core/span.js';
import { stillToFetch } from '../delta/sure-bytes.js';

/** Ranges per request (one multipart reply). */
const GROUP = 48;

/** A RangeFetcher that counts the ranges it was asked for and the bytes they held (the plan's own samples). */
export class CountingFetcher implements RangeFetcher {
  ranges = 0;
  bytes = 0;
  constructor(private readonly inner: RangeFetcher) {}

  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    const b = await this.inner.fetchRange(start, end);
    this.ranges++;
    this.bytes += b.length;
    return b;
  }

  async fetchRanges(spans: readonly Span[]): Promise<Uint8Array[]> {
    const got = this.inner.fetchRanges ? await this.inner.fetchRanges(spans) : await Promise.all(spans.map((s) => this.inner.fetchRange(s.start, s.end)));
    this.ranges += spans.length;
    for (const b of got) this.bytes += b.length;
    return got;
  }

  /**
   * Bytes each range cost beyond its own, given the bytes the wire carried meanwhile (`wire`: web seeds' replies
   * with their framing, peers' blocks): a multipart reply's boundary and headers per part, its closing line per
   * reply (some 120 bytes for nginx and a file of hundreds of MB, where MULTIPART_PART_BYTES is a floor). Without
   * ranges asked, MULTIPART_PART_BYTES.
   */
  partBytes(wire: number): number {
    return this.ranges > 0 && wire >= this.bytes ? (wire - this.bytes) / this.ranges : MULTIPART_PART_BYTES;
  }
}

/** Requests of one round on the wire at once: a round's few requests go together, a mirror is never asked hundreds at once. */
const IN_FLIGHT = 4;

/** Fetches `spans` (sorted) GROUP at a time (one multipart reply each), up to IN_FLIGHT requests at once; returns their bytes in order. */
export async function fetchAll(fetcher: RangeFetcher, spans: readonly Span[]): Promise<Uint8Array[]> {
  const n = Math.ceil(spans.length / GROUP);
  const out: Uint8Array[][] = new Array(n);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < n && !failed) {
      const i = next++;
      const group = spans.slice(i * GROUP, (i + 1) * GROUP);
      try {
        out[i] = fetcher.fetchRanges ? await fetcher.fetchRanges(group) : await Promise.all(group.map((s) => fetcher.fetchRange(s.start, s.end)));
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, lane));
  return out.flat();
}

/**
 * What assembly fetches for a sampled segment `seg` once its sampler is done (delta/assemble.ts): its samples, and
 * what it does not keep (`keep`) in the ranges assembly asks for it (holes shorter than BRIDGE_BYTES bridged where no
 * sample lies, holes shorter than REFETCH_BELOW fetched again: delta/sure-bytes.ts `stillToFetch`), each a part of a multipart reply of `partBytes`.
 */
export function sampledFetch(seg: Span, keep: readonly Span[], samples: readonly Span[], partBytes: number): number {
  const sampled = mergeSpans(samples);
  const need = stillToFetch(subtractSpans([seg], mergeSpans(keep)), sampled);
  return spanBytes(sampled) + spanBytes(need) + (samples.length + need.length) * partBytes;
}
