/**
 * `isosync plan TARGET.torrent` and `isosync sync TARGET.torrent` (also the
 * default command: `isosync TARGET.torrent`). Thin: parse options, open the
 * catalog, call src/sync/session.ts, print.
 */
import { readFileSync } from 'node:fs';
import { IsosyncError } from '../../errors.js';
import { formatWarning, type WarningSink } from '../../core/warnings.js';
import { runPlainSync, type PlainTarget } from '../../sync/plain-http.js';
import { isUrl, resolveRemoteTarget } from '../../sync/remote-target.js';
import { Command, Option } from 'commander';
import { openCatalog } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { defaultOutput, planSync, runSync, type PlanReport, type SyncEvent, type SyncReport } from '../../sync/session.js';
import type { PeerSettings } from '../../swarm/sync-peers.js';
import { action, collect, intOption, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';
import { formatBytes, formatSeconds, percent } from '../format.js';
import { ProgressBar } from '../progress.js';

interface SyncOptions extends CommonOptions {
  from?: string[];
  source?: string[];
  webSeed?: string[];
  mirror?: string[];
  mirrors?: string;
  output?: string;
  catalog?: boolean;
  timeout?: string;
  peer?: string[];
  port?: string;
  host?: string;
  seed?: boolean;
  uploadLimit?: string;
  downloadLimit?: string;
  uploadSlots?: string;
}

const REASONS: Record<string, string> = {
  hint: 'delta hints',
  'same-file': 'same file, same place',
  'moved-file': 'moved files',
  'loose-file': 'loose files',
  'same-offset': 'same offset',
  zero: 'zeros',
  fetched: 'metadata fetched to plan',
  resumed: 'resumed from .part',
};

function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--from <image>', 'an earlier (or later) image on disk to reuse; repeatable').argParser(collect))
    .addOption(new Option('--source <dir>', 'a directory of loose files (e.g. .debs) to reuse; repeatable').argParser(collect))
    .addOption(new Option('--web-seed <url>', 'an extra HTTP mirror of the image (BEP 19); repeatable').argParser(collect))
    .addOption(new Option('--mirror <url>', 'a plain HTTP mirror: the image URL, or its folder ending in "/"; repeatable').argParser(collect))
    .option('--mirrors <file>', 'a file of mirror URLs, one per line (# starts a comment)')
    .option('--no-catalog', 'do not look for local images in the catalog')
    .option('--timeout <seconds>', 'drop a web seed that sends nothing for this long', '20')
    .addOption(new Option('--peer <host:port>', 'a BitTorrent peer to connect to; repeatable').argParser(collect));
}

/** Peer options of sync (plan takes only --peer). */
function peerOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', 'port to listen on for peers (default: any free port)')
    .option('--host <addr>', 'address to listen on for peers', '127.0.0.1')
    .option('--seed', 'keep seeding the image after the sync, until interrupted')
    .option('--upload-limit <bytes>', 'upload rate limit in bytes per second (0: none)')
    .option('--download-limit <bytes>', 'download rate limit from peers in bytes per second (0: none)')
    .option('--upload-slots <n>', 'peers uploaded to at once');
}

/** Peer settings, when the sync has peers: --peer, a tracker in the torrent, or --seed. */
function peerSettings(opts: SyncOptions, hasTrackers: boolean, afterSync?: PeerSettings['afterSync']): PeerSettings | undefined {
  if (!(opts.peer?.length || hasTrackers || opts.seed)) return undefined;
  const port = intOption('--port', opts.port, 0);
  const uploadLimit = intOption('--upload-limit', opts.uploadLimit, 0);
  const downloadLimit = intOption('--download-limit', opts.downloadLimit, 0);
  const uploadSlots = intOption('--upload-slots', opts.uploadSlots, 1);
  const timeout = intOption('--timeout', opts.timeout, 1);
  return {
    peers: opts.peer ?? [],
    host: opts.host ?? '127.0.0.1',
    ...(port !== undefined ? { port } : {}),
    ...(uploadLimit ? { uploadLimit } : {}),
    ...(downloadLimit ? { downloadLimit } : {}),
    ...(uploadSlots ? { uploadSlots } : {}),
    ...(timeout ? { requestTimeoutMs: timeout * 1000 } : {}),
    ...(afterSync ? { afterSync } : {}),
  };
}

