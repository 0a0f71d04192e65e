/**
 * Planning a sync, wired: local sources, the network (one engine for web
 * seeds and peers), the plan's layers, and the plan report. The decisions
 * are made elsewhere and only applied here: which hint set applies to which
 * image, whether the target's metadata is read first, which guess layers,
 * what a failed metadata read means (delta/plan-inputs.ts); how the target's
 * files map onto local ones (delta/iso-map.ts); how layers overlay
 * (delta/plan.ts). Writes nothing.
 */
import { basename } from 'node:path';
import { asIsosyncError, IsosyncError } from '../errors.js';
import { pieceIndex, type InfoHash } from '../core/ids.js';
import { clipSpans, spanBytes, type Span } from '../core/span.js';
import type { Warning, WarningSink } from '../core/warnings.js';
import { probeHintSource } from '../delta/hint-map.js';
import { mapIsoFiles, type LooseFile } from '../delta/iso-map.js';
import { cachedLayer, chooseHints, guessLayers, metadataFailure, metadataPolicy, planLayers, reusedBySource, type ImageFacts, type NestedLayers } from '../delta/plan-inputs.js';
import { buildPlan, overlayTable, pieceSpan, summarize, type LocalSegment, type Plan } from '../delta/plan.js';
import { VirtualTarget } from '../delta/virtual-target.js';
import { readIso } from '../iso/index.js';
import { readPlanImage, type PlanImage } from '../iso/plan-image.js';
import { WindowSource } from '../iso/read-window.js';
import { BlockCache } from '../store/block-cache.js';
import type { ByteSource } from '../store/byte-source.js';
import { FileSource } from '../store/file-source.js';
import type { PartFile } from '../store/part-file.js';
import type { SyncPeers } from '../swarm/sync-peers.js';
import { chooseSyncFile } from '../torrent/file-choice.js';
import { classifySeeds } from '../torrent/http-seeds.js';
import type { FileEntry } from '../torrent/metainfo.js';
import type { ByteGate } from '../engine/handle.js';
import { openNetwork, type Network } from './network.js';
import type { PeersOnNeed } from './peers-on-need.js';
import type { PlanInput, PlanReport, SourceReport } from './report.js';
import { closeSources, findSources, type ImageSource, type LocalSource } from './sources.js';
import { missingFetchReport, nestedChangeReport } from './changed-files.js';
import { mayHoldNested, mayBeImageFile, sourceIsos, type PlanSourceInfo } from './plan-images.js';
import { planNested, type NestedPlan } from './nested-plan.js';
import { ReencodedStore } from '../delta/reencoded-store.js';
import { pieceCheckOf } from '../torrent/piece-check.js';

/**
 * Cached blocks for walking the sources' nested metadata: 512 x 4 KiB = 2 MiB at most. A walk reuses a block for
 * the next inodes in it and within one pass of a level; a level's inodes of a live image span far more than any such
 * cache (an EROFS of 64,000 files: 22,000 blocks), so 4,096 blocks (16 MiB) held no more hits and were 20 MiB of the
 * sync's peak (stock sync of the nested-memory EROFS pair at 64,000 entries: 172 -> 150 MiB, CPU the same).
 */
const NESTED_BLOCK_BYTES = 4096;
/** How long a source image's ISO walk runs before it lets the target's network replies in (readPlanImage's yieldEveryMs). */
const SOURCE_WALK_SLICE_MS = 4;
const NESTED_BLOCKS = 512;

export interface Prepared {
  plan: Plan;
  report: PlanReport;
  sources: LocalSource[];
  byteSources: (ByteSource | undefined)[];
  vt: VirtualTarget;
  /** Peers and web seeds behind one download engine. */
  net: Network;
  /** The target's metadata was not read while planning (delta hints cover every local source): changed files come from the finished image. */
  metadataDeferred: boolean;
  /** The delta hints cover every source: a sync defers the target's metadata (reads none of it while planning). */
  hintsCoverAll: boolean;
  /**
   * Plans again with the same sources and network, from the .part as it is
   * now: pieces that verified since are exact, and the target's metadata is
   * read again through them (sync/planning-check.ts).
   */
  replan(): Promise<Prepared>;
}

