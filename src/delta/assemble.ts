/**
 * Assembles the target piece by piece from a plan: local bytes first, then
 * only the missing byte ranges from the network, and verifies every piece
 * against its SHA-1 before it is written.
 *
 * For each piece not yet verified, in order, until one verifies:
 *   1. exact local bytes + each guess layer that completes the piece (no fetch);
 *   2. exact local bytes + the first guess layer + fetch what is still missing;
 *   3. exact local bytes + fetch everything else (the guesses were wrong);
 *   4. fetch the whole piece (the local bytes were wrong), from a mirror not
 *      used for this piece yet; a whole piece that fails its hash convicts the
 *      mirror that sent it, which is dropped, and the piece is fetched again.
 * A piece never reaches the disk unverified. Pieces run a few at a time, so
 * memory is bounded by `concurrency` x piece length.
 */
import { createHash } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';
import { CACHE_SOURCE, pieceSpan, segmentsIn, ZERO_SOURCE, type LocalSegment, type Plan } from './plan.js';
import { mergeSpans, spanBytes, subtractSpans, type Span } from './runs.js';

/** Where fetched bytes come from: web seeds now, peers later (same interface). */
export interface PieceFetcher<Who = unknown> {
  fetch(start: number, end: number, avoid?: ReadonlySet<Who>): Promise<{ bytes: Uint8Array; seed: Who }>;
  /** The source `who` sent bytes that failed a piece hash on their own. */
  convict(who: Who, why: string): void;
}

export interface PieceStore {
  readonly have: readonly boolean[];
  writePiece(piece: number, offset: number, bytes: Uint8Array): Promise<void>;
}

export interface AssembleStats {
  /** Bytes of verified pieces that came from local sources. */
  reusedBytes: number;
  /** Bytes fetched from the network (all of them, including what failed a hash). */
  fetchedBytes: number;
  /** Fetched bytes that were thrown away because a piece failed its hash. */
  wastedBytes: number;
  /** Pieces that were already verified in the .part (resume). */
  resumedPieces: number;
  piecesDone: number;
  pieceCount: number;
}

export type AssembleEvent =
  | { type: 'piece'; piece: number; fetched: number; reused: number }
  | { type: 'hash-failed'; piece: number; attempt: string };

export interface AssembleInput<Who> {
  readonly plan: Plan;
  /** pieceCount x 20 bytes of SHA-1. */
  readonly pieces: Uint8Array;
  /** Local sources by index (undefined: not available). */
  readonly sources: readonly (ByteSource | undefined)[];
  /** Bytes fetched while planning (CACHE_SOURCE segments). */
  readonly cache?: { cacheBytes(out: Uint8Array, start: number, end: number): void };
  readonly store: PieceStore;
  readonly fetcher?: PieceFetcher<Who>;
  readonly concurrency?: number;
  readonly onEvent?: (e: AssembleEvent) => void;
}

function sha1Matches(bytes: Uint8Array, pieces: Uint8Array, piece: number): boolean {
  const got = createHash('sha1').update(bytes).digest();
  const want = pieces.subarray(piece * 20, piece * 20 + 20);
  return Buffer.compare(got, want) === 0;
}

/** Copies segments into `buf` (buf[0] is target byte `base`); returns the spans filled. */
async function fillSegments(
  buf: Uint8Array,
  base: number,
  segs: readonly LocalSegment[],
  input: Pick<AssembleInput<unknown>, 'sources' | 'cache'>,
): Promise<Span[]> {
  const filled: Span[] = [];
  for (const s of segs) {
    const len = s.end - s.start;
    if (s.source === ZERO_SOURCE) {
      buf.fill(0, s.start - base, s.end - base);
    } else if (s.source === CACHE_SOURCE) {
      if (!input.cache) continue;
      const tmp = new Uint8Array(len);
      input.cache.cacheBytes(tmp, s.start, s.end);
      buf.set(tmp, s.start - base);
    } else {
      const src = input.sources[s.source];
      if (!src || s.sourceOffset < 0 || s.sourceOffset + len > src.size) continue;
      try {
        buf.set(await src.read(s.sourceOffset, len), s.start - base);
      } catch {
        continue; // an unreadable source byte is simply not local
      }
    }
    filled.push({ start: s.start, end: s.end });
  }
  return mergeSpans(filled);
}