function printPlan(r: PlanReport, verb: 'will be' | 'were'): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`${r.name}  ${formatBytes(r.targetBytes)}  infohash ${r.infoHash}`);
  for (const s of r.sources) {
    out(`  source ${s.kind === 'image' ? 'image' : 'file '} ${s.path}${s.via ? ` (${s.via})` : ''}${s.hints ? ` [hints: ${s.hints}]` : ''}: ${formatBytes(s.reusedBytes)}`);
  }
  out(`  reused:  ${formatBytes(r.reusedBytes)} (${percent(r.reusedBytes, r.targetBytes)})`);
  for (const [k, v] of Object.entries(r.byReason)) if (v) out(`    ${(REASONS[k] ?? k).padEnd(26)} ${formatBytes(v)}`);
  out(`  fetch:   ${formatBytes(r.fetchBytes)} ${verb} fetched (${percent(r.fetchBytes, r.targetBytes)})`);
  if (r.changedFiles) {
    out(`  changed files: ${r.changedFiles.length}`);
    for (const f of r.changedFiles.slice(0, 50)) out(`    ${f.path}  ${formatBytes(f.size)}, fetch ${formatBytes(f.fetchBytes)}`);
    if (r.changedFiles.length > 50) out(`    ... and ${r.changedFiles.length - 50} more`);
  }
  for (const n of r.notes) out(`  note: ${n}`);
}

/** `isosync URL` when the server offers no torrent: HTTP ranges only (src/sync/plain-http.ts). */
async function plainSync(target: PlainTarget, opts: SyncOptions): Promise<void> {
  const catalog = opts.catalog === false ? undefined : openCatalog(opts.home);
  try {
    const r = await runPlainSync({
      target,
      from: opts.from ?? [],
      sourceDirs: opts.source ?? [],
      mirrors: [...(opts.webSeed ?? []), ...mirrorUrls(opts)],
      output: opts.output ?? target.name,
      stallMs: 1000 * (intOption('--timeout', opts.timeout, 1) ?? 20),
      ...(catalog ? { catalog } : {}),
      onWarning: printWarning,
    });
    if (opts.json) return printJson(r);
    process.stdout.write(`${r.name}  ${formatBytes(r.targetBytes)}  (no torrent offered: plain HTTP ranges)\n`);
    for (const s of r.sources) process.stdout.write(`  source ${s.path}: ${formatBytes(s.reusedBytes)}\n`);
    process.stdout.write(`  reused:  ${formatBytes(r.reusedBytes)} (${percent(r.reusedBytes, r.targetBytes)})\n  fetched: ${formatBytes(r.fetchedBytes)}${r.refetchedWhole ? ' (the whole image, after a SHA256SUMS mismatch)' : ''}; ${formatSeconds(r.seconds)}\n`);
    for (const n of r.notes) process.stdout.write(`  note: ${n}\n`);
    process.stdout.write(`wrote ${r.output} (${r.verified === 'sha256' ? 'matches SHA256SUMS' : 'UNVERIFIED'})\n`);
  } finally {
    catalog?.close();
  }
}

