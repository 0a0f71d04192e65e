/**
 * Per-16 KiB verification of reused bytes (BEP 52 leaf hashes).
 *
 * A piece whose local bytes (exact and guessed) fail its hash is, without
 * more, fetched in what was guessed as well: a single wrong byte costs the
 * piece. With the piece's leaf hashes (the SHA-256 of each 16 KiB block,
 * checked against the piece's node first: swarm/hash-fetch.ts), each block
 * is checked on its own, so a wrong guess costs its block:
 *
 *   blockPlan     which blocks verify as filled, which must be fetched whole
 *                 (covered but wrong), and which are partly covered (their
 *                 gaps fetched first, the block fetched whole if it then
 *                 fails);
 *   guessedRight  the measure of what is left: bytes of 16 KiB blocks whose
 *                 guessed bytes were all right but that were fetched anyway
 *                 (their piece, or their sample, went to the network).
 *
 * Blocks are aligned to the piece start (a v2 piece starts its file's
 * block grid); the last block of a file may be short. Pure: node:crypto only.
 */
import { blockMatches, MERKLE_BLOCK_BYTES, SHA256_BYTES } from '../torrent/merkle.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';

/** a ∩ b, both merged. */
function intersectSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  return subtractSpans(a, subtractSpans(a, b));
}

export interface BlockPlan {
  /** Blocks covered by local bytes and matching their leaf hash: kept. */
  readonly verified: Span[];
  /** Bytes to fetch first: the gaps, and every covered block that fails its hash. */
  readonly fetch: Span[];
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
  const partial: Span[] = [];
  blocksOf(span).forEach((b, i) => {
    const gaps = subtractSpans([b], covered);
    if (gaps.length === 0) (blockRight(buf, span, b, leaves, i) ? verified : fetch).push(b);
    else if (gaps.length === 1 && gaps[0]!.start === b.start && gaps[0]!.end === b.end) fetch.push(b);
    else {
      for (const g of gaps) fetch.push(g);
      partial.push(b);
    }
  });
  return { verified, fetch: mergeSpans(fetch), partial };
}

/**
 * Bytes of `fetched` that `guess` (the guessed bytes, filled over `guessed`
 * spans of a buffer holding `span`) had right, counted by 16 KiB block: a
 * block counts when every guessed byte of it that was fetched equals `truth`.
 */
export function guessedRight(truth: Uint8Array, guess: Uint8Array, span: Span, guessed: readonly Span[], fetched: readonly Span[]): number {
  const both = intersectSpans(mergeSpans(guessed), mergeSpans(fetched));
  let n = 0;
  for (const b of blocksOf(span)) {
    const parts = intersectSpans(both, [b]);
    if (parts.length === 0) continue;
    const right = parts.every((s) => Buffer.compare(truth.subarray(s.start - span.start, s.end - span.start), guess.subarray(s.start - span.start, s.end - span.start)) === 0);
    if (right) n += parts.reduce((k, s) => k + s.end - s.start, 0);
  }
  return n;
}
