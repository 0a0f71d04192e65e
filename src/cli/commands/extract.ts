/**
 * `isosync extract IMAGE [PATH_OR_GLOB ...] -o DIR [--json]`: writes the
 * selected entries (all by default) with Rock Ridge modes, mtimes, symlinks
 * and hard links, refusing any entry that would land outside DIR (see
 * src/iso/extract.ts). Selection is a separate step so that other options
 * (a later --changed-from OLD) can narrow it. Without a selection the whole
 * tree is streamed (src/iso/extract-image.ts): no entry is kept.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { extractEntries, type ExtractSummary } from '../../iso/extract.js';
import { extractImage } from '../../iso/extract-image.js';
import { FileSource } from '../../store/file-source.js';
import { selectEntries } from '../../iso/select.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { withImage } from '../../iso/open-image.js';

interface ExtractOptions extends CommonOptions {
  output?: string;
  changedFrom?: string;
}

export function register(program: Command): void {
  withCommon(program.command('extract')
    .argument('<image>', 'ISO 9660 image')
    .argument('[patterns...]', 'paths or globs (*, ?, **) to extract; a directory brings its subtree; all when none')
    .option('-o, --output <dir>', 'destination directory (required)')
    .option('--changed-from <old>', 'only what is new or changed relative to this older image (swap them for a rollback)')
    .description('extract files from an ISO image'))
    .action(action(async (image: string, patterns: string[], opts: ExtractOptions) => {
      if (!opts.output) throw new IsosyncError('BAD_ARGUMENT', 'Cannot extract: missing -o DIR (the destination directory)');
      const out = opts.output;
      report(patterns.length === 0 && !opts.changedFrom ? await extractAll(image, out) : await extractSelected(image, patterns, out, opts.changedFrom), opts.json);
    }));
}

/** `isosync extract IMAGE -o DIR [--json]` once the command line is read (by commander, or by quick-extract.ts). */
export async function extractWhole(image: string, out: string, json: boolean): Promise<void> {
  report(await extractAll(image, out), json);
}

function report(summary: ExtractSummary, json: boolean | undefined): void {
  if (json) printJson(summary);
  else process.stdout.write(`Extracted ${summary.files} files (${summary.bytes} bytes), ${summary.dirs} directories, ${summary.symlinks} symlinks, ${summary.hardlinks} hard links into ${summary.dir}\n`);
}

/** The whole image, streamed. */
async function extractAll(image: string, out: string): Promise<ExtractSummary> {
  const src = await FileSource.open(image);
  try {
    // Small files lie side by side in the image: read a window ahead, 1 MiB per system call.
    return await extractImage(src, image, out, { readAhead: true });
  } finally {
    await src.close();
  }
}

/** The entries chosen by patterns and --changed-from, from the image read whole. */
function extractSelected(image: string, patterns: string[], out: string, changedFrom: string | undefined): Promise<ExtractSummary> {
  return withImage(image, async (img, src) => {
    let selected = selectEntries(img.entries, patterns, image);
    if (changedFrom) {
      // Loaded only for --changed-from: a plain extract never loads the package readers.
      const { changedEntries } = await import('../../packages/changed-entries.js');
      const changed = new Set(await withImage(changedFrom, (oldImg, oldSrc) => changedEntries(oldSrc, oldImg, src, img)));
      selected = selected.filter((e) => changed.has(e));
    }
    // Small files lie side by side in the image: read a window ahead, 1 MiB per system call.
    return extractEntries(src, img, selected, out, { readAhead: true });
  }, { entriesOnly: true });
}
