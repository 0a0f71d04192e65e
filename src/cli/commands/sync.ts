/**
 * `isosync plan TARGET` and `isosync sync TARGET` (also the default command:
 * `isosync TARGET`). Thin: check every option and path (sync-checks.ts),
 * resolve the target, call src/sync/session.ts, show progress
 * (sync-progress.ts) and print (sync-report.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { IsosyncError } from '../../errors.js';
import { openCatalog, openCatalogIfExists } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { runPlainSync, type PlainTarget } from '../../sync/plain-http.js';
import { isUrl, resolveRemoteTarget } from '../../sync/remote-target.js';
import { defaultOutput, planSync, runSync, type SyncEvent, type SyncInput, type SyncReport } from '../../sync/session.js';
import type { PeerSettings } from '../../swarm/sync-peers.js';
import type { Catalog } from '../../library/catalog.js';
import type { Metainfo } from '../../torrent/metainfo.js';
import { action, collect, printJson, reportError, debugRequested, withCommon, type CommonOptions } from '../common.js';
import { formatBytes, formatSeconds, percent } from '../format.js';
import { say } from '../output.js';
import { checkOutputPath, checkSyncArgs, type CheckedSync, type SyncArgs } from '../sync-checks.js';
import { printPlan, printSyncReport } from '../sync-report.js';
import { SyncProgress } from '../sync-progress.js';
import type { PartialReport } from '../../subset/partial-sync.js';
import { printPartialReport } from '../subset-report.js';
import { sourceInput, sourceOptions } from '../source-options.js';
import { discoveryOptions, discoverySettings, encryptionOption, encryptionPolicy, isMagnet, magnetTarget, type DiscoveryArgs } from '../magnet.js';

export { mirrorUrls } from '../sync-checks.js';

interface SyncOptions extends CommonOptions, SyncArgs, DiscoveryArgs {
  encryption?: string;
  utp?: boolean;
  catalog?: boolean;
  seed?: boolean;
  only?: string[];
}

/** Peer options of sync (plan takes only --peer). */
function peerOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', 'port to listen on for peers (default: any free port)')
    .option('--host <addr>', 'address to listen on for peers', '127.0.0.1')
    .option('--seed', 'keep seeding the image after the sync, until interrupted')
    .option('--upload-limit <rate>', 'upload rate limit per second, e.g. 1M (0: none)')
    .option('--download-limit <rate>', 'download rate limit per second, e.g. 5M (0: none)')
    .option('--upload-slots <n>', 'peers uploaded to at once')
    .addOption(encryptionOption())
    .option('--no-utp', 'TCP only: no uTP (BEP 29) in or out');
}

/** Peer settings, when the sync has peers: --peer, a tracker in the torrent, the DHT or LSD, or --seed. */
function peerSettings(opts: SyncOptions, c: CheckedSync, t: { hasTrackers: boolean; peers: readonly string[]; discovery: PeerSettings['discovery']; magnet: boolean }, afterSync?: PeerSettings['afterSync']): PeerSettings | undefined {
  if (!(opts.peer?.length || t.peers.length || t.hasTrackers || t.discovery || opts.seed)) return undefined;
  return {
    peers: [...(opts.peer ?? []), ...t.peers],
    ...(t.magnet ? { fromMagnet: true } : {}),
    ...(t.discovery ? { discovery: t.discovery } : {}),
    ...(opts.encryption === 'require' ? { encryption: encryptionPolicy(opts.encryption) } : {}),
    ...(opts.utp === false ? { utp: false } : {}),
    host: opts.host ?? '127.0.0.1',
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.uploadLimit ? { uploadLimit: c.uploadLimit } : {}),
    ...(c.downloadLimit ? { downloadLimit: c.downloadLimit } : {}),
    ...(c.uploadSlots ? { uploadSlots: c.uploadSlots } : {}),
    requestTimeoutMs: c.timeoutSeconds * 1000,
    ...(afterSync ? { afterSync } : {}),
  };
}

