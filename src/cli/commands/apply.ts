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
import type { Command } from 'commander';
import { IsosyncError, quote } from '../../errors.js';
import { resolveHome } from '../../library/home.js';
import { openCatalogIfExists } from '../../library/catalog.js';
import { previousImageOf } from '../../library/previous.js';
import { planRepo, type RepoPackage } from '../../packages/flat-repo.js';
import { writeFlatRepo } from '../../packages/write-repo.js';
import { readIso } from '../../iso/index.js';
import { FileSource } from '../../store/file-source.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { diffImageFiles, printWarnings, requireImagePath } from './diff.js';

interface ApplyOptions extends CommonOptions {
  from?: string;
  repo?: string;
  root?: string;
  remove?: boolean;
  yes?: boolean;
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
    .argument('<new>', 'the release to move to (an ISO image); older than --from for a rollback')
    .option('--from <old>', 'the release installed now (an ISO image; required for now)')
    .option('--repo <dir>', 'where the repository of changed packages goes (default <home>/repos/<NEW name>)')
    .option('--root <dir>', 'install into this throwaway root with dpkg --root instead of this system')
    .option('--remove', 'also remove the packages NEW no longer has')
    .option('--yes', 'run the install command (without it, only the repository is written)')
    .description('build a repository of the packages a release changes and show (or run) the apt-get/dpkg command that applies them'))
    .action(action(async (newPath: string, opts: ApplyOptions) => {
      requireImagePath(newPath, 'NEW');
      if (!opts.from) {
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
      const r = await diffImageFiles(opts.from, newPath);
      printWarnings(r.warnings);
      const pkgs = planRepo(r.diff, r.new.packages.packages, newPath);
      const repoDir = resolve(opts.repo ?? join(resolveHome(opts.home), 'repos', basename(newPath).replace(/\.iso$/i, '')));
      const src = await FileSource.open(newPath);
      let written;
      try {
        written = await writeFlatRepo(repoDir, src, await readIso(src, { name: newPath }), pkgs);
      } finally {
        await src.close();
      }
      const removed = r.diff.removed.map((p) => p.name);
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
          removed: r.diff.removed,
          commands: cmds,
          ran: !!opts.yes,
        });
        return;
      }
      const out: string[] = [`Repository ${written.dir}: ${pkgs.length} package(s)`];
      for (const p of pkgs) out.push(`  ${p.action.padEnd(9)}  ${p.name}  ${p.from !== undefined ? `${p.from} → ` : ''}${p.version}`);
      if (removed.length > 0) out.push(`${opts.remove ? 'Removing' : 'Not removed (use --remove)'}: ${r.diff.removed.map((p) => `${p.name} ${p.version}`).join(', ')}`);
      if (cmds.length === 0) out.push('Nothing to apply');
      else {
        out.push(opts.yes ? 'Applied with:' : `To apply${opts.root !== undefined ? ` into ${resolve(opts.root)}` : ''}, run (or add --yes):`);
        for (const c of cmds) out.push(`  ${shellLine(c)}`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }));
}
