/**
 * Per-16 KiB verification of reused bytes (BEP 52 leaf hashes).
 *
 * A piece whose local bytes (exact and guessed) fail its hash is, without
 * more, fetched in what was guessed as well: a single wrong byte costs the
 * piece. With the piece's leaf hashes (the SHA-256 of each 16 KiB block,
 * checked against the piece's node first: swarm/hash-fetch.ts), each block
 * is checked on its own, so a wrong guess costs its block:
 *
 *   blockPlan     which blocks verify as filled, which are wrong (covered
 *                 but failing), and which are partly covered (their gaps
 *                 fetched first, the block fetched whole if it then fails);
 *   wrongBlock-   a wrong block is not fetched whole at once: its guessed
 *   Samples/Fetch (evidence-based) part is sampled as probe.ts samples a
 *                 failing piece, and only the stretches next to a sample
 *                 that differs are fetched, so a changed compressed block
 *                 keeps its unchanged start in the block where it changes;
 *                 its exact bytes are kept. The block is checked again and
 *                 fetched whole if it still fails;
 *   guessedRight  the measure of what is left: bytes of 16 KiB blocks whose
 *                 guessed bytes were all right but that were fetched anyway
 *                 (their piece, or their sample, went to the network).
 *
 * Blocks are aligned to the piece start (a v2 piece starts its file's
 * block grid); the last block of a file may be short. Pure: node:crypto only.
 */
import { blockMatches, MERKLE_BLOCK_BYTES, SHA256_BYTES } from '../torrent/merkle.js';
import { clipSpans, mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { FIRST_SPACING, PROBE_BYTES, PROBE_MIN_BYTES } from './probe.js';


export interface BlockPlan {
  /** Blocks covered by local bytes and matching their leaf hash: kept. */
  readonly verified: Span[];
  /** Bytes to fetch first: the gaps (uncovered blocks whole, and the gaps of partly covered ones). */
  readonly fetch: Span[];
  /** Blocks covered by local bytes that fail their leaf hash (wrongBlockSamples, wrongBlockFetch). */
  readonly wrong: Span[];
  /** Partly covered blocks: checked once their gaps are here, fetched whole if wrong. */
  readonly partial: Span[];
}

/** The blocks of `span` (absolute offsets), 16 KiB each from its start, the last one shorter. */
export function blocksOf(span: Span): Span[] {
  const out: Span[] = [];
  for (let s = span.start; s < span.end; s += MERKLE_BLOCK_BYTES) out.push({ start: s, end: Math.min(span.end, s + MERKLE_BLOCK_BYTES) });
  return out;
}

function leafAt(leaves: Uint8Array, i: number): Uint8Array | undefined {
  const leaf = leaves.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES);
  return leaf.length === SHA256_BYTES ? leaf : undefined;
}

/** Whether block `b` of `buf` (which holds `span`) matches leaf `i`. */
export function blockRight(buf: Uint8Array, span: Span, b: Span, leaves: Uint8Array, i: number): boolean {
  const leaf = leafAt(leaves, i);
  return leaf !== undefined && blockMatches(buf.subarray(b.start - span.start, b.end - span.start), leaf);
}

/** How to complete `span` held in `buf`, `covered` by local bytes, with its trusted leaf hashes. */
export function blockPlan(buf: Uint8Array, span: Span, covered: readonly Span[], leaves: Uint8Array): BlockPlan {
  const verified: Span[] = [];
  const fetch: Span[] = [];
  const wrong: Span[] = [];
  const partial: Span[] = [];
  blocksOf(span).forEach((b, i) => {
    const gaps = subtractSpans([b], covered);
    if (gaps.length === 0) (blockRight(buf, span, b, leaves, i) ? verified : wrong).push(b);
    else if (gaps.length === 1 && gaps[0]!.start === b.start && gaps[0]!.end === b.end) fetch.push(b);
    else {
      for (const g of gaps) fetch.push(g);
      partial.push(b);
    }
  });
  return { verified, fetch: mergeSpans(fetch), wrong, partial };
}

/** Bytes at either end of a sample that vouch for the stretch beside it (fewer equal bytes in a row are chance). */
const EDGE_BYTES = 16;

/**
 * The parts of the guessed segments `doubt` in `block`, each with its
 * samples: at its start, every FIRST_SPACING, and at its end. Segments are
 * sampled one by one, not merged: a changed compressed block's segment
 * starts with rewritten header bytes.
 */
