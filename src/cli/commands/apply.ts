/**
 * `isosync apply NEW --from OLD [--repo DIR] [--root DIR] [--remove] [--yes] [--json]`
 *
 * Builds a flat apt repository of the packages NEW upgrades, downgrades or
 * adds relative to OLD (src/packages/flat-repo.ts, write-repo.ts), then shows
 * the command that installs them, and runs it with --yes. A rollback is the
 * same command the other way round (`apply OLD.iso --from NEW.iso`).
 *
 * - Repository: --repo DIR, default `<home>/repos/<NEW's name without .iso>`
 *   (home: --home, $ISOSYNC_HOME, ~/.local/share/isosync). Without --yes,
 *   this directory is the only thing apply changes.
 * - On this system: `apt-get update` and `apt-get install` with
 *   Dir::Etc::SourceList set to the repository's own `isosync.list`
 *   (`deb [trusted=yes] file:DIR ./`) and SourceParts off, so apt sees only
 *   the repository (the changed packages are meant to install on top of
 *   OLD's); `--allow-downgrades` when anything goes down; exact `name=version`.
 * - With --root DIR (a throwaway root): `dpkg --root=DIR
 *   --admindir=DIR/var/lib/dpkg -i` of the copied .debs in dependency order
 *   (apt cannot install into another root); with --yes the dpkg admin
 *   directory is created if missing.
 * - --remove also removes what NEW no longer has (`name-` for apt-get,
 *   `dpkg --remove` under --root). Without it, removals are only listed.
 * - Without --from, OLD is the previous release in NEW's lineage that the
 *   catalog has on disk (NEW must be a published or synced image); a
 *   rollback names the release installed now with --from.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile, access } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { IsosyncError, quote } from '../../errors.js';
import { resolveHome } from '../../library/home.js';
import { openCatalogIfExists } from '../../library/catalog.js';
import { previousImageOf } from '../../library/previous.js';
import { planRepo, type RepoPackage } from '../../packages/flat-repo.js';
import { writeFlatRepo, type WrittenRepo } from '../../packages/write-repo.js';
import type { PackageAtVersion, PackageDiff } from '../../packages/diff.js';
import { loadImagePackages } from '../../packages/image-diff.js';
import { zstdViaBinary } from '../../packages/zstd-binary.js';
import { repoFromTorrent, upgrades, type ApplyBase } from '../../subset/apply-torrent.js';
import { installedPackages } from '../../subset/installed.js';
import { isUrl } from '../../sync/remote-target.js';
import { checkSyncArgs } from '../sync-checks.js';
import { torrentTarget } from './get.js';
import { readIso } from '../../iso/index.js';
import { FileSource } from '../../store/file-source.js';
import { action, collect, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';
import { diffImageFiles, printWarnings, requireImagePath } from './diff.js';

interface ApplyOptions extends CommonOptions {
  from?: string;
  repo?: string;
  root?: string;
  remove?: boolean;
  yes?: boolean;
  installed?: boolean;
  mirror?: string[];
  webSeed?: string[];
  source?: string[];
  peer?: string[];
  catalog?: boolean;
  timeout?: string;
}

/** NEW as a torrent (a file or an http(s) URL): only the changed packages' pieces are fetched (src/subset/apply-torrent.ts). */
function isTorrentArg(arg: string): boolean {
  return /\.torrent$/i.test(arg) || isUrl(arg);
}

/** The repository of a torrent NEW: the changed packages fetched without the image. */
async function torrentRepo(newArg: string, repoDir: string, opts: ApplyOptions): Promise<{ pkgs: RepoPackage[]; written: WrittenRepo; removed: PackageAtVersion[] }> {
  const c = checkSyncArgs({ mirror: opts.mirror ?? [], webSeed: opts.webSeed ?? [], source: opts.source ?? [], peer: opts.peer ?? [], ...(opts.timeout ? { timeout: opts.timeout } : {}) });
  const t = await torrentTarget(newArg);
  const base: ApplyBase = opts.installed ? { kind: 'installed', packages: (await installedPackages(opts.root ?? '/')).packages } : { kind: 'image', path: opts.from! };
  const catalog = opts.catalog === false ? undefined : openCatalogIfExists(opts.home);
  try {
    const r = await repoFromTorrent({
      target: t.target,
      torrentFile: t.torrentFile,
      sourceDirs: opts.source ?? [],
      webSeeds: [...t.extraSeeds, ...(opts.webSeed ?? []), ...c.mirrors],
      ...(opts.peer?.length ? { peers: { peers: opts.peer, trackers: false, requestTimeoutMs: c.timeoutSeconds * 1000 } } : {}),
      stallMs: 1000 * c.timeoutSeconds,
      ...(catalog ? { catalog } : {}),
      repoDir,
      base,
      zstd: zstdViaBinary(),
      onWarning: printWarning,
    });
    printWarnings(r.warnings);
    return { pkgs: [...r.packages], written: r.written, removed: r.diff.removed };
  } finally {
    catalog?.close();
  }
}

