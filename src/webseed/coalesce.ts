/**
 * The ranges one HTTP request asks for a turn's runs of blocks: runs closer
 * than a multipart part's framing (MULTIPART_PART_BYTES) are asked as one
 * range, the bytes between them read and dropped (block-filler.ts puts only
 * asked blocks), since each part of a multipart/byteranges reply costs its
 * framing. A single run stays as it is (a single-range reply has no framing).
 * Pure.
 */
import { MULTIPART_PART_BYTES } from '../core/ports.js';
import { bridgeSpans, type Span } from '../core/span.js';

/** `runs` (sorted, disjoint) as the ranges of one request. */
export function requestRanges(runs: readonly Span[], partBytes = MULTIPART_PART_BYTES): readonly Span[] {
  return runs.length > 1 ? bridgeSpans(runs, partBytes) : runs;
}
