/**
 * `isosync ls IMAGE [--json] [--deep]`: every entry of the image. The human
 * form is a table (type, size, first block, path, -> target); --json is an
 * array of {path, type, size, lba, extents, target?, mode?, mtime?}. Both
 * are streamed in batches. --deep (ls-deep.ts, loaded only then) adds the
 * files of nested images.
 */
import type { Command } from 'commander';
import { action, withCommon, type CommonOptions } from '../common.js';
import { withImage } from '../../iso/open-image.js';
import { BatchedOut, entryJson, streamJsonArray, TYPE_LETTER } from './ls-format.js';

export function register(program: Command): void {
  withCommon(program.command('ls').argument('<image>', 'ISO 9660 image').description('list the files of an ISO image')
    .option('--deep', 'also list the files inside nested images (squashfs, EROFS, FAT), with their extents in the image'))
    .action(action(async (image: string, opts: CommonOptions & { deep?: boolean }) => {
      if (opts.deep) return (await import('./ls-deep.js')).listDeep(image, opts.json);
      await withImage(image, async (img) => {
        if (opts.json) return streamJsonArray(img.entries, entryJson);
        // Column widths by a loop: an image has hundreds of thousands of entries, too many to spread into Math.max.
        let maxSize = 0;
        let maxLba = 0;
        for (const e of img.entries) {
          if (e.size > maxSize) maxSize = e.size;
          if (e.lba > maxLba) maxLba = e.lba;
        }
        const sizeW = Math.max(4, String(maxSize).length);
        const lbaW = Math.max(3, String(maxLba).length);
        const out = new BatchedOut();
        await out.add(`T ${'SIZE'.padStart(sizeW)} ${'LBA'.padStart(lbaW)} PATH\n`);
        for (const e of img.entries) {
          const wait = out.add(`${TYPE_LETTER[e.type]} ${String(e.size).padStart(sizeW)} ${String(e.lba).padStart(lbaW)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}\n`);
          if (wait) await wait;
        }
        await out.flush();
      }, { entriesOnly: true });
    }));
}
