/**
 * `isosync regions IMAGE [--json]`: the region map. The human form merges
 * adjacent regions of the same kind into runs of sectors; --json prints
 * every region.
 */
import type { Command } from 'commander';
import { regionMap, type Region } from '../../iso/index.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { withImage } from '../../iso/open-image.js';

interface Run { start: number; end: number; kind: Region['kind']; count: number; path?: string }

export function mergeRuns(regions: readonly Region[]): Run[] {
  const runs: Run[] = [];
  for (const r of regions) {
    const last = runs[runs.length - 1];
    if (last && last.kind === r.kind && last.end === r.start) {
      last.end = r.end;
      last.count++;
      delete last.path;
    } else {
      runs.push({ start: r.start, end: r.end, kind: r.kind, count: 1, ...(r.path !== undefined ? { path: r.path } : {}) });
    }
  }
  return runs;
}

export function register(program: Command): void {
  withCommon(program.command('regions').argument('<image>', 'ISO 9660 image').description('show which sectors hold metadata, which file, or nothing'))
    .action(action(async (image: string, opts: CommonOptions) => {
      await withImage(image, async (img) => {
        const regions = regionMap(img);
        if (opts.json) {
          printJson(regions);
          return;
        }
        const bs = img.logicalBlockSize;
        const lines = ['SECTORS              BYTES        KIND               DETAIL'];
        for (const r of mergeRuns(regions)) {
          const first = Math.floor(r.start / bs), last = Math.ceil(r.end / bs) - 1;
          const detail = r.path ?? (r.count > 1 ? `${r.count} regions` : '');
          lines.push(`${`${first}-${last}`.padEnd(20)} ${String(r.end - r.start).padStart(12)} ${r.kind.padEnd(18)} ${detail}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    }));
}
