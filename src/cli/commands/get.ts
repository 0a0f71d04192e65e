/**
 * `isosync get TORRENT [PATH_OR_GLOB...] -o DIR [--packages NAME...]
 * [--with-deps] [--installed [--root DIR]] [--from IMAGE] [--source DIR]
 * [--mirror URL] [--peer HOST:PORT]`: only the chosen files of a release,
 * without the image (src/subset/get.ts). Thin: check, resolve, run, print.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { zstdViaBinary } from '../../packages/zstd-binary.js';
import { installedPackages } from '../../subset/installed.js';
import { runGet, type GetReport } from '../../subset/get.js';
import type { PackageWish } from '../../subset/choose-packages.js';
import { isUrl, resolveRemoteTarget } from '../../sync/remote-target.js';
import type { PeerSettings } from '../../swarm/sync-peers.js';
import type { Metainfo } from '../../torrent/metainfo.js';
import { action, debugRequested, printJson, reportError, withCommon, type CommonOptions } from '../common.js';
import { formatBytes, formatSeconds } from '../format.js';
import { say } from '../output.js';
import { checkSyncArgs, type SyncArgs } from '../sync-checks.js';
import { SyncProgress } from '../sync-progress.js';
import { sourceInput, sourceOptions } from '../source-options.js';

interface GetOptions extends CommonOptions, SyncArgs {
  catalog?: boolean;
  packages?: string[];
  withDeps?: boolean;
  installed?: boolean;
  root?: string;
}

/** The target torrent from a file or a URL, with the URL's image as a web seed. */
export async function torrentTarget(arg: string): Promise<{ target: Metainfo; torrentFile: Uint8Array; extraSeeds: string[]; preferredTrackers: string[] }> {
  if (!isUrl(arg)) return { target: readTorrentFile(arg), torrentFile: readFileSync(arg), extraSeeds: [], preferredTrackers: [] };
  const r = await resolveRemoteTarget(arg);
  if (r.kind === 'plain') throw new IsosyncError('UNSUPPORTED', `Cannot get files of ${arg}: the server offers no torrent for it, so nothing could be verified`);
  return { target: r.metainfo, torrentFile: r.bytes, extraSeeds: r.imageUrl ? [r.imageUrl] : [], preferredTrackers: [...r.preferredTrackers] };
}

/** What packages to take: --packages, --installed (read from ROOT's package database), --with-deps. */
export async function packageWish(opts: { packages?: string[]; installed?: boolean; withDeps?: boolean; root?: string }): Promise<PackageWish | undefined> {
  if (opts.root !== undefined && !opts.installed) throw new IsosyncError('BAD_ARGUMENT', 'Invalid --root: it says where --installed looks (add --installed)');
  if (!opts.packages?.length && !opts.installed) {
    if (opts.withDeps) throw new IsosyncError('BAD_ARGUMENT', 'Invalid --with-deps: it follows the dependencies of --packages or --installed');
    return undefined;
  }
  const installed = opts.installed ? (await installedPackages(opts.root ?? '/')).packages : undefined;
  return { ...(opts.packages?.length ? { names: opts.packages } : {}), ...(installed ? { installed } : {}), withDeps: opts.withDeps === true };
}

/** Peers when there are any to find: --peer, or the torrent's trackers (as sync: the .part is served while it fills). */
function peerSettings(opts: GetOptions, target: Metainfo, preferred: readonly string[], timeoutSeconds: number, port: number | undefined): PeerSettings | undefined {
  const trackers = target.announceList.length > 0 || target.announce !== undefined || preferred.length > 0;
  if (!opts.peer?.length && !trackers) return undefined;
  return { peers: opts.peer ?? [], host: opts.host ?? '127.0.0.1', ...(port !== undefined ? { port } : {}), trackers, requestTimeoutMs: timeoutSeconds * 1000 };
}

function printGet(r: GetReport): void {
  say(`${r.name}: ${r.files.length} file(s), ${formatBytes(r.fileBytes)} into ${r.outDir}`);
  for (const p of r.packages) say(`  ${p.why.kind === 'upgrade' ? `upgrade ${p.name} ${p.why.from} → ${p.version}` : `${p.name} ${p.version}${p.why.kind === 'dependency' ? ` (needed by ${p.why.of})` : ''}`}`);
  if (r.packages.length === 0) for (const f of r.files.slice(0, 20)) say(`  ${f.path}  ${formatBytes(f.size)}`);
  if (r.packages.length === 0 && r.files.length > 20) say(`  … and ${r.files.length - 20} more`);
  say(`  fetched ${formatBytes(r.fetchedBytes)} (${r.metadataPieces} metadata piece(s), ${r.filePieces} file piece(s) of ${formatBytes(r.pieceLength)}); reused ${formatBytes(r.reusedBytes)} from local data${r.resumedBytes ? `, ${formatBytes(r.resumedBytes)} resumed` : ''}; ${formatSeconds(r.seconds)}`);
  for (const n of r.notes) say(`  note: ${n}`);
}

export function register(program: Command): void {
  const cmd = program
    .command('get')
    .description("fetch only the chosen files (or packages) of a release, without its image; every piece verified")
    .argument('<torrent>', 'the release torrent: a file, or an http(s) URL of a torrent or of the image')
    .argument('[patterns...]', 'paths or globs (*, ?, **) of the image; a folder brings its subtree; CONTAINER:PATH as ls --deep prints it for files inside a squashfs, EROFS or FAT image (/live/filesystem.squashfs:/usr/bin/bash)')
    .option('-o, --output <dir>', 'the folder to write the files into (required)')
    .addOption(new Option('--packages <name...>', "packages from the image's package index (NAME or NAME:ARCH)"))
    .option('--with-deps', 'also the packages they depend on (Pre-Depends, Depends) that are not installed')
    .option('--installed', 'the packages installed here (dpkg or rpm) that the image has in a newer version')
    .option('--root <dir>', 'with --installed: the root whose package database to read (a dpkg --root)');
  sourceOptions(cmd);
  withCommon(cmd).action(
    action(async (torrent: string, patterns: string[], opts: GetOptions) => {
      if (!opts.output) throw new IsosyncError('BAD_ARGUMENT', 'Cannot get: missing -o DIR (the folder to write the files into)');
      const outDir = opts.output;
      const c = checkSyncArgs({ ...opts, output: undefined });
      const wish = await packageWish(opts);
      if (patterns.length === 0 && !wish) throw new IsosyncError('BAD_ARGUMENT', 'Cannot get: name the files (PATH_OR_GLOB...) or packages (--packages, --installed)');
      const progress = new SyncProgress(true);
      progress.start('looking up the target');
      const catalog = opts.catalog === false ? undefined : openCatalog(opts.home);
      try {
        const t = await torrentTarget(torrent);
        const peers = peerSettings(opts, t.target, t.preferredTrackers, c.timeoutSeconds, c.port);
        const report = await runGet({
          target: t.target,
          torrentFile: t.torrentFile,
          ...sourceInput(opts, c, t),
          ...(peers ? { peers } : {}),
          ...(catalog ? { catalog } : {}),
          outDir,
          patterns,
          ...(wish ? { packages: wish } : {}),
          zstd: zstdViaBinary(),
          onEvent: progress.onEvent,
          onWarning: progress.onWarning,
        });
        progress.stop();
        if (opts.json) printJson(report);
        else printGet(report);
      } catch (e) {
        progress.stop();
        process.exitCode = reportError(e, debugRequested());
        progress.afterFailure();
      } finally {
        progress.stop();
        catalog?.close();
      }
    }),
  );
}
