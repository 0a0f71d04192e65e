/**
 * A sync, wired together: sources -> plan -> assemble -> rename -> catalog.
 *
 * Planning is prepare.ts (its decisions are pure functions in src/delta);
 * fetching is one download engine for peers and web seeds (network.ts);
 * this module opens the .part, calls them in order, registers the result and
 * reports. Rollback is the same code: the "to" hints of a newer torrent in
 * the catalog and the ISO mapping work in both directions.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { cutAt, spanLength } from '../core/span.js';
import { oncePerSource, type WarningSink } from '../core/warnings.js';
import { assemble, type AssembleEvent, type AssembleStats } from '../delta/assemble.js';
import { pieceSpan, remainingFetchBytes, summarize, type Plan } from '../delta/plan.js';
import { pieceNeeds } from '../delta/sure-bytes.js';
import { PartFile } from '../store/part-file.js';
import { verifyWorkerDecision } from '../store/verified-writes.js';
import { SpareCoreWatch } from '../core/idle-sampler.js';
import { TokenBucket } from '../swarm/rate-limit.js';
import type { PeerSettings, SyncPeers } from '../swarm/sync-peers.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { pieceCheckOf } from '../torrent/piece-check.js';
import { hasV2Peers, leavesOf } from '../swarm/hash-fetch.js';
import { changedFilesAfter } from './changed-files.js';
import { checkPlanningInput } from './planning-check.js';
import { expectedWrongGuessBytes } from './guess-evidence.js';
import { changedBlockTurns } from './changed-block-evidence.js';
import { CountingFetcher } from './evidence-fetch.js';
import { inPlaceChanges } from './in-place-evidence.js';
import { localVerdicts, measuredFetch } from './piece-evidence.js';
import { collectWarnings, prepare, webSeedsOf, type Prepared } from './prepare.js';
import { usableMirrors } from './network.js';
import { PeersOnNeed } from './peers-on-need.js';
import { startAtOnce } from './swarm-start.js';
import { announcesToTrackers } from '../swarm/swarm-options.js';
import { trackerTiers } from '../torrent/metainfo.js';
import type { PlanReport, SyncEvent, SyncInput, SyncReport } from './report.js';
import { closeSources } from './sources.js';
import { YieldingSource } from './yielding-source.js';

/** How long the plan's hashing of local pieces runs before the event loop gets a turn (ms). */
const VERDICT_SLICE_MS = 4;

export type { LiveSample, PlanInput, PlanReport, PlanTarget, SourceReport, SyncEvent, SyncInput, SyncReport } from './report.js';
export { prepare, type Prepared, type PrepareOptions } from './prepare.js';

/**
 * `isosync plan`: what a sync would reuse and fetch. Writes nothing where
 * the user looks: the target's metadata read from the network is checked as
 * a sync checks it (planning-check.ts), through a scratch .part in the
 * temporary directory, removed at the end; a plan made from a liar's bytes
 * is made again from verified pieces.
 */