function sampledParts(block: Span, doubt: readonly Span[]): { part: Span; samples: Span[] }[] {
  return doubt.flatMap((d) => clipSpans([d], block.start, block.end)).map((part) => {
    const samples: Span[] = [];
    if (part.end - part.start < PROBE_MIN_BYTES) return { part, samples };
    for (let s = part.start; s + PROBE_BYTES < part.end; s += FIRST_SPACING) samples.push({ start: s, end: s + PROBE_BYTES });
    samples.push({ start: part.end - PROBE_BYTES, end: part.end });
    return { part, samples: mergeSpans(samples) };
  });
}

/** Whether the local bytes `local` and the fetched ones (`net()`), both buffers of `span`, are the same at a span. */
export function sameBytesAt(local: Uint8Array, net: () => Uint8Array, span: Span): (s: Span) => boolean {
  return (s) => Buffer.compare(local.subarray(s.start - span.start, s.end - span.start), net().subarray(s.start - span.start, s.end - span.start)) === 0;
}

/** The samples to fetch of `wrong` blocks' guessed parts (`doubt`): PROBE_BYTES each, FIRST_SPACING apart. */
export function wrongBlockSamples(wrong: readonly Span[], doubt: readonly Span[]): Span[] {
  return mergeSpans(wrong.flatMap((b) => sampledParts(b, doubt).flatMap((x) => x.samples)));
}

/**
 * What to fetch of `wrong` blocks once their samples are here (`agrees`:
 * whether a sample equals the local bytes): in each guessed part, every
 * sample that differs and every stretch between two samples unless both
 * agree; a part too short to sample whole; a block with no guessed byte
 * whole (an exact segment was wrong). Guessed bytes between agreeing
 * samples and exact bytes are kept: a changed compressed block keeps its
 * start up to the last agreeing sample. `margin`: bytes also fetched before
 * each such stretch, within its part (a second try for a block that still
 * failed: an xz range coder's carry rewrites bytes before the first change a
 * sample sees, as probe.ts's margins allow for).
 */
export function wrongBlockFetch(wrong: readonly Span[], doubt: readonly Span[], agrees: (sample: Span) => boolean, margin = 0): Span[] {
  const out: Span[] = [];
  for (const b of wrong) {
    const parts = sampledParts(b, doubt);
    if (parts.length === 0) out.push(b);
    for (const { part, samples } of parts) {
      if (samples.length === 0) {
        out.push(part);
        continue;
      }
      const widened = (s: Span) => out.push({ start: Math.max(part.start, s.start - margin), end: s.end });
      samples.forEach((s, i) => {
        if (!agrees(s)) widened(s);
        const next = samples[i + 1];
        // A stretch is vouched for by the bytes on both sides of it: a changed block's rewritten header spoils only the start of its first sample.
        if (next && !(agrees({ start: s.end - EDGE_BYTES, end: s.end }) && agrees({ start: next.start, end: next.start + EDGE_BYTES }))) widened({ start: s.end, end: next.start });
      });
    }
  }
  return mergeSpans(out.filter((s) => s.end > s.start));
}

/**
 * Bytes of `fetched` that `guess` (the guessed bytes, filled over `guessed`
 * spans of a buffer holding `span`) had right, counted by 16 KiB block: a
 * block counts when every guessed byte of it that was fetched equals `truth`.
 */
export function guessedRight(truth: Uint8Array, guess: Uint8Array, span: Span, guessed: readonly Span[], fetched: readonly Span[]): number {
  const fetchedMerged = mergeSpans(fetched);
  // Each guessed span clipped to what was fetched (binary search): linear in the spans, not spans x blocks.
  const both = mergeSpans(mergeSpans(guessed).flatMap((g) => clipSpans(fetchedMerged, g.start, g.end, true)));
  let n = 0;
  for (const b of blocksOf(span)) {
    const parts = clipSpans(both, b.start, b.end, true);
    if (parts.length === 0) continue;
    const right = parts.every((s) => Buffer.compare(truth.subarray(s.start - span.start, s.end - span.start), guess.subarray(s.start - span.start, s.end - span.start)) === 0);
    if (right) n += parts.reduce((k, s) => k + s.end - s.start, 0);
  }
  return n;
}
