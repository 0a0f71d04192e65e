/**
 * A sync, wired together: sources -> plan -> assemble -> rename -> catalog.
 *
 * The decisions live in pure modules (src/delta: hint sets, ISO file mapping,
 * plan layers, per-piece attempts); this module only opens things, calls
 * them in order and reports. Rollback is the same code: the "to" hints of a
 * newer torrent in the catalog and the ISO mapping work in both directions.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { asIsosyncError, IsosyncError } from '../errors.js';
import type { Warning, WarningSink } from '../core/warnings.js';
import { readIso } from '../iso/index.js';
import type { IsoImage } from '../iso/entry.js';
import type { Catalog } from '../library/catalog.js';
import { decodeHints, type HintSet } from '../delta/hint-format.js';
import { hintSegments, probeHintSource } from '../delta/hint-map.js';
import { mapIsoFiles, sameOffsetGuesses, type ImageSourceInfo, type LooseFile } from '../delta/iso-map.js';
import { buildPlan, overlay, pieceSpan, summarize, type LocalSegment, type Plan, type PlanSummary } from '../delta/plan.js';
import { VirtualTarget } from '../delta/virtual-target.js';
import { clipSpans, spanBytes, spanLength, type Span } from '../core/span.js';
import { assemble, type AssembleEvent, type AssembleStats, type PieceFetcher } from '../delta/assemble.js';
import { PartFile } from '../store/part-file.js';
import type { ByteSource } from '../store/byte-source.js';
import { BlockCache } from '../store/block-cache.js';
import { FileSource } from '../store/file-source.js';
import { MirrorPool, webSeedFileUrl } from '../swarm/webseed.js';
import { startPeers, type PeerSettings, type SyncPeers } from '../swarm/sync-peers.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import { closeSources, findSources, type ImageSource, type LocalSource } from './sources.js';
import { infoHashFromBytes, pieceIndex, type InfoHash } from '../core/ids.js';

/** Live counters of a sync's network side, for a progress display to sample. */
export interface LiveSample {
  /** Payload bytes received from peers and web seeds, and sent to peers, so far. */
  downloaded: number;
  uploaded: number;
  /** Connected peers (handshake done) and web seeds not dropped. */
  peers: number;
  webSeeds: number;
}

export type SyncEvent =
  | { type: 'phase'; phase: 'verify-part' | 'sources' | 'metadata' | 'plan' | 'assemble' | 'finish'; detail?: string }
  /**
   * Pieces verified (done of total) and the bytes they hold (doneBytes of
   * totalBytes): reused from local data, resumed from the .part, fetched;
   * toFetchBytes is what the plan fetches in all.
   */
  | { type: 'progress'; done: number; total: number; fetchedBytes: number; reusedBytes: number; resumedBytes: number; doneBytes: number; totalBytes: number; toFetchBytes: number }
  /** The network side exists: `sample` reads its counters (cheap; call it at display rate). */
  | { type: 'live'; sample: () => LiveSample }
  /** The .part in use, and the verified bytes it already held. */
  | { type: 'part'; path: string; resumedBytes: number }
  /** The sync failed: the .part was kept with `bytes` verified (run again to resume), or removed (it held nothing). */
  | { type: 'part-kept'; path: string; bytes: number }
  | { type: 'part-removed'; path: string }
  | AssembleEvent;

export interface SyncInput {
  readonly target: Metainfo;
  readonly from: readonly string[];
  readonly sourceDirs: readonly string[];
  readonly webSeeds: readonly string[];
  /** A web seed that sends nothing for this long is dropped (default STALL_MS). */
  readonly stallMs?: number;
  /** Final path of the image (default: ./NAME). */
  readonly output: string;
  readonly catalog?: Catalog;
  /** The torrent file as read, recorded in the catalog after a sync (so a later rollback finds its hints). */
  readonly torrentFile?: Uint8Array;
  /** Trackers to try before the torrent's own: the announce URL of the host a torrent came from (tracker localization). */
  readonly preferredTrackers?: readonly string[];
  /** BitTorrent peers (src/sync/peers.ts): direct peers, trackers, listening, limits, seeding after the sync. */
  readonly peers?: PeerSettings;
  readonly onEvent?: (e: SyncEvent) => void;
  /** Every warning of the sync (they are also listed in its report). */
  readonly onWarning?: WarningSink;
}

