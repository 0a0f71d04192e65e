/**
 * `isosync extract IMAGE [PATH_OR_GLOB ...] -o DIR [--json]`: writes the
 * selected entries (all by default) with Rock Ridge modes, mtimes, symlinks
 * and hard links, refusing any entry that would land outside DIR (see
 * src/iso/extract.ts). Selection is a separate step so that other options
 * (a later --changed-from OLD) can narrow it.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { extractEntries } from '../../iso/extract.js';
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
      await withImage(image, async (img, src) => {
        let selected = selectEntries(img.entries, patterns, image);
        if (opts.changedFrom) {
          const from = opts.changedFrom;
          // Loaded only for --changed-from: a plain extract never loads the package readers.
          const { changedEntries } = await import('../../packages/changed-entries.js');
          const changed = new Set(await withImage(from, (oldImg, oldSrc) => changedEntries(oldSrc, oldImg, src, img)));
          selected = selected.filter((e) => changed.has(e));
        }
        // Small files lie side by side in the image: read a window ahead, 1 MiB per system call.
        const summary = await extractEntries(src, img, selected, out, { readAhead: true });
        if (opts.json) printJson(summary);
        else process.stdout.write(`Extracted ${summary.files} files (${summary.bytes} bytes), ${summary.dirs} directories, ${summary.symlinks} symlinks, ${summary.hardlinks} hard links into ${out}\n`);
      }, { entriesOnly: true });
    }));
}
