/**
 * `isosync diff OLD NEW [--json]`: which packages a release upgrades,
 * downgrades, adds and removes, and which other files change (see
 * src/packages/image-diff.ts). OLD and NEW are images or torrents. For a
 * torrent only the pieces that hold its metadata and package indexes are
 * read, each rebuilt from local data where possible (the catalog's images,
 * --from) and fetched otherwise, and verified (src/sync/torrent-view.ts); the
 * package set then comes from the indexes alone.
 *
 * --json prints exactly {upgraded, downgraded, added, removed, changedFiles};
 * warnings (index and package file disagreeing, ...) go to stderr.
 */
import type { Command } from 'commander';
import { IsosyncError, quote } from '../../errors.js';
import { warningJson, type Warning } from '../../core/warnings.js';
import { diffImages, type ImageDiffResult } from '../../packages/image-diff.js';
import { zstdViaBinary } from '../../packages/zstd-binary.js';
import { FileSource } from '../../store/file-source.js';
import type { ByteSource } from '../../store/byte-source.js';
import { openCatalogIfExists, type Catalog } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { defaultOutput } from '../../sync/session.js';
import { TorrentView } from '../../sync/torrent-view.js';
import { Option } from 'commander';
import { action, collect, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';

/** Refuses a torrent where an image is needed (apply), saying what to do. */
export function requireImagePath(path: string, role: string): void {
  if (/\.torrent$/i.test(path)) {
    throw new IsosyncError('UNSUPPORTED', `Cannot use ${quote(path)} as ${role}: a torrent is not an image here; sync it first (isosync sync ${path})`);
  }
}

export interface DiffSourceOptions {
  from?: string[];
  webSeed?: string[];
  home?: string;
  catalog?: boolean;
}

interface OpenSide {
  src: ByteSource;
  name: string;
  readPackageFiles: boolean;
  close: () => Promise<void>;
}

async function openSide(path: string, opts: DiffSourceOptions, catalog: Catalog | undefined): Promise<OpenSide> {
  if (/\.torrent$/i.test(path)) {
    const target = readTorrentFile(path);
    const view = await TorrentView.open({
      target,
      from: opts.from ?? [],
      sourceDirs: [],
      webSeeds: opts.webSeed ?? [],
      output: defaultOutput(target),
      ...(catalog ? { catalog } : {}),
      onWarning: printWarning,
    });
    return { src: view, name: path, readPackageFiles: false, close: () => view.close() };
  }
  const src = await FileSource.open(path);
  return { src, name: path, readPackageFiles: true, close: () => src.close() };
}

/** Opens both sides (images or torrents), diffs them, closes them. */
export async function diffImageFiles(oldPath: string, newPath: string, opts: DiffSourceOptions = {}): Promise<ImageDiffResult> {
  const torrents = [oldPath, newPath].some((p) => /\.torrent$/i.test(p));
  const catalog = torrents && opts.catalog !== false ? openCatalogIfExists(opts.home) : undefined;
  try {
    const oldSide = await openSide(oldPath, opts, catalog);
    try {
      const newSide = await openSide(newPath, opts, catalog);
      try {
        return await diffImages(oldSide, newSide, { zstd: zstdViaBinary() });
      } finally {
        await newSide.close();
      }
    } finally {
      await oldSide.close();
    }
  } finally {
    catalog?.close();
  }
}

export function printWarnings(warnings: readonly Warning[]): void {
  for (const w of warnings) printWarning(w);
}

/** Human lines: `upgraded    foo  (amd64)  1.0-1 → 1.1-1`, columns aligned. */
export function formatDiff(r: Pick<ImageDiffResult, 'diff'>): string {
  const rows: string[][] = [];
  const { upgraded, downgraded, added, removed, changedFiles } = r.diff;
  for (const c of upgraded) rows.push(['upgraded', c.name, `(${c.arch})`, `${c.from} → ${c.to}`]);
  for (const c of downgraded) rows.push(['downgraded', c.name, `(${c.arch})`, `${c.from} → ${c.to}`]);
  for (const p of added) rows.push(['added', p.name, `(${p.arch})`, p.version]);
  for (const p of removed) rows.push(['removed', p.name, `(${p.arch})`, p.version]);
  for (const f of changedFiles) rows.push(['changed', f, '', '']);
  if (rows.length === 0) return 'No package or file changes\n';
  const widths = [0, 1, 2].map((i) => rows.reduce((w, row) => (row[0] !== 'changed' || i === 0 ? Math.max(w, row[i]!.length) : w), 0));
  const lines = rows.map((row) => (row[0] === 'changed'
    ? `${row[0]!.padEnd(widths[0]!)}  ${row[1]}`
    : `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}  ${row[3]}`));
  const n = (k: number, what: string): string => `${k} ${what}`;
  lines.push(`${[n(upgraded.length, 'upgraded'), n(downgraded.length, 'downgraded'), n(added.length, 'added'), n(removed.length, 'removed'), n(changedFiles.length, 'other files changed')].join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  withCommon(program.command('diff')
    .argument('<old>', 'the release you have (an ISO image, or a torrent)')
    .argument('<new>', 'the release to compare with (an ISO image, or a torrent: only its metadata and package indexes are read)')
    .description('list the packages a release upgrades, downgrades, adds and removes, and other changed files')
    .addOption(new Option('--from <image>', 'for a torrent: a local image to rebuild its pieces from; repeatable').argParser(collect))
    .addOption(new Option('--web-seed <url>', 'for a torrent: an extra HTTP mirror; repeatable').argParser(collect))
    .option('--no-catalog', 'for a torrent: do not look for local images in the catalog'))
    .action(action(async (oldPath: string, newPath: string, opts: CommonOptions & DiffSourceOptions) => {
      const r = await diffImageFiles(oldPath, newPath, opts);
      printWarnings(r.warnings);
      if (opts.json) printJson({ ...r.diff, warnings: r.warnings.map(warningJson) });
      else process.stdout.write(formatDiff(r));
    }));
}