const shellWord = (s: string): string => (/^[A-Za-z0-9_./:=+~%@,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
export const shellLine = (argv: readonly string[]): string => argv.map(shellWord).join(' ');

/** The commands that apply the repository: apt-get on this system, dpkg into --root. */
export function applyCommands(opts: {
  sourcesList: string; packages: readonly RepoPackage[]; debPaths: readonly string[];
  remove: readonly string[]; root?: string | undefined; yes: boolean; asRoot: boolean;
}): string[][] {
  const { packages, debPaths, remove } = opts;
  const cmds: string[][] = [];
  if (opts.root !== undefined) {
    const root = resolve(opts.root);
    const prefix = opts.asRoot ? ['dpkg'] : ['fakeroot', 'dpkg', '--force-not-root'];
    const base = [...prefix, `--root=${root}`, `--admindir=${join(root, 'var/lib/dpkg')}`, '--log=/dev/null'];
    if (debPaths.length > 0) cmds.push([...base, '-i', ...debPaths]);
    if (remove.length > 0) cmds.push([...base, '--remove', ...remove]);
    return cmds;
  }
  const apt = ['-o', `Dir::Etc::SourceList=${opts.sourcesList}`, '-o', 'Dir::Etc::SourceParts=/dev/null'];
  if (packages.length === 0 && remove.length === 0) return cmds;
  cmds.push(['apt-get', 'update', ...apt, '-o', 'APT::Get::List-Cleanup=0']);
  cmds.push(['apt-get', 'install', ...(opts.yes ? ['-y'] : []), ...apt,
    ...(packages.some((p) => p.action === 'downgrade') ? ['--allow-downgrades'] : []),
    ...packages.map((p) => `${p.name}=${p.version}`), ...remove.map((n) => `${n}-`)]);
  return cmds;
}

async function ensureDpkgRoot(root: string): Promise<void> {
  const admin = join(resolve(root), 'var/lib/dpkg');
  await mkdir(join(admin, 'info'), { recursive: true });
  await mkdir(join(admin, 'updates'), { recursive: true });
  const status = join(admin, 'status');
  try {
    await access(status);
  } catch {
    await writeFile(status, '');
  }
}

export function register(program: Command): void {
  withCommon(program.command('apply')
    .argument('<new>', 'the release to move to: an ISO image, or its torrent (only the changed packages are fetched); older than --from for a rollback')
    .option('--from <old>', 'the release installed now (an ISO image)')
    .option('--installed', 'upgrade what is installed (dpkg or rpm; with --root, in that root) to the versions NEW holds, instead of --from')
    .option('--repo <dir>', 'where the repository of changed packages goes (default <home>/repos/<NEW name>)')
    .option('--root <dir>', 'install into this throwaway root with dpkg --root instead of this system')
    .option('--remove', 'also remove the packages NEW no longer has')
    .option('--yes', 'run the install command (without it, only the repository is written)')
    .addOption(new Option('--mirror <url>', 'for a torrent NEW: a mirror of its image (http, https, ftp); repeatable').argParser(collect))
    .addOption(new Option('--web-seed <url>', 'for a torrent NEW: an extra web seed; repeatable').argParser(collect))
    .addOption(new Option('--source <dir>', 'for a torrent NEW: a folder of loose files (e.g. .debs) to reuse; repeatable').argParser(collect))
    .addOption(new Option('--peer <host:port>', 'for a torrent NEW: a BitTorrent peer; repeatable').argParser(collect))
    .option('--no-catalog', 'for a torrent NEW: do not look for local images in the catalog')
    .option('--timeout <seconds>', 'for a torrent NEW: drop a mirror that sends nothing for this long', '20')
    .description('build a repository of the packages a release changes and show (or run) the apt-get/dpkg command that applies them'))
    .action(action(async (newPath: string, opts: ApplyOptions) => {
      const torrent = isTorrentArg(newPath);
      if (!torrent) requireImagePath(newPath, 'NEW');
      if (opts.installed && opts.from) throw new IsosyncError('BAD_ARGUMENT', 'Cannot apply: give --from OLD or --installed, not both');
      if (!torrent && (opts.mirror?.length || opts.webSeed?.length || opts.source?.length || opts.peer?.length)) {
        throw new IsosyncError('BAD_ARGUMENT', `Cannot apply ${quote(newPath)}: --mirror, --web-seed, --source and --peer are for a torrent NEW`);
      }
      if (!opts.from && !opts.installed) {
        if (torrent) throw new IsosyncError('BAD_ARGUMENT', `Cannot apply ${quote(newPath)}: give the release installed now with --from OLD, or --installed`);
        const catalog = openCatalogIfExists(opts.home);
        try {
          const prev = catalog ? previousImageOf(catalog, newPath) : undefined;
          if (!prev) {
            throw new IsosyncError('NOT_FOUND', `Cannot apply ${quote(newPath)}: the catalog knows no earlier release of it on disk; give the release installed now with --from OLD`);
          }
          opts.from = prev.path;
          if (!opts.json) process.stderr.write(`isosync: applying relative to ${prev.release} (${prev.path}), the previous release in the catalog\n`);
        } finally {
          catalog?.close();
        }
      }
      const repoDir = resolve(opts.repo ?? join(resolveHome(opts.home), 'repos', basename(newPath).replace(/\.(iso|torrent)$/i, '')));
      const r = torrent ? await torrentRepo(newPath, repoDir, opts) : await imageRepo(newPath, repoDir, opts);
      const { pkgs, written } = r;
      const removed = r.removed.map((p) => p.name);
      const asRoot = process.getuid?.() === 0;
      const cmds = applyCommands({
        sourcesList: written.sourcesList, packages: pkgs, debPaths: written.debPaths,
        remove: opts.remove ? removed : [], root: opts.root, yes: !!opts.yes, asRoot,
      });
      if (opts.yes) {
        if (opts.root !== undefined) await ensureDpkgRoot(opts.root);
        for (const argv of cmds) {
          // The tools' own output goes to stderr, so that --json stays one document on stdout.
          const run = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 2, 2] });
          if (run.error) throw new IsosyncError('IO', `Cannot apply: ${argv[0]} could not run (${run.error.message})`);
          if (run.status !== 0) throw new IsosyncError('IO', `Cannot apply: ${shellLine(argv.slice(0, 2))} ... exited with ${run.status ?? run.signal}`, { argv });
        }
      }
      if (opts.json) {
        printJson({
          repo: written.dir,
          sourcesList: written.sourcesList,
          packages: pkgs.map((p) => ({ action: p.action, name: p.name, arch: p.arch, version: p.version, ...(p.from !== undefined ? { from: p.from } : {}), file: p.repoName })),
          removed: r.removed,
          commands: cmds,
          ran: !!opts.yes,
        });
        return;
      }
      const out: string[] = [`Repository ${written.dir}: ${pkgs.length} package(s)`];
      for (const p of pkgs) out.push(`  ${p.action.padEnd(9)}  ${p.name}  ${p.from !== undefined ? `${p.from} → ` : ''}${p.version}`);
      if (removed.length > 0) out.push(`${opts.remove ? 'Removing' : 'Not removed (use --remove)'}: ${r.removed.map((p) => `${p.name} ${p.version}`).join(', ')}`);
      if (cmds.length === 0) out.push('Nothing to apply');
      else {
        out.push(opts.yes ? 'Applied with:' : `To apply${opts.root !== undefined ? ` into ${resolve(opts.root)}` : ''}, run (or add --yes):`);
        for (const c of cmds) out.push(`  ${shellLine(c)}`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }));
}

/** The repository of an image NEW: against --from OLD's packages, or against what is installed (--installed). */
async function imageRepo(newPath: string, repoDir: string, opts: ApplyOptions): Promise<{ pkgs: RepoPackage[]; written: WrittenRepo; removed: PackageAtVersion[] }> {
  let diff: PackageDiff;
  let newPackages;
  if (opts.installed) {
    const installed = (await installedPackages(opts.root ?? '/')).packages;
    const src = await FileSource.open(newPath);
    try {
      const n = await loadImagePackages({ src, name: newPath }, zstdViaBinary());
      printWarnings(n.packages.warnings);
      newPackages = n.packages.packages;
      diff = upgrades(installed, newPackages);
    } finally {
      await src.close();
    }
  } else {
    const d = await diffImageFiles(opts.from!, newPath);
    printWarnings(d.warnings);
    diff = d.diff;
    newPackages = d.new.packages.packages;
  }
  const pkgs = planRepo(diff, newPackages, newPath);
  const src = await FileSource.open(newPath);
  try {
    return { pkgs, written: await writeFlatRepo(repoDir, src, await readIso(src, { name: newPath }), pkgs), removed: diff.removed };
  } finally {
    await src.close();
  }
}