export interface SourceReport {
  path: string;
  kind: 'image' | 'loose';
  via?: string;
  infoHash?: InfoHash;
  hints?: 'from' | 'to';
  reusedBytes: number;
}

export interface PlanReport extends PlanSummary {
  name: string;
  infoHash: InfoHash;
  output: string;
  pieceLength: number;
  pieceCount: number;
  /** Bytes of target metadata fetched while planning. */
  metadataFetchedBytes: number;
  /** Target files found nowhere locally: they (or their changed runs) come from the network. */
  changedFiles: { path: string; size: number; fetchBytes: number }[] | null;
  sources: SourceReport[];
  notes: string[];
  /** The warnings sent to SyncInput.onWarning, in order. */
  warnings: Warning[];
}

export interface SyncReport extends PlanReport {
  fetchedBytes: number;
  wastedBytes: number;
  resumedBytes: number;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  /** Of the fetched bytes, those that arrived while planning (the target's metadata), by web seeds and by peers. */
  planningFetched?: { webSeeds: number; peers: number };
  /** Bytes from BitTorrent peers, in all and per peer; uploaded to them while syncing. */
  peers?: { downloaded: number; uploaded: number; list: { address: string; downloaded: number; uploaded: number; banned?: boolean; dropped?: string }[] };
  seconds: number;
}

export interface Prepared {
  plan: Plan;
  report: PlanReport;
  sources: LocalSource[];
  byteSources: (ByteSource | undefined)[];
  vt: VirtualTarget;
  pool: MirrorPool;
  /** Peers and web seeds behind one fetcher, when the sync has peers. */
  swarm?: SyncPeers;
  /** The target's metadata was not read while planning (delta hints cover every local source): changed files come from the finished image. */
  metadataDeferred: boolean;
}

export interface PrepareOptions {
  /**
   * Plan from the delta hints alone when they cover every local source:
   * the hints are exact, so the target's metadata would add only a few KB
   * of zeros, while reading it before any peer is connected costs a serial
   * round of fetches per directory level, each client on its own (8
   * clients through `isosync serve`: the server sent 0.6-0.8 x one delta
   * of metadata). The metadata then arrives with its pieces, shared among
   * peers. `isosync plan` keeps the read: it lists the changed files.
   */
  readonly deferHintedMetadata?: boolean;
}

/** Read-ahead while reading a hinted target's metadata: 256 KiB covers hundreds of directories per request. */
const HINTED_READ_AHEAD = 256 * 1024;