export interface PrepareOptions {
  /** Plan from exact delta hints alone when they cover every local source (plan-inputs.ts metadataPolicy); `isosync plan` reads the metadata: it lists the changed files. */
  readonly deferHintedMetadata?: boolean;
  /**
   * Do not read the target's metadata at all: plan from the .part, the
   * hints and same-offset guesses only. A subset download (src/subset)
   * reads the metadata it needs itself, through verified pieces.
   */
  readonly skipTargetMetadata?: boolean;
  /** The download limit shared by the web seeds and the swarm's peers. */
  readonly downloadGate?: ByteGate;
  /** Write each received block to the .part as it arrives, journaled (store/part-file.ts): a killed sync keeps it. */
  readonly keepReceived?: boolean;
}

/** A sink that keeps every warning (for the report) and passes it on. */
export function collectWarnings(next: WarningSink | undefined): { warnings: Warning[]; warn: WarningSink } {
  const warnings: Warning[] = [];
  return {
    warnings,
    warn: (w) => {
      warnings.push(w);
      next?.(w);
    },
  };
}

/** Plans a sync: finds sources, reads the target's layout, decides every byte. Writes nothing. */
/** The torrent's web seeds (BEP 19 url-list, and BEP 17 httpseeds that name the file itself: Debian's BitTornado torrents) and the user's. */
export function webSeedsOf(input: Pick<PlanInput, 'target' | 'webSeeds'>): string[] {
  const { target } = input;
  return [...classifySeeds({ name: target.name, urlList: target.urlList, httpSeeds: target.httpSeeds ?? [] }).webSeeds, ...input.webSeeds];
}

/**
 * Plans a sync: finds sources, reads the target's layout, decides every byte. Writes nothing.
 * `peers`: the swarm, or the one a sync starts when needed (peers-on-need.ts).
 */