export async function assemble<Who>(input: AssembleInput<Who>): Promise<AssembleStats> {
  const { plan, store } = input;
  const stats: AssembleStats = {
    reusedBytes: 0,
    fetchedBytes: 0,
    wastedBytes: 0,
    resumedPieces: store.have.filter(Boolean).length,
    piecesDone: store.have.filter(Boolean).length,
    pieceCount: plan.pieceCount,
  };
  const todo: number[] = [];
  for (let p = 0; p < plan.pieceCount; p++) if (!store.have[p]) todo.push(p);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const p = todo[next++]!;
      await assemblePiece(input, p, stats);
    }
  };
  const n = Math.max(1, Math.min(input.concurrency ?? 8, todo.length));
  await Promise.all(Array.from({ length: n }, worker));
  return stats;
}

async function assemblePiece<Who>(input: AssembleInput<Who>, p: number, stats: AssembleStats): Promise<void> {
  const { plan, pieces } = input;
  const span = pieceSpan(plan, p);
  const len = span.end - span.start;
  const whole: Span[] = [span];
  const base = new Uint8Array(len);
  const localSegs = segmentsIn(plan.local, span.start, span.end);
  const localFilled = await fillSegments(base, span.start, localSegs, input);
  const gaps = subtractSpans(whole, localFilled);
  // Bytes fetched while planning (target metadata) are network bytes, not reuse.
  const cached = localSegs.reduce((n, s) => (s.source === CACHE_SOURCE ? n + s.end - s.start : n), 0);
  const done = async (bytes: Uint8Array, fetchedNow: number) => {
    const fetched = Math.min(len, fetchedNow + (fetchedNow === len ? 0 : cached));
    await input.store.writePiece(p, span.start, bytes);
    stats.reusedBytes += len - fetched;
    stats.piecesDone++;
    input.onEvent?.({ type: 'piece', piece: p, fetched, reused: len - fetched });
  };

  // 1. Local bytes plus a guess layer that completes the piece.
  if (gaps.length === 0) {
    if (sha1Matches(base, pieces, p)) return done(base, 0);
    input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'local' });
  }
  const guessFills: { buf: Uint8Array; filled: Span[] }[] = [];
  for (const layer of plan.guesses) {
    const segs = segmentsIn(layer, span.start, span.end);
    if (segs.length === 0) continue;
    const buf = base.slice();
    const filled = await fillSegments(buf, span.start, segs, input);
    const missing = subtractSpans(gaps, filled);
    guessFills.push({ buf, filled });
    if (missing.length === 0) {
      if (sha1Matches(buf, pieces, p)) return done(buf, 0);
      input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'guess' });
    }
  }
  const fetcher = input.fetcher;
  if (!fetcher) {
    throw new IsosyncError('NETWORK', `Cannot complete piece ${p}: it is not all local and there is no web seed or peer`, { piece: p });
  }
  const used = new Set<Who>();
  const fetchInto = async (buf: Uint8Array, ranges: readonly Span[], avoid: ReadonlySet<Who>): Promise<number> => {
    let n = 0;
    for (const r of ranges) {
      const { bytes, seed } = await fetcher.fetch(r.start, r.end, avoid);
      used.add(seed);
      buf.set(bytes, r.start - span.start);
      n += bytes.length;
      stats.fetchedBytes += bytes.length;
    }
    return n;
  };

  // 2. Local + first guess + fetch the rest.
  const first = guessFills[0];
  if (first) {
    const missing = subtractSpans(gaps, first.filled);
    if (missing.length > 0) {
      const buf = first.buf.slice();
      const n = await fetchInto(buf, missing, new Set());
      if (sha1Matches(buf, pieces, p)) return done(buf, n);
      stats.wastedBytes += n;
      input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'guess+fetch' });
    }
  }
  // 3. Local + fetch everything not exact-local.
  if (gaps.length > 0 && spanBytes(gaps) < len) {
    const buf = base.slice();
    const n = await fetchInto(buf, gaps, new Set());
    if (sha1Matches(buf, pieces, p)) return done(buf, n);
    stats.wastedBytes += n;
    input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'local+fetch' });
  }
  // 4. The whole piece from the network; a failure here convicts the sender.
  for (;;) {
    const buf = new Uint8Array(len);
    const { bytes, seed } = await fetcher.fetch(span.start, span.end, used);
    stats.fetchedBytes += bytes.length;
    buf.set(bytes);
    if (sha1Matches(buf, pieces, p)) return done(buf, len);
    stats.wastedBytes += bytes.length;
    input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'whole' });
    fetcher.convict(seed, `piece ${p} failed its hash`);
    used.add(seed);
  }
}
