/**
 * The plan: for every byte of the target image, where it comes from — a
 * local source at some offset, zeros, or the network.
 *
 * A plan is built from layers in priority order. Each layer is a list of
 * LocalSegments (target span -> source offset); a later layer only fills
 * bytes that no earlier layer covers. Layers are either `exact` (delta hints,
 * file content mapped by ISO metadata, loose files) or `guesses` (same-offset
 * reuse, zeros assumed in padding and unused sectors): the store tries the
 * guesses of a piece and keeps them only if the piece then verifies.
 *
 * Invariant: `local` and every guess layer are sorted and non-overlapping;
 * guesses never overlap `local`; `fetch` = target minus `local` minus the
 * first guess layer. Pure: no I/O.
 */
import type { Layer, LocalSegment, Reason, SegmentTable } from './segments.js';
import { gapSpans, overlayTable, unionBounds } from './overlay.js';
import { cutAt, mergeSpans, spanBounds, spanBytes, subtractSpans, type Span } from '../core/span.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { MULTIPART_PART_BYTES } from '../core/ports.js';

export { CACHE_SOURCE, JoinedLayer, SegmentList, SegmentTable, segmentsIn, ZERO_SOURCE, type Layer, type LocalSegment, type Reason, type Segments } from './segments.js';
export { overlayTable } from './overlay.js';