/** Plans a sync: finds sources, reads the target's layout, decides every byte. Writes nothing. */
export async function prepare(input: SyncInput, part?: PartFile, swarm?: SyncPeers, opts: PrepareOptions = {}): Promise<Prepared> {
  const { target } = input;
  const emit = input.onEvent ?? (() => undefined);
  const { warnings, warn } = collectWarnings(input.onWarning);
  const notes: string[] = [];
  if (target.files) throw new IsosyncError('UNSUPPORTED', `Cannot sync ${JSON.stringify(target.name)}: multi-file torrents are not ISO images`);

  emit({ type: 'phase', phase: 'sources' });
  const sources = await findSources({ target, from: input.from, sourceDirs: input.sourceDirs, output: input.output, ...(input.catalog ? { catalog: input.catalog } : {}), warn });
  // Images are read through a block cache: metadata parsing and piece filling make many small reads.
  const byteSources: (ByteSource | undefined)[] = sources.map((s) => (s.kind === 'image' ? new BlockCache(s.source) : s.source));
  const partIndex = part ? byteSources.push(part) - 1 : -1;
  const urls = [...target.urlList, ...input.webSeeds].map((u) => webSeedFileUrl(u, target.name));
  const pool = new MirrorPool(urls, target.length, { ...(input.stallMs ? { stallMs: input.stallMs } : {}), onWarning: warn });
  emit({
    type: 'live',
    sample: () => ({
      downloaded: pool.seeds.reduce((n, s) => n + s.received, 0) + (swarm?.swarm.downloaded ?? 0),
      uploaded: swarm?.swarm.uploaded ?? 0,
      peers: swarm?.swarm.connectedPeers ?? 0,
      webSeeds: pool.alive.length,
    }),
  });

  // Layer 0: pieces already verified in the .part (resume).
  const partSegs: LocalSegment[] = [];
  if (part) {
    part.have.forEach((ok, p) => {
      if (!ok) return;
      const s = pieceSpan(target, pieceIndex(p));
      partSegs.push({ start: s.start, end: s.end, source: partIndex, sourceOffset: s.start, reason: 'resumed' });
    });
  }

  // Layer 1: delta hints, from this torrent ("from" sets) and from newer torrents ("to" sets).
  const hintLayers: LocalSegment[][] = [];
  const hintUse = new Map<number, 'from' | 'to'>();
  const images = sources.map((s, i) => ({ s, i })).filter((x): x is { s: ImageSource; i: number } => x.s.kind === 'image');
  const trySet = async (set: HintSet, candidates: { s: ImageSource; i: number }[], dir: 'from' | 'to') => {
    for (const c of candidates) {
      const verdict = await probeHintSource(set, byteSources[c.i]!, target);
      const known = c.s.infoHash !== undefined && (dir === 'to' || c.s.infoHash === infoHashFromBytes(set.other));
      if (verdict === 'yes' || (verdict === 'unknown' && known)) {
        if (dir === 'from' && !c.s.infoHash) c.s.infoHash = infoHashFromBytes(set.other);
        hintLayers.push(hintSegments(set, c.i));
        hintUse.set(c.i, dir);
        return true;
      }
    }
    return false;
  };
  let ownHints;
  try {
    ownHints = decodeHints(target.isosync?.hints);
  } catch (e) {
    const error = asIsosyncError(e, 'BAD_TORRENT');
    warn({ code: 'HINTS_IGNORED', source: target.name, detail: `ignoring the torrent's delta hints: ${error.message}`, error });
  }
  for (const set of ownHints?.sets ?? []) {
    if (set.direction !== 'from') continue;
    const h = infoHashFromBytes(set.other);
    // The image the catalog says is that release first, then any other image.
    const ordered = [...images.filter((x) => x.s.infoHash === h), ...images.filter((x) => x.s.infoHash !== h && x.s.infoHash === undefined)];
    await trySet(set, ordered, 'from');
  }
  for (const img of images) {
    if (!img.s.torrent?.isosync?.hints) continue;
    let hints;
    try {
      hints = decodeHints(img.s.torrent.isosync.hints);
    } catch {
      continue;
    }
    for (const set of hints?.sets ?? []) {
      if (set.direction === 'to' && infoHashFromBytes(set.other) === target.infoHash) await trySet(set, [img], 'to');
    }
  }

  // A copy of the target itself (registered in the catalog): the same offsets, exactly.
  for (const { s, i } of images) {
    if (s.via === 'self' && s.source.size === target.length) {
      hintLayers.unshift([{ start: 0, end: target.length, source: i, sourceOffset: 0, reason: 'same-file' }]);
    }
  }

  // Layer 2: the target's own ISO metadata, read through what is already local.
  // Skipped when hints cover every source (then nothing else could map onto it; see PrepareOptions).
  const hintsCoverAll = hintLayers.length > 0 && sources.every((s, i) => s.kind === 'image' && (hintUse.has(i) || s.via === 'self'));
  const deferred = opts.deferHintedMetadata === true && hintsCoverAll;
  const readTarget = sources.length > 0 && !deferred;
  emit({ type: 'phase', phase: 'metadata', ...(deferred ? { detail: 'deferred: the delta hints are exact' } : {}) });
  const early = overlay(target.length, [partSegs, ...hintLayers]);
  // With delta hints the local layers are exact, so reading ahead fetches only bytes that are needed anyway.
  const readAhead = hintLayers.length > 0 ? HINTED_READ_AHEAD : 0;
  if (swarm) swarm.fetcher.pool = pool;
  const vt = new VirtualTarget(target.length, early, byteSources, swarm ? swarm.fetcher : pool.seeds.length > 0 ? pool : undefined, readAhead);
  // The source images' metadata is local: parse it while the target's waits on the network.
  const sourceIsos = (readTarget ? images : []).map(({ s, i }) =>
    readIso(byteSources[i]!, { name: s.path }).then(
      (image): ImageSourceInfo => ({ index: i, image, size: s.source.size }),
      (e: unknown) => {
        const error = asIsosyncError(e, 'BAD_ISO', { path: s.path });
        warn({ code: 'SOURCE_NOT_ISO', source: s.path, detail: `not read as ISO 9660 (${error.message}); using it for hints and same-offset reuse only`, error });
        return undefined;
      },
    ),
  );
  let targetIso: IsoImage | undefined;
  try {
    // Nothing local to map the target's files onto: reading its metadata first would only add a
    // serial round of fetches (and stall on a BEP 16 super-seed, which offers pieces one at a time).
    if (readTarget) targetIso = await readIso(vt, { name: target.name });
  } catch (e) {
    if (e instanceof IsosyncError && e.code === 'NETWORK' && pool.seeds.length === 0 && !swarm) {
      notes.push('the target image layout was not read: no web seed to fetch its metadata from');
    } else if (e instanceof IsosyncError && e.code === 'NETWORK') {
      throw e;
    } else {
      notes.push(`the target is not read as ISO 9660 (${(e as Error).message}); same-offset reuse only`);
    }
  }
  const imageInfos = (await Promise.all(sourceIsos)).filter((x): x is ImageSourceInfo => x !== undefined);
  const loose: LooseFile[] = sources.flatMap((s, i) => (s.kind === 'loose' ? [{ index: i, name: s.name, size: s.size }] : []));

  emit({ type: 'phase', phase: 'plan' });
  let mapping;
  let guesses: LocalSegment[][];
  if (targetIso) {
    mapping = mapIsoFiles(targetIso, imageInfos, loose);
    guesses = mapping.guesses;
  } else if (deferred) {
    // Exact hints: what they leave uncovered changed, so a same-offset guess would only fail and fetch its pieces whole.
    guesses = [];
  } else {
    guesses = sameOffsetGuesses(target.length, images.map(({ s, i }) => ({ index: i, size: s.source.size })));
  }
  const plan = buildPlan(target, [partSegs, ...hintLayers, vt.cachedSegments(), mapping?.exact ?? []], guesses);
  const summary = summarize(plan);

  const reusedBy = new Map<number, number>();
  for (const seg of [...plan.local, ...(plan.guesses[0] ?? [])]) if (seg.source >= 0) reusedBy.set(seg.source, (reusedBy.get(seg.source) ?? 0) + (seg.end - seg.start));
  const sourceReports: SourceReport[] = sources.map((s, i) => ({
    path: s.path,
    kind: s.kind,
    ...(s.kind === 'image' ? { via: s.via, ...(s.infoHash ? { infoHash: s.infoHash } : {}) } : {}),
    ...(hintUse.has(i) ? { hints: hintUse.get(i)! } : {}),
    reusedBytes: reusedBy.get(i) ?? 0,
  }));
  const changedFiles = mapping ? changedFileReport(targetIso!, mapping.missingFiles, plan.fetch) : null;
  if (sources.length === 0) notes.push('no local source found: everything will be fetched (give --from IMAGE or --source DIR)');
  const report: PlanReport = {
    name: target.name,
    infoHash: target.infoHash,
    output: input.output,
    pieceLength: target.pieceLength,
    pieceCount: target.pieceCount,
    ...summary,
    metadataFetchedBytes: vt.fetchedBytes,
    changedFiles,
    sources: sourceReports,
    notes,
    warnings,
  };
  return { plan, report, sources, byteSources, vt, pool, ...(swarm ? { swarm } : {}), metadataDeferred: deferred };
}