/** Mirror URLs from --mirror and a --mirrors file (one URL per line, # comments, blank lines ignored). */
export function mirrorUrls(opts: Pick<SyncOptions, 'mirror' | 'mirrors'>): string[] {
  const out = [...(opts.mirror ?? [])];
  if (opts.mirrors !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.mirrors, 'utf8');
    } catch (e) {
      throw new IsosyncError('NOT_FOUND', `Cannot read --mirrors ${JSON.stringify(opts.mirrors)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const line of text.split('\n')) {
      const u = line.replace(/#.*/, '').trim();
      if (u) out.push(u);
    }
  }
  for (const u of out) {
    if (!isUrl(u)) throw new IsosyncError('BAD_ARGUMENT', `Invalid mirror ${JSON.stringify(u)}: not an http(s) URL`);
  }
  return out;
}

/** The target torrent from a file or a URL (remote-target.ts); a URL to an image without any torrent is refused here. */
async function targetOf(arg: string) {
  if (!isUrl(arg)) return { target: readTorrentFile(arg), torrentFile: readFileSync(arg), extraSeeds: [] as string[], preferredTrackers: [] as string[] };
  const r = await resolveRemoteTarget(arg);
  if (r.kind === 'plain') return { plain: r };
  return { target: r.metainfo, torrentFile: r.bytes, extraSeeds: r.imageUrl ? [r.imageUrl] : [], preferredTrackers: [...r.preferredTrackers] };
}

async function inputs(torrentArg: string, opts: SyncOptions, onWarning: WarningSink, onEvent?: (e: SyncEvent) => void, afterSync?: PeerSettings['afterSync']) {
  const t = await targetOf(torrentArg);
  if (t.plain) throw new IsosyncError('UNSUPPORTED', `Cannot plan ${torrentArg}: the server offers no torrent for it (plain HTTP sync only)`);
  const { target } = t;
  const hasTrackers = target.announceList.length > 0 || target.announce !== undefined || t.preferredTrackers.length > 0;
  const peers = peerSettings(opts, hasTrackers, afterSync);
  const catalog = opts.catalog === false ? undefined : openCatalog(opts.home);
  return {
    catalog,
    input: {
      target,
      torrentFile: t.torrentFile,
      from: opts.from ?? [],
      sourceDirs: opts.source ?? [],
      webSeeds: [...t.extraSeeds, ...(opts.webSeed ?? []), ...mirrorUrls(opts)],
      ...(t.preferredTrackers.length > 0 ? { preferredTrackers: t.preferredTrackers } : {}),
      ...(peers ? { peers } : {}),
      stallMs: 1000 * (intOption('--timeout', opts.timeout, 1) ?? 20),
      output: opts.output ?? defaultOutput(target),
      ...(catalog ? { catalog } : {}),
      onWarning,
      ...(onEvent ? { onEvent } : {}),
    },
  };
}

export function registerPlan(program: Command): void {
  const cmd = program
    .command('plan')
    .description('say what a sync would reuse from local data and what it would fetch; writes nothing')
    .argument('<torrent>', 'the target release torrent: a file, or an http(s) URL of a torrent or of the image itself');
  sourceOptions(cmd);
  withCommon(cmd).action(
    action(async (torrent: string, opts: SyncOptions) => {
      const { catalog, input } = await inputs(torrent, opts, printWarning);
      try {
        const report = await planSync(input);
        if (opts.json) printJson(report);
        else printPlan(report, 'will be');
      } finally {
        catalog?.close();
      }
    }),
  );
}

export function registerSync(program: Command): void {
  const cmd = program
    .command('sync', { isDefault: true })
    .description('build the image of TORRENT from local data, fetching only what changed (default command)')
    .argument('<torrent>', 'the target release torrent: a file, or an http(s) URL of a torrent or of the image itself')
    .option('-o, --output <path>', 'where to write the image (default ./NAME from the torrent)');
  sourceOptions(cmd);
  peerOptions(cmd);
  withCommon(cmd).action(
    action(async (torrent: string, opts: SyncOptions) => {
      if (isUrl(torrent)) {
        const remote = await resolveRemoteTarget(torrent);
        if (remote.kind === 'plain') return plainSync(remote, opts);
      }
      const bar = new ProgressBar(!opts.json && Boolean(process.stderr.isTTY));
      let printed = false;
      const print = (report: SyncReport) => {
        printed = true;
        bar.done();
        if (opts.json) printJson(report);
        else {
          printPlan(report, 'were');
          for (const w of report.webSeeds) process.stdout.write(`  web seed ${w.url}: ${formatBytes(w.bytes)}${w.dropped ? ` (dropped: ${w.dropped})` : ''}\n`);
          if (report.peers) {
            process.stdout.write(`  peers: ${formatBytes(report.peers.downloaded)} from ${report.peers.list.filter((p) => p.downloaded > 0).length} peer(s), ${formatBytes(report.peers.uploaded)} uploaded\n`);
            for (const p of report.peers.list) if (p.downloaded > 0 || p.banned) process.stdout.write(`    peer ${p.address}: ${formatBytes(p.downloaded)}${p.banned ? ' (banned)' : p.dropped ? ` (dropped: ${p.dropped})` : ''}\n`);
          }
          process.stdout.write(`  fetched ${formatBytes(report.fetchedBytes)} in total${report.wastedBytes ? ` (${formatBytes(report.wastedBytes)} failed verification)` : ''}; ${report.resumedBytes ? `${formatBytes(report.resumedBytes)} resumed from .part; ` : ''}${formatSeconds(report.seconds)}\n`);
          process.stdout.write(`wrote ${report.output} (every piece verified)\n`);
        }
      };
      // --seed: print the result, then seed until SIGINT/SIGTERM.
      const afterSync: PeerSettings['afterSync'] | undefined = opts.seed
        ? async (report, peers) => {
            print(report as SyncReport);
            if (!opts.json) process.stdout.write(`seeding on ${peers.host}:${peers.port}; Ctrl-C to stop\n`);
            else printJson({ seeding: true, host: peers.host, port: peers.port });
            await new Promise<void>((done) => {
              process.once('SIGINT', () => done());
              process.once('SIGTERM', () => done());
            });
          }
        : undefined;
      const warn: WarningSink = (w) => (bar.enabled ? bar.note(`isosync: warning: ${formatWarning(w)}`) : printWarning(w));
      const { catalog, input } = await inputs(torrent, opts, warn, (e) => {
        if (e.type === 'progress') {
          bar.update(e.done, e.total, ProgressBar.bytesLabel(e.fetchedBytes, e.reusedBytes));
        } else if (e.type === 'phase') {
          bar.update(0, 1, e.phase, true);
        }
      }, afterSync);
      try {
        const report: SyncReport = await runSync(input);
        if (!printed) print(report);
      } finally {
        bar.done();
        catalog?.close();
      }
    }),
  );
}