export async function prepare(input: PlanInput, part?: PartFile, peers?: SyncPeers | PeersOnNeed, opts: PrepareOptions = {}): Promise<Prepared> {
  const swarmNow = () => (peers && 'current' in peers ? peers.current : peers)?.swarm;
  const { target } = input;
  const emit = input.onEvent ?? (() => undefined);
  const { warnings, warn } = collectWarnings(input.onWarning);
  if (target.files) {
    // A folder torrent (an ISO with its sums and signature): say which file a sync would take.
    const choice = chooseSyncFile(target as { name: string; files: readonly FileEntry[]; pieceLength: number; length: number });
    throw new IsosyncError('UNSUPPORTED', `Cannot sync ${JSON.stringify(target.name)}: it is a torrent of ${target.files.length} files; isosync ${choice.summary.replace(/^syncs/, 'would sync')}, but syncs single-file torrents only`);
  }

  // Targets with piece hashes (every torrent; not a plain image): their pieces can be checked (torrent/piece-check.ts).
  // A v2-only torrent without its piece layers cannot be: refused here, before any work.
  const checkable = target.pieces ? { ...target, pieces: target.pieces } : undefined;
  if (checkable) pieceCheckOf(checkable);

  emit({ type: 'phase', phase: 'sources' });
  const sources = await findSources({ target, from: input.from, sourceDirs: input.sourceDirs, output: input.output, ...(input.catalog ? { catalog: input.catalog } : {}), warn });
  // Images are read through a block cache: metadata parsing and piece filling make many small reads.
  const byteSources: (ByteSource | undefined)[] = sources.map((s) => (s.kind === 'image' ? new BlockCache(s.source) : s.source));
  const partIndex = part ? byteSources.push(part) - 1 : -1;
  // Changed EROFS clusters compressed again while planning are read like a local source of their own.
  const reencodedStore = new ReencodedStore();
  const reencodedIndex = byteSources.push(reencodedStore) - 1;
  const net = openNetwork({
    length: target.length,
    pieceLength: target.pieceLength,
    name: target.name,
    webSeeds: webSeedsOf(input),
    ...(input.stallMs ? { stallMs: input.stallMs } : {}),
    ...(peers ? { peers } : {}),
    ...(input.peers?.requestTimeoutMs ? { requestTimeoutMs: input.peers.requestTimeoutMs } : {}),
    ...(input.peers?.noPeerMs ? { noPeerMs: input.peers.noPeerMs } : {}),
    onWarning: warn,
    ...(part && opts.keepReceived ? { received: part } : {}),
    ...(opts.downloadGate ? { downloadGate: opts.downloadGate } : {}),
  });
  emit({
    type: 'live',
    sample: () => ({
      downloaded: net.webReceived() + (swarmNow()?.downloaded ?? 0),
      uploaded: swarmNow()?.uploaded ?? 0,
      peers: swarmNow()?.connectedPeers ?? 0,
      webSeeds: net.webPeers.filter((w) => w.alive).length,
    }),
  });

  // Layer 1: delta hints, from this torrent ("from" sets) and from newer torrents ("to" sets).
  const images = sources.flatMap((s, i): (ImageFacts & { s: ImageSource })[] =>
    s.kind === 'image' ? [{ s, index: i, size: s.source.size, via: s.via, ...(s.infoHash ? { infoHash: s.infoHash } : {}), ...(s.torrent?.isosync?.hints ? { newerHints: s.torrent.isosync.hints } : {}) }] : [],
  );
  const hints = await chooseHints({ length: target.length, ...(target.infoHash ? { infoHash: target.infoHash } : {}), hints: target.isosync?.hints }, images, (set, img) =>
    checkable ? probeHintSource(set, byteSources[img.index]!, checkable) : Promise.resolve('unknown'),
  );
  if (hints.ignored) warn({ code: 'HINTS_IGNORED', source: target.name, detail: `ignoring the torrent's delta hints: ${hints.ignored.message}`, error: hints.ignored });

  // Layer 2: the target's own ISO metadata, read through what is already local.
  const covered = images.filter((img) => hints.use.has(img.index) || img.via === 'self').length;
  const policy = opts.skipTargetMetadata
    ? { read: false, deferred: false, hintsCoverAll: false, readAhead: 0 }
    : metadataPolicy({ sources: sources.length, sourcesCoveredByHints: covered, hintLayers: hints.layers.length, deferHinted: opts.deferHintedMetadata === true });
  emit({ type: 'phase', phase: 'metadata', ...(policy.deferred ? { detail: 'deferred: the delta hints are exact' } : {}) });
  // The source images' metadata is local: parse it while the target's waits on the network.
  const sourcePlans = (policy.read ? images : []).map(({ s, index }) =>
    // Only the files are used (iso-map; nested-plan reads the images again when the target may nest any): the
    // other tree (Joliet beside Rock Ridge) would be walked for nothing.
    // Read through one reused 1 MiB window (iso/read-window.ts), not the source's block cache: the walk's reads
    // are small copies that die young, where each 256 KiB block it loaded was left to the collector.
    // It yields every few ms: the target's metadata is a chain of round trips (descriptors, path tables, then
    // the directories), whose replies would otherwise wait for the whole walk.
    readPlanImage(new WindowSource(s.source), { name: s.path, otherTree: false, yieldEveryMs: SOURCE_WALK_SLICE_MS }).then(
      (image): PlanSourceInfo => ({ index, image, size: s.source.size, path: s.path }),
      (e: unknown) => {
        const error = asIsosyncError(e, 'BAD_ISO', { path: s.path });
        warn({ code: 'SOURCE_NOT_ISO', source: s.path, detail: `not read as ISO 9660 (${error.message}); using it for hints and same-offset reuse only`, error });
        return undefined;
      },
    ),
  );
  const loose = looseFiles(sources);
  const sourceInfos = Promise.all(sourcePlans).then((all) => all.filter((x): x is PlanSourceInfo => x !== undefined));

  /** Plans from what is known now: run again (replan) once pieces that held planning bytes verified. */
  const planFrom = async (): Promise<Prepared> => {
    const notes: string[] = [];
    // Layer 0: pieces already verified in the .part (resume), and blocks an earlier run received for the others.
    const partSegs: LocalSegment[] = [];
    part?.have.forEach((ok, p) => {
      const s = pieceSpan(target, pieceIndex(p));
      if (ok) partSegs.push({ start: s.start, end: s.end, source: partIndex, sourceOffset: s.start, reason: 'resumed' });
    });
    for (const r of part?.received ?? []) if (!part!.have[pieceIndex(Math.floor(r.start / target.pieceLength))]) partSegs.push({ start: r.start, end: r.end, source: partIndex, sourceOffset: r.start, reason: 'received' });
    partSegs.sort((a, b) => a.start - b.start);
    const vt = new VirtualTarget(target.length, overlayTable(target.length, [partSegs, ...hints.layers]), byteSources, net.hasSources ? net.engine : undefined, policy.readAhead);
    // The target's files in columns (iso/plan-image.ts): no entry per file is kept while planning.
    let targetPlan: PlanImage | undefined;
    try {
      if (policy.read) targetPlan = await readPlanImage(vt, { name: target.name, flagFile: mayBeImageFile });
    } catch (e) {
      const f = metadataFailure(e, net.hasSources);
      if (f.fail) throw e;
      notes.push(f.note);
    }
    const planInfos = await sourceInfos;

    emit({ type: 'phase', phase: 'plan' });
    const whole = targetPlan ? mapIsoFiles(targetPlan, planInfos, loose) : undefined;
    // Files inside the target's nested images (a live image's squashfs, its EFI image) are mapped one by one;
    // the whole-file mapping of their containers is then only a last guess.
    let nested: NestedPlan | undefined;
    if (targetPlan && whole && checkable && planInfos.length > 0 && (await mayHoldNested(checkable, targetPlan, whole, vt, byteSources))) {
      // Nested planning walks layouts of IsoImages: the target (its bytes are at hand now) and the sources are read again.
      const targetIso = await readIso(vt, { name: target.name });
      const imageInfos = await sourceIsos(planInfos, byteSources);
      // Nested metadata is many small reads all over an image: 4 KiB cached blocks, not the 256 KiB of piece filling.
      // Made inside planNested, so that they go when it returns (not kept by this frame while the plan is built).
      const walk = () => sources.map((s) => (s.kind === 'image' ? new BlockCache(s.source, NESTED_BLOCK_BYTES, NESTED_BLOCKS, true) : undefined));
      // With delta hints for every source, guesses are not used (planLayers): no EROFS cluster is compressed again
      // (an `isosync plan` of a hinted torrent reads the metadata for its list of changed files only).
      const reencode = policy.hintsCoverAll ? undefined : { store: reencodedStore, index: reencodedIndex };
      if (imageInfos.length > 0) nested = await planNested(checkable, targetIso, vt, whole, imageInfos, byteSources, (m) => notes.push(m), walk, reencode);
    }
    const mapping = targetPlan && nested ? mapIsoFiles(targetPlan, planInfos, loose, nested.mapping.containers) : whole;
    const nestedLayers: NestedLayers | undefined =
      nested && mapping ? { verified: nested.verified, exact: nested.mapping.exact, freeGuesses: nested.freeGuesses, changedBlocks: nested.mapping.changedBlocks, reencoded: nested.reencoded, containerGuesses: mapping.containerGuesses } : undefined;
    const guesses = guessLayers({ ...(mapping ? { mappingGuesses: mapping.guesses } : {}), ...(nestedLayers ? { nested: nestedLayers } : {}), deferred: policy.deferred, targetLength: target.length, images });
    const layers = planLayers({ part: partSegs, hints: hints.layers, cached: cachedLayer(vt.cachedBounds()), hintsCoverAll: policy.hintsCoverAll, ...(nestedLayers ? { nested: nestedLayers } : {}), ...(mapping ? { isoExact: mapping.exact } : {}), guesses });
    const plan = buildPlan(target, layers.exact, layers.guesses);

    const reusedBy = reusedBySource(plan);
    const sourceReports: SourceReport[] = sources.map((s, i) => {
      const infoHash: InfoHash | undefined = s.kind === 'image' ? (s.infoHash ?? hints.learned.get(i)) : undefined;
      return {
        path: s.path,
        kind: s.kind,
        ...(s.kind === 'image' ? { via: s.via, ...(infoHash ? { infoHash } : {}) } : {}),
        ...(hints.use.has(i) ? { hints: hints.use.get(i)! } : {}),
        reusedBytes: reusedBy.get(i) ?? 0,
      };
    });
    if (sources.length === 0) notes.push('no local source found: everything will be fetched (give --from IMAGE or --source DIR)');
    const report: PlanReport = {
      name: target.name,
      ...(target.infoHash ? { infoHash: target.infoHash } : {}),
      output: input.output,
      pieceLength: target.pieceLength,
      pieceCount: target.pieceCount,
      ...summarize(plan),
      metadataFetchedBytes: vt.fetchedBytes,
      changedFiles: mapping ? [...missingFetchReport(targetPlan!.logicalBlockSize, mapping, plan.fetch), ...nestedChangeReport(nested?.mapping.changed ?? [], plan.fetch)] : null,
      sources: sourceReports,
      notes,
      warnings,
    };
    return { plan, report, sources, byteSources, vt, net, metadataDeferred: policy.deferred, hintsCoverAll: policy.hintsCoverAll, replan: planFrom };
  };
  // A plan that fails stops what it opened: the engine's timer would keep the process alive after the error.
  return planFrom().catch(async (e: unknown) => {
    net.close();
    await sourceInfos;
    await closeSources(sources).catch(() => undefined);
    throw e;
  });
}

export function looseFiles(sources: readonly LocalSource[]): LooseFile[] {
  return sources.flatMap((s, i) => (s.kind === 'loose' ? [{ index: i, name: s.name, size: s.size }] : []));
}
