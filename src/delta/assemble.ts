/**
 * Assembles the target piece by piece from a plan: local bytes first, then
 * only the missing byte ranges from the network, and verifies every piece
 * against its hash (SHA-1, or BEP 52's merkle tree for v2-only torrents)
 * before it is written.
 *
 * For each piece not yet verified, in order, until one verifies:
 *   1. exact local bytes, alone or with a guess layer that completes the piece (no fetch);
 *   2. exact local bytes + each guess layer + fetch what is still missing;
 *   3. the evidence-based segments (files mapped by name and size, nested
 *      files mapped by block sizes, the first guess layer) sampled where they
 *      are long enough (probe.ts: a changed compressed block keeps the old
 *      block's prefix, a file changed in place all but the changed run), the
 *      rest fetched;
 *   4. then evidence dropped in groups, least certain and smallest first, and
 *      fetched instead (guess-policy.ts); a mapping found wrong is not
 *      trusted where it continues in the next piece (Distrust);
 *   5. the whole piece from one source not used for it yet; a whole copy that
 *      fails its hash convicts its sender.
 * With the piece's leaf hashes (BEP 52, `leaves`), a piece whose guesses fail
 * goes block by block before 2 (block-verify.ts): each 16 KiB block of the
 * local bytes and the first guess layer is checked on its own; in a block that
 * fails, its guesses are sampled and only what no sample vouches for fetched.
 * Network bytes come through the PieceFetcher port (core/ports.ts: the
 * download engine, with blame per block) and are fetched once per piece and
 * shared by all attempts. Once a piece verifies, any network range that differs
 * from it convicts its sender (exact blame, no guessing). A piece never reaches
 * the disk unverified (the store may check and write it at once: verify-write.ts).
 * Pieces run a few at a time, so memory is bounded by `concurrency` x piece length (by default a window of 2 MiB
 * of pieces, 4 MiB for a store that batches its writes: `assembleWindow`): piece buffers come from a pool of that size (a fresh 256 KiB buffer per piece cost
 * a zero-fill, page faults and garbage collection for every piece, some 700 MB of churn for a 350 MB image), and a
 * piece that needs no network never allocates the network buffer (page-aligned, `alignedWrites`).
 */
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';
import type { PieceCheck } from '../torrent/piece-check.js';
import type { Blame, Fetched, PieceFetcher, PieceStore } from '../core/ports.js';
import { allPieces, type PieceIndex } from '../core/ids.js';
import { CACHE_SOURCE, overlay, pieceSpan, segmentsIn, type LocalSegment, type Plan } from './plan.js';
import { mergeSpans, spanBytes, subtractSpans, type Span } from '../core/span.js';
import { stillToFetch } from './sure-bytes.js';
import { attempts, CERTAINTY, Distrust, learnFrom } from './guess-policy.js';
import { alignedPool, BufferPool, fillOnStore, fillSegments, ReadWindows } from './piece-fill.js';
import { cutBySamples as cutBy, knownToDiffer, SegmentProbe, WIDER_TURN_MARGINS } from './probe.js';
import { LEAST_CERTAIN_RANK, newProbe, RoundGate, SampleAhead, sampledUpTo, segmentKey, type Sampling } from './sample-ahead.js';
import { blockPlan, blockRight, guessedRight, sameBytesAt, wrongBlockFetch, wrongBlockSamples } from './block-verify.js';
import { MERKLE_BLOCK_BYTES } from '../torrent/merkle.js';
import { assembleWindow, nextPieceFrom } from './assemble-window.js';
import { verifyPiece, writtenOnMatch } from './verify-write.js';

export type { Blame, PieceFetcher, PieceStore };

export interface AssembleStats {
  /** Bytes of verified pieces that came from local sources. */
  reusedBytes: number;
  /** Bytes fetched from the network (all of them, including what failed a hash). */
  fetchedBytes: number;
  /** Fetched bytes that were thrown away because a piece failed its hash. */
  wastedBytes: number;
  /**
   * Fetched bytes of verified pieces that a guess had covered ("guessed wrong,
   * fetched again"): the parts of evidence-based segments that differed, and
   * the samples that checked them.
   */
  guessedWrongBytes: number;
  /**
   * Fetched bytes that a guess had right, counted by 16 KiB block (a block
   * whose fetched guessed bytes all equal the verified piece): what a wrong
   * guess elsewhere in their piece (or a sample) cost (block-verify.ts).
   */
  guessedRightFetchedBytes: number;
  /** Pieces that were already verified in the .part (resume). */
  resumedPieces: number;
  piecesDone: number;
  pieceCount: number;
}