/**
 * The changed-files report of a sync whose plan did not read the target's
 * metadata (PrepareOptions.deferHintedMetadata): read from the finished
 * image, which is local now. Null when the image or no source reads as ISO 9660.
 */
async function changedFilesAfter(output: string, p: Prepared): Promise<PlanReport['changedFiles']> {
  const image = await FileSource.open(output);
  try {
    const targetIso = await readIso(new BlockCache(image), { name: basename(output) });
    const infos: ImageSourceInfo[] = [];
    for (const [i, s] of p.sources.entries()) {
      if (s.kind !== 'image') continue;
      try {
        infos.push({ index: i, image: await readIso(p.byteSources[i]!, { name: s.path }), size: s.source.size });
      } catch {
        // Not ISO 9660: it maps no files (it was used through its hints).
      }
    }
    if (infos.length === 0) return null;
    const loose: LooseFile[] = p.sources.flatMap((s, i) => (s.kind === 'loose' ? [{ index: i, name: s.name, size: s.size }] : []));
    return changedFileReport(targetIso, mapIsoFiles(targetIso, infos, loose).missingFiles, p.plan.fetch);
  } catch {
    return null;
  } finally {
    await image.close();
  }
}

/** For each target file found nowhere locally: how many of its bytes the plan fetches (binary search over sorted fetch spans). */
function changedFileReport(img: IsoImage, missing: readonly { path: string; size: number }[], fetch: readonly Span[]): { path: string; size: number; fetchBytes: number }[] {
  const byPath = new Map(img.entries.map((e) => [e.path, e]));
  return missing.map((f) => {
    let fetchBytes = 0;
    for (const x of byPath.get(f.path)?.extents ?? []) {
      const a = x.lba * img.logicalBlockSize;
      fetchBytes += spanBytes(clipSpans(fetch, a, a + x.size, true));
    }
    return { ...f, fetchBytes };
  });
}