/** `isosync URL` when the server offers no torrent: HTTP ranges only (src/sync/plain-http.ts). */
async function plainSync(target: PlainTarget, opts: SyncOptions, c: CheckedSync, progress: SyncProgress): Promise<void> {
  const output = opts.output ?? target.name;
  checkOutputPath(output);
  const catalog = opts.catalog === false ? undefined : openCatalog(opts.home);
  try {
    const r = await runPlainSync({
      target,
      from: opts.from ?? [],
      sourceDirs: opts.source ?? [],
      mirrors: [...(opts.webSeed ?? []), ...c.mirrors],
      output,
      stallMs: 1000 * c.timeoutSeconds,
      ...(catalog ? { catalog } : {}),
      onEvent: progress.onEvent,
      onWarning: progress.onWarning,
    });
    progress.stop();
    if (opts.json) return printJson(r);
    say(`${r.name}  ${formatBytes(r.targetBytes)}  (no torrent offered: plain HTTP ranges)`);
    for (const s of r.sources) say(`  source ${s.path}: ${formatBytes(s.reusedBytes)}`);
    say(`  reused:  ${formatBytes(r.reusedBytes)} (${percent(r.reusedBytes, r.targetBytes)})\n  fetched: ${formatBytes(r.fetchedBytes)}${r.refetchedWhole ? ' (the whole image, after a SHA256SUMS mismatch)' : ''}; ${formatSeconds(r.seconds)}`);
    for (const n of r.notes) say(`  note: ${n}`);
    say(`wrote ${r.output} (${r.verified === 'sha256' ? 'matches SHA256SUMS' : 'UNVERIFIED'})`);
  } finally {
    catalog?.close();
  }
}

/** The target torrent from a file, a URL (remote-target.ts) or a magnet link (magnet.ts: fetched from peers). */
interface TorrentTarget {
  target: Metainfo;
  torrentFile: Uint8Array;
  extraSeeds: string[];
  preferredTrackers: string[];
  /** Peers already known to have it (those that sent a magnet's torrent). */
  peers?: readonly string[];
  plain?: undefined;
}

async function targetOf(arg: string, opts: SyncOptions, c: CheckedSync, catalog: Catalog | undefined, progress: SyncProgress, save: boolean): Promise<TorrentTarget | { plain: PlainTarget }> {
  if (isMagnet(arg)) {
    return magnetTarget(arg, {
      ...opts,
      save,
      // Peers found late (a DHT walk, a redial) still count: three times --timeout, a minute by default.
      timeoutSeconds: 3 * c.timeoutSeconds,
      ...(catalog ? { store: catalog } : {}),
      onWarning: progress.onWarning,
      onPhase: (text) => progress.line.setPhase(text),
    });
  }
  if (!isUrl(arg)) return { target: readTorrentFile(arg), torrentFile: readFileSync(arg), extraSeeds: [] as string[], preferredTrackers: [] as string[] };
  const r = await resolveRemoteTarget(arg);
  if (r.kind === 'plain') return { plain: r };
  return { target: r.metainfo, torrentFile: r.bytes, extraSeeds: r.imageUrl ? [r.imageUrl] : [], preferredTrackers: [...r.preferredTrackers] };
}

function syncInput(t: TorrentTarget, opts: SyncOptions, c: CheckedSync, catalog: Catalog | undefined, progress: SyncProgress, afterSync?: PeerSettings['afterSync']): SyncInput {
  const { target } = t;
  const hasTrackers = target.announceList.length > 0 || target.announce !== undefined || t.preferredTrackers.length > 0;
  const discovery = target.private ? undefined : discoverySettings(opts, catalog);
  const peers = peerSettings(opts, c, { hasTrackers, peers: t.peers ?? [], discovery, magnet: t.peers !== undefined }, afterSync);
  return {
    target,
    torrentFile: t.torrentFile,
    ...sourceInput(opts, c, t),
    ...(peers ? { peers } : {}),
    ...(c.downloadLimit ? { downloadLimit: c.downloadLimit } : {}),
    output: opts.output ?? defaultOutput(target),
    ...(catalog ? { catalog } : {}),
    onEvent: progress.onEvent,
    onWarning: progress.onWarning,
  };
}