export type AssembleEvent =
  | { type: 'piece'; piece: PieceIndex; fetched: number; reused: number }
  | { type: 'hash-failed'; piece: PieceIndex; attempt: string };

export interface AssembleInput<Who> {
  readonly plan: Plan;
  /** Whether bytes are a piece of the target (SHA-1 or BEP 52 merkle: torrent/piece-check.ts). */
  readonly check: PieceCheck;
  /** Local sources by index (undefined: not available). */
  readonly sources: readonly (ByteSource | undefined)[];
  /** Bytes fetched while planning (CACHE_SOURCE segments). */
  readonly cache?: { cacheBytes(out: Uint8Array, start: number, end: number): void };
  readonly store: PieceStore;
  readonly fetcher?: PieceFetcher<Who>;
  readonly concurrency?: number;
  readonly onEvent?: (e: AssembleEvent) => void;
  /** The piece's trusted 16 KiB leaf hashes (BEP 52), when they can be had: per-block verification of its guesses. */
  readonly leaves?: (p: PieceIndex) => Promise<Uint8Array | undefined>;
  /** Mappings found wrong so far (shared by every piece of one sync); default: a new one per assemble. */
  readonly distrust?: Distrust;
}

export async function assemble<Who>(input: AssembleInput<Who>): Promise<AssembleStats> {
  const { plan, store } = input;
  const stats: AssembleStats = {
    reusedBytes: 0,
    fetchedBytes: 0,
    ...{ wastedBytes: 0, guessedWrongBytes: 0, guessedRightFetchedBytes: 0 },
    resumedPieces: store.have.filter(Boolean).length,
    piecesDone: store.have.filter(Boolean).length,
    pieceCount: plan.pieceCount,
  };
  const todo: PieceIndex[] = [];
  // Pieces whose bytes are all local need no source: they go first, in order (interleaved beside trading peers: nextPieceFrom); the fetcher may order the rest (rarest first).
  const remote: PieceIndex[] = [];
  for (const p of allPieces(plan.pieceCount)) {
    if (store.have[p]) continue;
    const span = pieceSpan(plan, p);
    const local = mergeSpans(segmentsIn(plan.local, span.start, span.end));
    if (input.fetcher?.handOut && subtractSpans([span], local).length > 0) remote.push(p);
    else todo.push(p);
  }
  const pool = input.store.alignedWrites ? alignedPool(plan.pieceLength) : new BufferPool(plan.pieceLength);
  const fetcher = input.fetcher;
  const distrust = input.distrust ?? new Distrust();
  let next = 0, remoteLeft = remote.length > 0, remoteInFlight = 0;
  const handOut = remote.length > 0 ? fetcher!.handOut!(remote) : () => undefined;
  const worker = async () => {
    for (;;) {
      const from = nextPieceFrom({ localLeft: todo.length - next, remoteLeft, remoteInFlight, window: n, interleave: fetcher?.interleavesLocal === true });
      let p = from === 'remote' ? handOut() : undefined;
      const isRemote = p !== undefined && (remoteInFlight++, true);
      remoteLeft &&= from === 'local' || isRemote;
      if (p === undefined && next < todo.length) p = todo[next++]!;
      if (p === undefined) break;
      await assemblePiece(input, p, stats, pool, distrust, { early: await ahead?.take(p), gate }).finally(() => isRemote && remoteInFlight--);
      fetcher?.done?.(p);
    }
  };
  // Pieces that sample before fetching anything are sampled ahead, all of them a round at a time (sample-ahead.ts).
  const ahead = fetcher && !input.leaves ? SampleAhead.start(plan, input, fetcher, [...todo, ...remote], distrust) : undefined;
  const gate = new RoundGate();
  const n = Math.max(1, Math.min(input.concurrency ?? fetcher?.concurrency ?? assembleWindow(plan.pieceLength, input.store.writeBatchBytes), todo.length + remote.length));
  await Promise.all(Array.from({ length: n }, worker));
  return stats;
}