/** `isosync plan`: what a sync would reuse and fetch. Writes nothing. */
export async function planSync(input: SyncInput): Promise<PlanReport> {
  // With peers, the target's metadata may come from them: a swarm that serves nothing.
  const swarm = input.peers ? await startPeers(input.target, { ...input.peers, preferredTrackers: input.preferredTrackers ?? [] }, { have: new Array<boolean>(input.target.pieceCount).fill(false), read: () => Promise.reject(new IsosyncError('INTERNAL', 'Internal error: a plan serves nothing')) }, input.onWarning) : undefined;
  try {
    const p = await prepare(input, undefined, swarm);
    await closeSources(p.sources);
    return p.report;
  } finally {
    await swarm?.close();
  }
}

/** A sink that keeps every warning (for the report) and passes it on. */
function collectWarnings(next: WarningSink | undefined): { warnings: Warning[]; warn: WarningSink } {
  const warnings: Warning[] = [];
  return {
    warnings,
    warn: (w) => {
      warnings.push(w);
      next?.(w);
    },
  };
}

/** Default output path: the torrent's name in the current directory. */
export function defaultOutput(target: Metainfo, cwd = process.cwd()): string {
  return join(cwd, target.name);
}

/** `isosync sync`: plan, fill locally, fetch the rest, verify, rename, register. */
export async function runSync(given: SyncInput): Promise<SyncReport> {
  const started = Date.now();
  // Every warning of the run is listed in its report; prepare's own list holds only the planning ones.
  const { warnings, warn } = collectWarnings(given.onWarning);
  const input: SyncInput = { ...given, onWarning: warn };
  const { target } = input;
  const emit = input.onEvent ?? (() => undefined);
  const output = resolve(input.output);
  if (!existsSync(dirname(output))) throw new IsosyncError('NOT_FOUND', `Cannot write ${JSON.stringify(output)}: directory ${JSON.stringify(dirname(output))} does not exist`);

  if (existsSync(output)) {
    // Already there? Then there is nothing to do, once every piece verifies.
    const v = await verifyPieces(output, target);
    if (v.validCount === v.pieceCount) {
      input.catalog?.registerImage(output, target.infoHash, true);
      return finishedReport(input, output, started);
    }
    throw new IsosyncError('CONFLICT', `Cannot write ${JSON.stringify(output)}: a different file is already there (move it away, or give it with --from and choose -o)`);
  }

  emit({ type: 'phase', phase: 'verify-part' });
  const part = await PartFile.open(output, target);
  const verifiedBytes = () => part.have.reduce((n, ok, p) => (ok ? n + spanLength(pieceSpan(target, pieceIndex(p))) : n), 0);
  emit({ type: 'part', path: part.path, resumedBytes: verifiedBytes() });
  let prepared: Prepared | undefined;
  let swarm: SyncPeers | undefined;
  try {
    swarm = input.peers ? await startPeers(target, { ...input.peers, preferredTrackers: input.preferredTrackers ?? [] }, part, warn) : undefined;
    prepared = await prepare({ ...input, output }, part, swarm, { deferHintedMetadata: true });
    const { plan, report, byteSources, vt, pool } = prepared;
    swarm?.planned(plan);
    const planningFetched = { webSeeds: pool.seeds.reduce((n, s) => n + s.bytes, 0), peers: swarm?.report().downloaded ?? 0 };
    // Web seeds alone (the pool), or peers and web seeds behind one picker.
    const fetcher = (swarm ? swarm.fetcher : pool.seeds.length > 0 ? pool : undefined) as PieceFetcher<unknown> | undefined;
    emit({ type: 'phase', phase: 'assemble' });
    const resumedBytes = verifiedBytes();
    let fetchedSoFar = 0;
    let reusedSoFar = 0;
    let done = part.verifiedCount;
    const progress = () => ({ type: 'progress' as const, done, total: plan.pieceCount, fetchedBytes: fetchedSoFar, reusedBytes: reusedSoFar, resumedBytes, doneBytes: resumedBytes + reusedSoFar + fetchedSoFar, totalBytes: target.length, toFetchBytes: report.fetchBytes });
    emit(progress());
    const stats: AssembleStats = await assemble({
      plan,
      pieces: target.pieces,
      sources: byteSources,
      cache: vt,
      store: part,
      ...(fetcher ? { fetcher } : {}),
      onEvent: (e) => {
        emit(e);
        if (e.type === 'piece') {
          swarm?.pieceVerified(e.piece);
          done++;
          fetchedSoFar += e.fetched;
          reusedSoFar += e.reused;
          emit(progress());
        }
      },
    });
    emit({ type: 'phase', phase: 'finish' });
    await part.finish();
    registerResult(input, output, warn);
    const changedFiles = prepared.metadataDeferred ? await changedFilesAfter(output, prepared) : report.changedFiles;
    await closeSources(prepared.sources);
    const result: SyncReport = {
      ...report,
      changedFiles,
      output,
      reusedBytes: stats.reusedBytes,
      fetchBytes: report.fetchBytes,
      fetchedBytes: stats.fetchedBytes + vt.fetchedBytes,
      wastedBytes: stats.wastedBytes,
      resumedBytes,
      webSeeds: pool.seeds.map((s) => ({ url: s.url, bytes: s.bytes, ...(s.failure ? { dropped: s.failure } : {}) })),
      planningFetched,
      ...(swarm ? { peers: swarm.report() } : {}),
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
    // --seed: keep serving the finished image until the caller's afterSync returns; otherwise while peers still fetch from us (briefly).
    const peers = swarm;
    if (peers) await peers.seedFrom(output, () => (input.peers?.afterSync ? input.peers.afterSync(result, peers) : peers.courtesy()));
    await swarm?.close();
    return result;
  } catch (e) {
    await swarm?.close();
    await part.close();
    if (prepared) await closeSources(prepared.sources);
    // A .part that holds no verified piece is litter, not a resume point.
    const kept = verifiedBytes();
    if (kept > 0) emit({ type: 'part-kept', path: part.path, bytes: kept });
    else if (await unlink(part.path).then(() => true, () => false)) emit({ type: 'part-removed', path: part.path });
    throw e;
  }
}

function registerResult(input: SyncInput, output: string, warn: WarningSink): void {
  const { catalog, target } = input;
  if (!catalog) return;
  catalog.registerImage(output, target.infoHash, true);
  const iso = target.isosync;
  if (iso && !catalog.byInfoHash(target.infoHash)) {
    const conflict = catalog.conflictWith({ product: iso.product, release: iso.release, infoHash: target.infoHash });
    if (conflict) {
      warn({ code: 'CATALOG_NOT_RECORDED', source: target.name, detail: `not recording the release in the catalog: ${conflict.message}`, error: conflict });
      return;
    }
    catalog.recordRelease({
      product: iso.product,
      release: iso.release,
      infoHash: target.infoHash,
      torrent: input.torrentFile ?? torrentBytes(target),
      imagePath: output,
      imageSize: target.length,
      lineage: iso.lineage,
    });
  }
}

/** The metainfo as a torrent file, for the catalog (the raw info with the announce keys). */
function torrentBytes(m: Metainfo): Uint8Array {
  // The catalog needs the info dictionary (for hints and lineage); rebuild a minimal torrent around the raw info bytes.
  const head = Buffer.from('d4:info');
  return Buffer.concat([head, Buffer.from(m.rawInfo), Buffer.from('e')]);
}

function finishedReport(input: SyncInput, output: string, started: number): SyncReport {
  const t = input.target;
  return {
    name: t.name,
    infoHash: t.infoHash,
    output,
    pieceLength: t.pieceLength,
    pieceCount: t.pieceCount,
    targetBytes: t.length,
    reusedBytes: t.length,
    fetchBytes: 0,
    byReason: {},
    metadataFetchedBytes: 0,
    changedFiles: [],
    sources: [{ path: output, kind: 'image', via: 'output', reusedBytes: t.length }],
    notes: [`${basename(output)} is already complete and verified`],
    warnings: [],
    fetchedBytes: 0,
    wastedBytes: 0,
    resumedBytes: t.length,
    webSeeds: [],
    seconds: (Date.now() - started) / 1000,
  };
}