export interface Plan {
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Exact local bytes: sorted, non-overlapping (a compact table: a live image's plan holds several segments per nested file). */
  readonly local: SegmentTable;
  /** Guess layers, each restricted to bytes `local` does not cover; tried in order. */
  readonly guesses: readonly SegmentTable[];
  /** What must come from the network if the first guesses hold. */
  readonly fetch: readonly Span[];
}

export interface PlanSummary {
  targetBytes: number;
  reusedBytes: number;
  fetchBytes: number;
  /** Reused bytes per reason (exact and first-guess). */
  byReason: Partial<Record<Reason, number>>;
}

/**
 * Overlays layers: each later layer fills only what earlier ones (and `already`) left. Returns sorted,
 * non-overlapping segments within [0, length), as objects (overlayTable: as a table).
 */
export function overlay(length: number, layers: readonly Layer[], already: readonly Span[] = []): LocalSegment[] {
  return overlayTable(length, layers, spanBounds(mergeSpans(already))).toArray();
}

/**
 * Builds a plan from exact layers and guess layers (each in priority order), on columns from the layers to
 * the plan (overlay.ts): no segment object is made.
 */
export function buildPlan(target: { length: number; pieceLength: number }, exact: readonly Layer[], guessLayers: readonly Layer[] = []): Plan {
  const local = overlayTable(target.length, exact);
  const localBounds = local.spanBounds();
  const guesses = guessLayers.map((g) => overlayTable(target.length, [g], localBounds)).filter((g) => g.length > 0);
  const fetch = gapSpans(guesses[0] ? unionBounds(localBounds, guesses[0].spanBounds()) : localBounds, target.length);
  return {
    length: target.length,
    pieceLength: target.pieceLength,
    pieceCount: Math.ceil(target.length / target.pieceLength),
    local,
    guesses,
    fetch,
  };
}

/**
 * Local holes shorter than this between two fetched ranges are fetched with
 * them (assemble.ts bridges them: a request costs a round trip and some 500
 * bytes of headers); the plan counts them as fetched so that it predicts
 * what a sync moves.
 */
export const BRIDGE_BYTES = 1024;

/** Bytes of the holes between fetch spans that a sync will bridge. */
export function bridgedBytes(fetch: readonly Span[]): number {
  let n = 0;
  for (let i = 1; i < fetch.length; i++) {
    const hole = fetch[i]!.start - fetch[i - 1]!.end;
    if (hole > 0 && hole < BRIDGE_BYTES) n += hole;
  }
  return n;
}

/**
 * Share of a 'changed-block' guess that a sync is expected to fetch when
 * nothing was measured (a sync's own report; `isosync plan` samples the
 * guesses instead: sync/changed-block-evidence.ts): the old block gives the
 * new one's prefix up to the first change, half of it for one change
 * anywhere in the block, less what the samples cannot place and the turn
 * margins, and the framing of the plan's other fetched ranges (not counted
 * apart here). Measured: 50 % of the guessed bytes kept on the live bench
 * pair, 35 % on the committed fixture pair; this prior fits the first only.
 */
export const CHANGED_BLOCK_FETCH_SHARE = 0.56;
/** What sampling one changed-block guess's part costs when nothing was measured: some 8 samples of 16 bytes, each a part of a multipart reply (probe.ts), and its new suffix's part. */
export const CHANGED_BLOCK_SAMPLE_BYTES = 4 * 2 * (16 + MULTIPART_PART_BYTES) + MULTIPART_PART_BYTES;

/**
 * `changedBlocks`: what the changed-block guesses cost, measured (sync/changed-block-evidence.ts); without it,
 * CHANGED_BLOCK_FETCH_SHARE of their bytes and CHANGED_BLOCK_SAMPLE_BYTES per piece's part.
 */
export function summarize(plan: Plan, changedBlocks?: number): PlanSummary {
  const byReason: Partial<Record<Reason, number>> = {};
  let changedParts = 0;
  const add = (segs: Iterable<LocalSegment>) => {
    for (const s of segs) {
      byReason[s.reason] = (byReason[s.reason] ?? 0) + (s.end - s.start);
      // A piece samples its own part of a guess: a changed block across a piece boundary is sampled once per piece.
      if (s.reason === 'changed-block') changedParts += Math.floor((s.end - 1) / plan.pieceLength) - Math.floor(s.start / plan.pieceLength) + 1;
    }
  };
  add(plan.local);
  if (plan.guesses[0]) add(plan.guesses[0]);
  // Metadata fetched while planning came from the network too, and so will the bridged holes.
  // A changed block's guess is kept only as far as its samples agree (assemble step 3).
  const guessed = changedBlocks ?? Math.round(CHANGED_BLOCK_FETCH_SHARE * (byReason['changed-block'] ?? 0)) + changedParts * CHANGED_BLOCK_SAMPLE_BYTES;
  const fetchBytes = spanBytes(plan.fetch) + (byReason.fetched ?? 0) + bridgedBytes(plan.fetch) + guessed;
  return { targetBytes: plan.length, reusedBytes: plan.length - fetchBytes, fetchBytes, byReason };
}

/**
 * What the plan still predicts a sync fetches for the pieces not yet `done`
 * (verified in the .part, e.g. the pieces of planning bytes, assembled
 * before the plan is reported): their fetch spans, bridges and guess costs
 * as in summarize (`changedBlocks`: measured, for these pieces), but not their
 * bytes fetched while planning (those are counted where they were fetched, on the wire); each fetched range a part
 * of a multipart reply of `partBytes` (measured on the plan's own requests: sync/evidence-fetch.ts).
 */
export function remainingFetchBytes(plan: Plan, done: readonly boolean[], changedBlocks?: number, partBytes = MULTIPART_PART_BYTES): number {
  const doneSpans: Span[] = [];
  done.forEach((ok, p) => {
    if (ok) doneSpans.push(pieceSpan(plan, pieceIndex(p)));
  });
  const merged = mergeSpans(doneSpans);
  const mergedBounds = spanBounds(merged);
  const rest: Plan = {
    ...plan,
    local: overlayTable(plan.length, [plan.local], mergedBounds),
    guesses: plan.guesses.slice(0, 1).map((g) => overlayTable(plan.length, [g], mergedBounds)),
    fetch: subtractSpans(plan.fetch, merged),
  };
  const s = summarize(rest, changedBlocks);
  // Each fetched range is a part of a multipart reply, with its framing.
  return s.fetchBytes - (s.byReason.fetched ?? 0) + cutAt(rest.fetch, plan.pieceLength).length * partBytes;
}

/** Byte range of a piece. */
export function pieceSpan(plan: { length: number; pieceLength: number }, piece: PieceIndex): Span {
  const start = piece * plan.pieceLength;
  return { start, end: Math.min(plan.length, start + plan.pieceLength) };
}