export async function planSync(input: SyncInput): Promise<PlanReport> {
  const scratch = await mkdtemp(join(tmpdir(), 'isosync-plan-'));
  let part: PartFile | undefined;
  let swarm: PeersOnNeed | undefined;
  try {
    part = await PartFile.open(join(scratch, 'target'), input.target);
    // With peers, the target's metadata may come from them: a swarm that serves nothing.
    const serves = { have: new Array<boolean>(input.target.pieceCount).fill(false), read: () => Promise.reject(new IsosyncError('INTERNAL', 'Internal error: a plan serves nothing')) };
    swarm = input.peers ? await peersOnNeed(input, input.peers, serves, input.onWarning) : undefined;
    const first = await prepare(input, part, swarm);
    const checked = first.vt.fetchedBytes > 0 ? await checkPlanningInput(first, part, pieceCheckOf(input.target), () => undefined) : undefined;
    const p = checked?.prepared ?? first;
    // The planning bytes and the pieces that hold them (assembled by the check, as a sync does first) are fetched
    // already: what they cost on the wire (framing, bridges, guesses of theirs that failed) is known, not predicted;
    // the rest is predicted, with the guesses found wrong in the checked pieces as the evidence for the others.
    // What the planning and the check fetched so far, before the changed blocks are sampled (that is the plan's own cost).
    const onWire = () => p.net.webPeers.reduce((n, w) => n + w.bytes, 0) + (swarm?.current?.report().downloaded ?? 0);
    const wire = onWire();
    // The plan's own samples, counted: what each of their ranges cost on the wire beyond its bytes prices the sync's.
    const sampler = new CountingFetcher(p.net.engine);
    // Changed blocks: how much of each the old block gives is sampled, not assumed (changed-block-evidence.ts).
    const sampling = !p.hintsCoverAll && p.net.hasSources && (p.report.byReason['changed-block'] ?? 0) > 0;
    // And so are the mapped blocks changed in place, which nothing else tells (in-place-evidence.ts); with the checked
    // pieces counted exactly, guess-evidence.ts prices those from the checked pieces instead.
    const exact = checked !== undefined && exactChecked(p);
    // Pieces built locally are hashed first (piece-evidence.ts): one that passes needs no sample, one that fails and
    // that nothing else prices is sampled as a sync samples it.
    // With the checked pieces counted exactly, the others are hashed as built locally too: one that passes costs
    // nothing, one that fails is sampled; the guesses of the rest are priced from the checked pieces (guess-evidence.ts).
    // Hashed while the changed blocks' samples are on the wire: its reads give the event loop a turn every few ms
    // (yielding-source.ts), so each round's reply is taken as it comes, not after the hashing of ~150 MB.
    const yielding = p.byteSources.map((s) => s && new YieldingSource(s, VERDICT_SLICE_MS));
    const [turns, verdicts] = await Promise.all([
      sampling ? changedBlockTurns(p.plan, p.byteSources, sampler) : undefined,
      sampling || exact ? localVerdicts(p.plan, pieceCheckOf(input.target), yielding, exact ? part.have : []) : new Map<number, boolean>(),
    ]);
    const inPlace = turns && !exact ? await inPlaceChanges(p.plan, p.byteSources, sampler, (k) => verdicts.get(k) === true) : [];
    const partBytes = sampler.partBytes(onWire() - wire);
    const measured = async (done?: readonly boolean[]) => (turns || exact ? measuredFetch(p.plan, p.byteSources, p.net.engine, { turns: turns ?? new Map(), inPlace, verdicts, partBytes }, done) : undefined);
    const fetchBytes = Math.round(
      exact
        ? wire + remainingFetchBytes(p.plan, part.have, await measured(part.have), partBytes) + (await expectedWrongGuessBytes(p.plan, part.have, part, p.byteSources, (k) => verdicts.has(k)))
        : // Planned again: the pieces checked first are on the scratch .part now (the plan reuses them), but a sync fetches their fetched part.
          summarize(p.plan, await measured()).fetchBytes + (checked && checked.replans > 0 ? checked.stats.fetchedBytes : 0) + ((p.hintsCoverAll || turns) && p.net.webPeers.length > 0 ? framingBytes(p.plan, partBytes) : 0),
    );
    swarm?.finished();
    p.net.close();
    await closeSources(p.sources);
    if (!checked) return p.report;
    const notes = checked.replans > 0 ? [...p.report.notes, replanNote(checked.replans)] : p.report.notes;
    return { ...p.report, reusedBytes: p.report.targetBytes - fetchBytes, fetchBytes, notes };
  } finally {
    await swarm?.close();
    await part?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Whether `isosync plan` reports what the checked pieces really cost instead of predicting them: when planning
 * fetched data, not only metadata (re-encoded EROFS clusters: the clusters that find each edit's shift), the pieces
 * the check assembles are most of the changed ones and a sync assembles them the same way. Not when a sync reads no
 * metadata at all (delta hints cover every source), and not for plans without re-encoded clusters (the checked
 * pieces, the ones holding the target's nested metadata, are then few and unlike the others).
 */
function exactChecked(p: Prepared): boolean {
  return !p.hintsCoverAll && (p.report.byReason.reencoded ?? 0) > 0;
}

/**
 * Hints that reach inside changed blocks leave thousands of small fetch ranges, each a part of a web seed's multipart reply
 * with its framing: a hinted plan counts it, and so does a plan whose changed blocks were sampled (one priced by the
 * changed-block share does not: that share was measured with the framing inside it).
 */
function framingBytes(plan: Plan, partBytes: number): number {
  return cutAt(plan.fetch, plan.pieceLength).length * partBytes;
}

function replanNote(replans: number): string {
  return `the target's metadata from the network failed its pieces' hashes: planned again from verified pieces (${replans} time${replans > 1 ? 's' : ''})`;
}

/** Default output path: the torrent's name in the current directory. */
export function defaultOutput(target: Metainfo, cwd = process.cwd()): string {
  return join(cwd, target.name);
}

/** `isosync sync`: plan, fill locally, fetch the rest, verify, rename, register. */
export async function runSync(given: SyncInput): Promise<SyncReport> {
  const started = Date.now();
  // Every warning of the run is listed in its report; prepare's own list holds only the planning ones.
  // Each source's warning once: a peer struck, banned or dropped is said once, however often it recurs.
  const collected = collectWarnings(given.onWarning);
  const warnings = collected.warnings;
  const warn = oncePerSource(collected.warn);
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
  // Pieces checked and written on a worker thread (store/verified-writes.ts), which starts up while planning runs,
  // for a large target once a core is seen free while planning runs (verifyWorkerDecision), at the latest when assembly starts.
  const verifier = verifyWorkerDecision(target.length, () => new SpareCoreWatch());
  const part = await PartFile.open(output, target, { verifyInWorker: verifier.decided }).catch((e: unknown) => {
    verifier.stop();
    throw e;
  });
  const verifiedBytes = () => part.have.reduce((n, ok, p) => (ok ? n + spanLength(pieceSpan(target, pieceIndex(p))) : n), 0);
  emit({ type: 'part', path: part.path, resumedBytes: verifiedBytes() });
  let prepared: Prepared | undefined;
  let swarm: PeersOnNeed | undefined;
  // --download-limit is a total: one bucket for the peers and the web seeds.
  const gate = new TokenBucket(input.downloadLimit ?? input.peers?.downloadLimit ?? 0);
  try {
    swarm = input.peers ? await peersOnNeed(input, { ...input.peers, downloadGate: gate }, part, warn) : undefined;
    prepared = await prepare({ ...input, output }, part, swarm, { deferHintedMetadata: true, keepReceived: true, downloadGate: gate });
    const planningFetched = { webSeeds: prepared.net.webPeers.reduce((n, w) => n + w.bytes, 0), peers: swarm?.current?.report().downloaded ?? 0 };
    emit({ type: 'phase', phase: 'assemble' });
    const resumedBytes = verifiedBytes();
    let fetchedSoFar = 0;
    let reusedSoFar = 0;
    let done = part.verifiedCount;
    let toFetch = prepared.report.fetchBytes;
    const progress = () => ({ type: 'progress' as const, done, total: target.pieceCount, fetchedBytes: fetchedSoFar, reusedBytes: reusedSoFar, resumedBytes, doneBytes: resumedBytes + reusedSoFar + fetchedSoFar, totalBytes: target.length, toFetchBytes: toFetch });
    emit(progress());
    // The web seeds' rate against what is left decides whether peers start (swarm-start.ts).
    if (swarm) swarm.leftBytes = () => Math.max(0, toFetch - fetchedSoFar);
    const onEvent = (e: AssembleEvent) => {
      emit(e);
      if (e.type === 'piece') {
        swarm?.pieceVerified(e.piece, e.fetched > 0);
        done++;
        fetchedSoFar += e.fetched;
        reusedSoFar += e.reused;
        emit(progress());
      }
    };
    // The pieces holding the metadata the plan was made from verify first; a plan made from wrong bytes is made again.
    const leaves = leafHashes(target, swarm);
    const checked = await checkPlanningInput(prepared, part, pieceCheckOf(target), onEvent, leaves);
    prepared = checked.prepared;
    const { plan, report, byteSources, vt, net } = prepared;
    // Every piece that holds planning bytes is verified now (the check assembled them): their bytes are not needed again.
    vt.releaseVerified(part.have, plan.pieceLength);
    toFetch = report.fetchBytes;
    net.engine.planned(pieceNeeds(plan, part.have));
    // Peers and web seeds behind one engine.
    const fetcher = net.hasSources ? net.engine : undefined;
    // Its window depends on whether the verifying worker batches the writes: decided now, if no free core was seen yet.
    verifier.decideNow();
    await part.verifierDecided;
    const main: AssembleStats = await assemble({
      plan,
      check: pieceCheckOf(target),
      sources: byteSources,
      cache: vt,
      store: part,
      ...(fetcher ? { fetcher } : {}),
      ...(leaves ? { leaves } : {}),
      onEvent,
    });
    // Every byte is here: the swarm, if it has not started, will not.
    swarm?.finished();
    const stats = {
      reusedBytes: main.reusedBytes + checked.stats.reusedBytes,
      fetchedBytes: main.fetchedBytes + checked.stats.fetchedBytes,
      wastedBytes: main.wastedBytes + checked.stats.wastedBytes,
      guessedWrongBytes: main.guessedWrongBytes + checked.stats.guessedWrongBytes,
      guessedRightFetchedBytes: main.guessedRightFetchedBytes + checked.stats.guessedRightFetchedBytes,
    };
    emit({ type: 'phase', phase: 'finish' });
    await part.finish();
    registerResult(input, output, warn);
    const changedFiles = prepared.metadataDeferred ? await changedFilesAfter(output, prepared) : report.changedFiles;
    net.close();
    gate.close();
    await closeSources(prepared.sources);
    const result: SyncReport = {
      ...report,
      changedFiles,
      output,
      reusedBytes: stats.reusedBytes,
      fetchBytes: report.fetchBytes,
      fetchedBytes: stats.fetchedBytes + checked.planningBytes,
      metadataFetchedBytes: checked.planningBytes,
      notes: checked.replans > 0 ? [...report.notes, replanNote(checked.replans)] : report.notes,
      wastedBytes: stats.wastedBytes,
      guessedWrongBytes: stats.guessedWrongBytes,
      guessedRightFetchedBytes: stats.guessedRightFetchedBytes,
      duplicateBytes: net.engine.lateBytes,
      resumedBytes,
      webSeeds: net.webSeedReport(),
      planningFetched,
      ...(swarm ? { peers: { ...(swarm.current?.report() ?? { downloaded: 0, uploaded: 0, list: [] }), started: swarm.reason ?? false } } : {}),
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
    // --seed: keep serving the finished image until the caller's afterSync returns; otherwise while peers still fetch from us (briefly).
    // A swarm that never started served nobody: nothing to wait for.
    const peers = swarm?.current;
    if (peers) await peers.seedFrom(output, () => (input.peers?.afterSync ? input.peers.afterSync(result, peers) : peers.courtesy()));
    await swarm?.close();
    return result;
  } catch (e) {
    verifier.stop();
    swarm?.finished();
    prepared?.net.close();
    gate.close();
    await swarm?.close();
    await part.close();
    if (prepared) await closeSources(prepared.sources);
    // A .part that holds no verified piece and no received block is litter, not a resume point.
    const kept = verifiedBytes() + part.receivedBytes;
    if (kept > 0) emit({ type: 'part-kept', path: part.path, bytes: kept });
    else if (await part.discard()) emit({ type: 'part-removed', path: part.path });
    throw e;
  }
}

/**
 * The sync's swarm, started when swarm-start.ts says: before planning (this
 * resolves once it runs, and a failure to start fails the sync), or later,
 * while the sync runs, when the web seeds fail or fall behind. Its modules
 * (the BitTorrent wire and its dependencies, ~15 MiB of a process's peak
 * RSS) load only then: a sync whose web seeds keep up never loads them.
 */
async function peersOnNeed(input: Pick<SyncInput, 'target' | 'webSeeds' | 'preferredTrackers' | 'onEvent'>, settings: PeerSettings, store: Parameters<typeof import('../swarm/sync-peers.js').startPeers>[2], warn: WarningSink | undefined): Promise<PeersOnNeed> {
  const { target } = input;
  const preferredTrackers = input.preferredTrackers ?? [];
  const launch = async () => (await import('../swarm/sync-peers.js')).startPeers(target, { ...settings, preferredTrackers }, store, warn);
  const emit: (e: SyncEvent) => void = input.onEvent ?? (() => undefined);
  const peers = new PeersOnNeed(launch, (reason) => emit({ type: 'swarm', started: reason }), warn ?? (() => undefined));
  const reason = startAtOnce({
    webSeeds: usableMirrors(webSeedsOf(input), target.name).length,
    magnet: settings.fromMagnet === true,
    trackers: announcesToTrackers({ enabled: settings.trackers !== false, trackerTiers: trackerTiers(target).length, preferred: preferredTrackers.length }),
    lsd: settings.discovery?.lsd === true && !target.private,
    seeding: settings.afterSync !== undefined,
  });
  if (reason) {
    try {
      await peers.start(reason);
    } catch (e) {
      await peers.close();
      throw e;
    }
  }
  return peers;
}

/** The pieces' BEP 52 leaf hashes from the swarm's v2 peers (v2 and hybrid targets with piece layers): per-block checks of guesses, once the swarm runs. */
function leafHashes(target: Metainfo, peers: PeersOnNeed | undefined): ((p: PieceIndex) => Promise<Uint8Array | undefined>) | undefined {
  if (!peers || !target.v2?.layersComplete) return undefined;
  const check = pieceCheckOf(target);
  return async (p) => {
    const swarm = peers.current?.swarm;
    if (!swarm) return undefined;
    const v2peers = { askers: swarm.askers, v2InfoHashHex: Buffer.from(swarm.opts.infoHash).toString('hex') };
    const at = check.v2Piece(p);
    return at && hasV2Peers(v2peers) ? leavesOf(v2peers, at) : undefined;
  };
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
