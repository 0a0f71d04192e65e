/**
 * `isosync diff OLD NEW [--json]`: which packages a release upgrades,
 * downgrades, adds and removes, and which other files change (see
 * src/packages/image-diff.ts). OLD and NEW are images; torrents need the
 * delta core to fetch their metadata pieces and are refused for now.
 *
 * --json prints exactly {upgraded, downgraded, added, removed, changedFiles};
 * warnings (index and package file disagreeing, ...) go to stderr.
 */
import type { Command } from 'commander';
import { IsosyncError, quote } from '../../errors.js';
import { diffImages, type ImageDiffResult } from '../../packages/image-diff.js';
import { zstdViaBinary } from '../../packages/zstd-binary.js';
import { FileSource } from '../../store/file-source.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';

/** Refuses a torrent where an image is needed, saying what works today. */
export function requireImagePath(path: string, role: string): void {
  if (/\.torrent$/i.test(path)) {
    throw new IsosyncError('UNSUPPORTED', `Cannot diff ${quote(path)}: ${role} as a torrent is not supported yet (it needs the delta core to fetch its metadata pieces); pass the image`);
  }
}

/** Opens both images, diffs them, closes them. */
export async function diffImageFiles(oldPath: string, newPath: string): Promise<ImageDiffResult> {
  requireImagePath(oldPath, 'OLD');
  requireImagePath(newPath, 'NEW');
  const oldSrc = await FileSource.open(oldPath);
  try {
    const newSrc = await FileSource.open(newPath);
    try {
      return await diffImages({ src: oldSrc, name: oldPath }, { src: newSrc, name: newPath }, { zstd: zstdViaBinary() });
    } finally {
      await newSrc.close();
    }
  } finally {
    await oldSrc.close();
  }
}

export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`isosync: warning: ${w}\n`);
}

/** Human lines: `upgraded    foo  (amd64)  1.0-1 → 1.1-1`, columns aligned. */
export function formatDiff(r: ImageDiffResult): string {
  const rows: string[][] = [];
  const { upgraded, downgraded, added, removed, changedFiles } = r.diff;
  for (const c of upgraded) rows.push(['upgraded', c.name, `(${c.arch})`, `${c.from} → ${c.to}`]);
  for (const c of downgraded) rows.push(['downgraded', c.name, `(${c.arch})`, `${c.from} → ${c.to}`]);
  for (const p of added) rows.push(['added', p.name, `(${p.arch})`, p.version]);
  for (const p of removed) rows.push(['removed', p.name, `(${p.arch})`, p.version]);
  for (const f of changedFiles) rows.push(['changed', f, '', '']);
  if (rows.length === 0) return 'No package or file changes\n';
  const widths = [0, 1, 2].map((i) => Math.max(...rows.filter((row) => row[0] !== 'changed' || i === 0).map((row) => row[i]!.length), 0));
  const lines = rows.map((row) => (row[0] === 'changed'
    ? `${row[0]!.padEnd(widths[0]!)}  ${row[1]}`
    : `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}  ${row[3]}`));
  const n = (k: number, what: string): string => `${k} ${what}`;
  lines.push(`${[n(upgraded.length, 'upgraded'), n(downgraded.length, 'downgraded'), n(added.length, 'added'), n(removed.length, 'removed'), n(changedFiles.length, 'other files changed')].join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  withCommon(program.command('diff')
    .argument('<old>', 'the release you have (an ISO image)')
    .argument('<new>', 'the release to compare with (an ISO image)')
    .description('list the packages a release upgrades, downgrades, adds and removes, and other changed files'))
    .action(action(async (oldPath: string, newPath: string, opts: CommonOptions) => {
      const r = await diffImageFiles(oldPath, newPath);
      printWarnings(r.warnings);
      if (opts.json) printJson(r.diff);
      else process.stdout.write(formatDiff(r));
    }));
}