export function registerPlan(program: Command): void {
  const cmd = program
    .command('plan')
    .description('say what a sync would reuse from local data and what it would fetch; writes nothing')
    .argument('<torrent>', 'the target release torrent: a file, an http(s) URL of a torrent or of the image itself, or a magnet link');
  sourceOptions(cmd);
  discoveryOptions(cmd);
  withCommon(cmd).action(
    action(async (torrent: string, opts: SyncOptions) => {
      const c = checkSyncArgs(opts, true);
      const catalog = opts.catalog === false ? undefined : openCatalogIfExists(opts.home);
      const progress = new SyncProgress(false);
      const t = await targetOf(torrent, opts, c, catalog, progress, false).catch((e: unknown) => {
        catalog?.close();
        throw e;
      });
      if (t.plain) throw new IsosyncError('UNSUPPORTED', `Cannot plan ${torrent}: the server offers no torrent for it (plain HTTP sync only)`);
      try {
        const report = await planSync(syncInput(t, opts, c, catalog, progress));
        progress.stop();
        if (opts.json) printJson(report);
        else printPlan(report, 'will be');
      } finally {
        progress.stop();
        catalog?.close();
      }
    }),
  );
}

export function registerSync(program: Command): void {
  const cmd = program
    .command('sync', { isDefault: true })
    .description('build the image of TORRENT from local data, fetching only what changed (default command)')
    .argument('<torrent>', 'the target release torrent: a file, an http(s) URL of a torrent or of the image itself, or a magnet link')
    .option('-o, --output <path>', 'where to write the image (default ./NAME from the torrent)')
    .addOption(new Option('--only <path>', 'a partial image: only these paths or globs (and the metadata), kept in NAME.part; CONTAINER:PATH as ls --deep prints it for files inside a squashfs, EROFS or FAT image; repeatable').argParser(collect));
  sourceOptions(cmd);
  peerOptions(cmd);
  discoveryOptions(cmd);
  withCommon(cmd).action(
    action(async (torrent: string, opts: SyncOptions) => {
      const c = checkSyncArgs(opts);
      const magnet = isMagnet(torrent);
      const progress = new SyncProgress(Boolean(opts.peer?.length || opts.seed || magnet));
      progress.start('looking up the target');
      // The catalog keeps the DHT's nodes between runs; a magnet's lookup uses them before the sync does.
      const catalog = opts.catalog === false ? undefined : openCatalog(opts.home);
      try {
        const t = await targetOf(torrent, opts, c, catalog, progress, true);
        if (t.plain) return await plainSync(t.plain, opts, c, progress);
        let printed = false;
        const print = (report: SyncReport | PartialReport) => {
          printed = true;
          progress.stop();
          if (opts.json) printJson(report);
          else if ('piecesHeld' in report) printPartialReport(report);
          else printSyncReport(report);
        };
        // --seed: print the result, then seed until SIGINT/SIGTERM.
        const afterSync: PeerSettings['afterSync'] | undefined = opts.seed
          ? async (report, peers) => {
              print(report as SyncReport | PartialReport);
              if (!opts.json) say(`seeding on ${peers.host}:${peers.port}; Ctrl-C to stop`);
              else printJson({ seeding: true, host: peers.host, port: peers.port });
              await new Promise<void>((done) => {
                process.once('SIGINT', () => done());
                process.once('SIGTERM', () => done());
              });
            }
          : undefined;
        const input = syncInput(t, opts, c, catalog, progress, afterSync);
        checkOutputPath(input.output);
        const report = opts.only?.length ? await (await import('../../subset/partial-sync.js')).runPartialSync({ ...input, only: opts.only }) : await runSync(input);
        if (!printed) print(report);
      } catch (e) {
        progress.stop();
        process.exitCode = reportError(e, debugRequested());
        progress.afterFailure();
      } finally {
        catalog?.close();
        progress.stop();
      }
    }),
  );
}