async function assemblePiece<Who>(input: AssembleInput<Who>, p: PieceIndex, stats: AssembleStats, pool: BufferPool, distrust: Distrust, sampling: Sampling<Who>): Promise<void> {
  const held: { buf?: Uint8Array; net?: Uint8Array; written?: boolean; windows?: ReadWindows } = {};
  try {
    await assemblePieceWith(input, p, stats, pool, held, distrust, sampling);
  } finally {
    // The piece buffer goes back only when the store is done with it (or never got it); the network buffer always.
    if (held.buf && (!held.written || input.store.releasesBytes)) pool.give(held.buf);
    if (held.net) pool.plain.give(held.net);
    held.windows?.release();
  }
}

async function assemblePieceWith<Who>(
  input: AssembleInput<Who>,
  p: PieceIndex,
  stats: AssembleStats,
  pool: BufferPool,
  held: { buf?: Uint8Array; net?: Uint8Array; written?: boolean; windows?: ReadWindows },
  distrust: Distrust,
  { early, gate }: Sampling<Who>,
): Promise<void> {
  const { plan, check } = input;
  const span = pieceSpan(plan, p);
  const len = span.end - span.start;
  const whole: Span[] = [span];
  // A mapping found wrong in an earlier piece is not used again: its bytes are fetched from the start.
  const trusted = (segs: readonly LocalSegment[]): LocalSegment[] => {
    const out: LocalSegment[] = [];
    for (const s of segs) {
      if (distrust.trusts(s)) out.push(s);
      else distrust.learn([s]); // the chain goes on into the next piece
    }
    return out;
  };
  const localSegs = trusted(segmentsIn(plan.local, span.start, span.end));
  // Bytes fetched while planning (target metadata) are network bytes, not reuse.
  const cached = localSegs.reduce((n, s) => (s.source === CACHE_SOURCE ? n + s.end - s.start : n), 0);

  // Network bytes of this piece, fetched once and reused by every attempt, with who sent them (allocated on first fetch).
  const netBuf = (): Uint8Array => (held.net ??= pool.plain.take(len));
  let netSpans: Span[] = [];
  const senders: Blame<Who>[number][] = [];
  let fetchedHere = 0;
  const used = new Set<Who>();
  const fetcher = input.fetcher;
  /** Keeps fetched bytes of this piece (in the network buffer) with who sent them. */
  const record = (need: readonly Span[], got: Fetched<Who>) => {
    need.forEach((r, i) => {
      const part = got.parts[i]!;
      // Fetched into the network buffer already (FetchOptions.into): nothing to copy.
      if (part.buffer !== held.net?.buffer || part.byteOffset !== r.start - span.start) netBuf().set(part, r.start - span.start);
      fetchedHere += part.length;
      stats.fetchedBytes += part.length;
    });
    for (const b of got.blame) {
      used.add(b.who);
      senders.push(b);
    }
    netSpans = mergeSpans([...netSpans, ...need]);
  };
  // Samples taken ahead and what the piece fetches after them (sample-ahead.ts) are its first network bytes; holes fetched again are not "wasted" (fetchMissing).
  for (const f of early?.fetched ?? []) {
    const again = spanBytes(f.spans) - spanBytes(subtractSpans(f.spans, netSpans));
    record(f.spans, f.got);
    fetchedHere -= again;
  }
  const fetchMissing = async (ranges: readonly Span[]) => {
    // Holes already fetched (samples) are fetched again when shorter than a multipart part's framing.
    const need = stillToFetch(ranges, netSpans);
    if (need.length === 0) return;
    if (!fetcher) throw new IsosyncError('NETWORK', `Cannot complete piece ${p}: it is not all local and there is no web seed or peer`, { piece: p });
    const again = spanBytes(need) - spanBytes(subtractSpans(need, netSpans));
    record(need, await fetcher.fetch(p, need, { into: netBuf() }));
    fetchedHere -= again; // fetched twice on purpose: not "wasted" by a failed hash
  };
  /** `truth` verified: every sender of bytes in `copy` that differ from it sent wrong bytes. */
  const convictDiffering = (copy: Uint8Array, blame: Blame<Who>, truth: Uint8Array) => {
    for (const s of blame) {
      const a = s.start - span.start;
      const b = s.end - span.start;
      if (Buffer.compare(copy.subarray(a, b), truth.subarray(a, b)) !== 0) fetcher?.convict(s.who, `sent bytes that failed the hash of piece ${p}`);
    }
  };

  /** Local segments (minus `drop`) + optional guess layer, then network bytes for everything else. */
  const attempt = async (name: string, segs: readonly LocalSegment[], guess: readonly LocalSegment[] | undefined): Promise<boolean> => {
    // Every attempt writes all of its bytes (local, guessed or fetched), so one buffer serves them all.
    const buf = (held.buf ??= pool.take(len));
    const filled = await fillSegments(buf, span.start, segs, input, held.windows);
    const guessed = guess ? subtractSpans(await fillSegments(buf, span.start, guess, input, held.windows), filled) : [];
    const missing = subtractSpans(whole, mergeSpans([...filled, ...guessed]));
    if (missing.length > 0) {
      if (!fetcher) return false;
      await fetchMissing(missing);
      const net = netBuf();
      for (const r of missing) buf.set(net.subarray(r.start - span.start, r.end - span.start), r.start - span.start);
    }
    if (!(await verifyPiece(input.store, check, p, span.start, buf))) {
      input.onEvent?.({ type: 'hash-failed', piece: p, attempt: name });
      return false;
    }
    return accept(buf, missing);
  };
  /** `buf` verified, `missing` of it from the network: blame, counts, write. */
  const accept = async (buf: Uint8Array, missing: readonly Span[]): Promise<true> => {
    // The piece is verified: any network bytes that differ from it were wrong, and their sender is convicted.
    if (senders.length > 0) convictDiffering(netBuf(), senders, buf);
    const fromNet = spanBytes(missing);
    stats.wastedBytes += fetchedHere - fromNet;
    if (guessedSpans.length > 0) stats.guessedWrongBytes += spanBytes(missing) - spanBytes(subtractSpans(missing, guessedSpans));
    await countGuessedRight(buf, netSpans);
    held.written = true;
    if (!writtenOnMatch(input.store)) await input.store.writePiece(p, span.start, buf);
    const fetched = Math.min(len, fromNet + (fromNet === len ? 0 : cached));
    stats.reusedBytes += len - fetched;
    stats.piecesDone++;
    input.onEvent?.({ type: 'piece', piece: p, fetched, reused: len - fetched });
    return true;
  };
  /** Adds the fetched bytes of `fetched` that the first guesses had right (by 16 KiB block) to the stats. */
  const countGuessedRight = async (truth: Uint8Array, fetched: readonly Span[]) => {
    if (guessedSpans.length === 0 || spanBytes(subtractSpans(guessedSpans, fetched)) === spanBytes(guessedSpans)) return;
    const guess = pool.plain.take(len);
    try {
      await fillSegments(guess, span.start, [...localSegs, ...(guessLayers[0] ?? [])], input, held.windows);
      stats.guessedRightFetchedBytes += guessedRight(truth, guess, span, guessedSpans, fetched);
    } finally {
      pool.plain.give(guess);
    }
  };
  /** Block by block (BEP 52 leaf hashes): local bytes and the first guess layer, each block checked; only failing blocks fetched. */
  const blockAttempt = async (leaves: Uint8Array): Promise<boolean> => {
    const buf = (held.buf ??= pool.take(len));
    const filled = await fillSegments(buf, span.start, localSegs, input, held.windows);
    const guessed = guessLayers[0] ? subtractSpans(await fillSegments(buf, span.start, guessLayers[0], input, held.windows), filled) : [];
    const plan = blockPlan(buf, span, mergeSpans([...filled, ...guessed]), leaves);
    const take = async (ranges: readonly Span[]): Promise<readonly Span[]> => {
      if (ranges.length > 0) await fetchMissing(ranges);
      for (const r of ranges) buf.set(netBuf().subarray(r.start - span.start, r.end - span.start), r.start - span.start);
      return ranges;
    };
    const right = (b: Span) => blockRight(buf, span, b, leaves, (b.start - span.start) / MERKLE_BLOCK_BYTES);
    const fetched = [await take(plan.fetch)];
    // A wrong block's guessed part is sampled, what no sample vouches for fetched; still wrong: a wider margin, then whole.
    const suspects = [...plan.wrong, ...plan.partial.filter((b) => !right(b))];
    await fetchMissing(wrongBlockSamples(suspects, firstGuesses));
    const agrees = sameBytesAt(buf, netBuf, span);
    for (const margin of [0, WIDER_TURN_MARGINS.at(-1)!]) fetched.push(await take(wrongBlockFetch(suspects.filter((b) => margin === 0 || !right(b)), firstGuesses, agrees, margin)));
    fetched.push(await take(suspects.filter((b) => !right(b))));
    if (!(await verifyPiece(input.store, check, p, span.start, buf))) {
      input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'blocks' });
      return false;
    }
    return accept(buf, mergeSpans(fetched.flat()));
  };

  /** The samplers of this piece's segments (by the segment as planned), over both tiers. */
  const probes = new Map<LocalSegment, SegmentProbe>();
  /** Samples the evidence-based segments of `segs` up to `maxRank` not sampled yet (probe.ts), a round at a time for the whole piece; false when there was nothing to sample. A segment no sample agrees with is a wrong mapping. */
  const probeSegments = async (segs: readonly LocalSegment[], maxRank: number, dense = false, withFirst: readonly Span[] = []): Promise<boolean> => {
    // Dense: the segments any sample agreed with, sampled again closely once (probe.ts `dense`), then halved where that turned.
    // By this piece's segment (a sampler taken ahead holds a copy of it); one taken ahead is done already.
    const fresh = new Map(dense ? [...probes].filter(([, x]) => !x.outcome().allWrong) : segs.filter((s) => sampledUpTo(s, maxRank) && !probes.has(s)).map((s) => [s, early?.probes.get(segmentKey(s)) ?? newProbe(s, span.end)] as const));
    if (fresh.size === 0 || !fetcher) return false;
    const buf = (held.buf ??= pool.take(len));
    if ([...fresh].some(([s, x]) => early?.probes.get(segmentKey(s)) !== x)) await fillSegments(buf, span.start, segs, input, held.windows); // samplers done ahead need no local bytes
    for (let round = 0; ; round++) {
      const asks = [...fresh.values()].map((x) => ({ x, spans: dense && round === 0 ? x.dense() : x.next(buf.subarray(x.seg.start - span.start, x.seg.end - span.start)) })).filter((a) => a.spans.length > 0);
      if (asks.length === 0) break;
      // Samples are asked as they are, not bridged: that is the point of them.
      const need = subtractSpans(mergeSpans(round === 0 ? [...asks.flatMap((a) => a.spans), ...withFirst] : asks.flatMap((a) => a.spans)), netSpans);
      if (need.length > 0) record(need, await gate.run(() => fetcher.fetch(p, need, { into: netBuf() })));
      const net = netBuf();
      for (const a of asks) for (const r of a.spans) a.x.record(r.start, buf.subarray(r.start - span.start, r.end - span.start), net.subarray(r.start - span.start, r.end - span.start));
    }
    for (const [s, x] of fresh) {
      probes.set(s, x);
      if (x.outcome().allWrong) distrust.learn([s]);
    }
    return true;
  };
  /** `segs` with every sampled segment cut to what its samples confirm. */
  const cutBySamples = (segs: readonly LocalSegment[], margin?: number): LocalSegment[] => cutBy(segs, probes, margin).kept;

  const guessLayers = plan.guesses.map((g) => trusted(segmentsIn(g, span.start, span.end))).filter((g) => g.length > 0);
  // What the first attempts guess (evidence-based local segments and the first guess layer): bytes of it fetched are "guessed wrong".
  const firstGuesses = [...localSegs, ...(guessLayers[0] ?? [])].filter((s) => !CERTAINTY[s.reason].exact && s.source !== CACHE_SOURCE).sort((a, b) => a.start - b.start);
  const guessedSpans = mergeSpans(firstGuesses);
  // 1. Local bytes (read by the store's worker where it can: fillOnStore), alone or completed by a guess layer: no network. A piece with gaps or guesses may be filled again: its source bytes are read once.
  const gaps = subtractSpans(whole, mergeSpans(localSegs));
  if (gaps.length > 0 || firstGuesses.length > 0 || guessLayers.length > 0) held.windows = new ReadWindows(plan.pieceLength, [...localSegs, ...guessLayers.flat()]);
  if (gaps.length === 0 && ((await fillOnStore(input.store, p, span.start, (held.buf ??= pool.take(len)), localSegs, input)) ? await accept(held.buf, []) : await attempt('local', localSegs, undefined))) return;
  for (const g of guessLayers) {
    const covers = subtractSpans(gaps, mergeSpans(g)).length === 0;
    if (covers && gaps.length > 0 && !knownToDiffer(g, span.end) && (await attempt('guess', localSegs, g))) return;
  }
  if (!fetcher) throw new IsosyncError('NETWORK', `Cannot complete piece ${p}: its local bytes do not verify and there is no web seed or peer`, { piece: p });
  // With leaf hashes, guesses are kept or fetched block by block.
  if (input.leaves && guessedSpans.length > 0) {
    const leaves = await input.leaves(p);
    if (leaves && (await blockAttempt(leaves))) return;
  }
  // 2. Local + a guess layer + fetch the rest (fetched bytes shared by all tries; a later layer stands where it covers
  // bytes, elsewhere the earlier ones'); a first layer knownToDiffer (probe.ts) is not: its gaps go with the first samples.
  const skipped = guessLayers[0] && knownToDiffer(guessLayers[0], span.end) ? subtractSpans(whole, mergeSpans([...localSegs, ...guessLayers[0]])) : undefined;
  for (const [k, g] of guessLayers.entries()) if ((k > 0 || !skipped) && (await attempt('guess+fetch', localSegs, k === 0 ? g : overlay(plan.length, [g, ...guessLayers.slice(0, k)])))) return;
  // 3. Sample the evidence-based segments (local and first guess layer) and keep the parts whose samples agree
  //    (a changed compressed block keeps its old prefix); then drop evidence in groups, least certain first.
  //    A piece with nothing local goes to 5 (a whole copy from one source, exact blame), unless bytes of it were fetched already.
  const candidates = [...localSegs, ...(guessLayers[0] ?? [])].sort((a, b) => a.start - b.start);
  if (candidates.length > 0 && (spanBytes(gaps) < len || netSpans.length > 0 || (guessLayers[0]?.length ?? 0) > 0)) {
    // The least certain first (changed blocks, zeros, same offsets), then every evidence-based segment; then wider
    // margins before each turn to difference (a range coder's carry can reach further back).
    for (const rank of [LEAST_CERTAIN_RANK, Infinity]) if ((await probeSegments(candidates, rank, false, skipped?.splice(0))) && (await attempt('probed', cutBySamples(candidates), undefined))) return;
    for (const m of probes.size > 0 ? WIDER_TURN_MARGINS : []) if (await attempt('probed-wide', cutBySamples(candidates, m), undefined)) return;
    if ((await probeSegments(candidates, Infinity, true)) && (await attempt('probed-dense', cutBySamples(candidates), undefined))) return;
    const { kept, said } = cutBy(candidates, probes); // a part no sample checked is the likeliest culprit now
    const list = attempts(kept, distrust, undefined, said);
    // Without samples, the first attempt (every trusted segment, the rest fetched) has not been made yet.
    for (let k = probes.size > 0 ? 1 : 0; k < list.length; k++) {
      if (await attempt('doubt', list[k]!.keep, undefined)) {
        learnFrom(list, k, distrust);
        return;
      }
    }
  }
  // 5. The whole piece from the network, from mirrors not used for it yet; a whole copy that fails convicts its sender
  //    (with several senders, the first copy that verifies tells which of them sent wrong bytes).
  const failedCopies: { bytes: Uint8Array; blame: Blame<Who> }[] = [];
  for (;;) {
    // The first copy may come from anyone; after a failure, from one source not used yet (exact blame).
    // The first copy, with nothing fetched before to compare it with, is assembled in the network buffer (no allocation);
    // a store that keeps the buffer it is given (no releasesBytes) gets a buffer of its own.
    const into = senders.length === 0 && failedCopies.length === 0 && input.store.releasesBytes ? netBuf() : undefined;
    const { parts, blame } = await fetcher.fetch(p, whole, { ...(used.size > 0 ? { avoid: used, oneSource: true } : {}), ...(into ? { into } : {}) });
    const bytes = parts[0]!;
    for (const b of blame) used.add(b.who);
    stats.fetchedBytes += bytes.length;
    fetchedHere += bytes.length;
    if (check.matches(p, bytes)) {
      if (senders.length > 0) convictDiffering(netBuf(), senders, bytes);
      await countGuessedRight(bytes, [span]);
      for (const copy of failedCopies) convictDiffering(copy.bytes, copy.blame, bytes);
      stats.wastedBytes += fetchedHere - len;
      await input.store.writePiece(p, span.start, bytes);
      stats.piecesDone++;
      input.onEvent?.({ type: 'piece', piece: p, fetched: len, reused: 0 });
      return;
    }
    stats.wastedBytes += bytes.length;
    input.onEvent?.({ type: 'hash-failed', piece: p, attempt: 'whole' });
    if (new Set(blame.map((b) => b.who)).size > 1) failedCopies.push({ bytes, blame });
    else if (blame[0]) fetcher.convict(blame[0].who, `sent piece ${p} with a wrong hash`);
  }
}
