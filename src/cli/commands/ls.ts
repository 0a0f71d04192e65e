/**
 * `isosync ls IMAGE [--json]`: every entry of the image. The human form is a
 * table (type, size, first block, path, -> target); --json is an array of
 * {path, type, size, lba, extents, target?, mode?, mtime?}.
 */
import type { Command } from 'commander';
import type { IsoEntry } from '../../iso/index.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { withImage } from '../../iso/open-image.js';
import { deepEntries, type DeepEntry } from '../../layouts/deep-list.js';

export function entryJson(e: IsoEntry): Record<string, unknown> {
  return {
    path: e.path,
    type: e.type,
    size: e.size,
    lba: e.lba,
    extents: e.extents.map((x) => ({ lba: x.lba, size: x.size })),
    ...(e.target !== undefined ? { target: e.target } : {}),
    ...(e.mode !== undefined ? { mode: e.mode } : {}),
    ...(e.mtimeMs !== undefined ? { mtime: new Date(e.mtimeMs).toISOString() } : {}),
    ...(e.nlink !== undefined && e.nlink > 1 ? { nlink: e.nlink } : {}),
    ...(e.inode !== undefined ? { inode: e.inode } : {}),
  };
}

const TYPE_LETTER = { file: '-', dir: 'd', symlink: 'l' } as const;

/** Characters of listing written at a time. */
const LS_BATCH_CHARS = 256 * 1024;

/** Writes to stdout, waiting for it to drain when it buffers (a slow pipe). */
function writeOut(text: string): Promise<void> {
  if (text === '' || process.stdout.write(text)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

function deepJson(e: DeepEntry): Record<string, unknown> {
  return { path: e.path, type: e.type, size: e.size, extents: e.extents, ...(e.target !== undefined ? { target: e.target } : {}) };
}

/** `ls --deep`: nested files too, each with its image-absolute stored extents (TYPE SIZE STORED FIRST-BYTE PATH). */
async function listDeep(image: string, json: boolean | undefined): Promise<void> {
  await withImage(image, async (img, src) => {
    const { entries, notes } = await deepEntries(img, src);
    for (const n of notes) process.stderr.write(`isosync: note: ${n}\n`);
    if (json) {
      printJson(entries.map(deepJson));
      return;
    }
    const stored = entries.map((e) => e.extents.reduce((n, x) => n + x.end - x.start, 0));
    const sizeW = entries.reduce((w, e) => Math.max(w, String(e.size).length), 4);
    const storedW = stored.reduce((w, n) => Math.max(w, String(n).length), 6);
    const offW = entries.reduce((w, e) => Math.max(w, String(e.extents[0]?.start ?? '').length), 6);
    const lines = [`T ${'SIZE'.padStart(sizeW)} ${'STORED'.padStart(storedW)} ${'OFFSET'.padStart(offW)} PATH`];
    entries.forEach((e, i) => {
      lines.push(`${TYPE_LETTER[e.type === 'other' ? 'file' : e.type]} ${String(e.size).padStart(sizeW)} ${String(stored[i]).padStart(storedW)} ${String(e.extents[0]?.start ?? '-').padStart(offW)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}`);
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

export function register(program: Command): void {
  withCommon(program.command('ls').argument('<image>', 'ISO 9660 image').description('list the files of an ISO image')
    .option('--deep', 'also list the files inside nested images (squashfs, EROFS, FAT), with their extents in the image'))
    .action(action(async (image: string, opts: CommonOptions & { deep?: boolean }) => {
      if (opts.deep) return listDeep(image, opts.json);
      await withImage(image, async (img) => {
        if (opts.json) {
          printJson(img.entries.map(entryJson));
          return;
        }
        // Column widths by a loop: an image has hundreds of thousands of entries, too many to spread into Math.max.
        let maxSize = 0;
        let maxLba = 0;
        for (const e of img.entries) {
          if (e.size > maxSize) maxSize = e.size;
          if (e.lba > maxLba) maxLba = e.lba;
        }
        const sizeW = Math.max(4, String(maxSize).length);
        const lbaW = Math.max(3, String(maxLba).length);
        // Written in batches: the whole listing is never one string.
        let out = `T ${'SIZE'.padStart(sizeW)} ${'LBA'.padStart(lbaW)} PATH\n`;
        for (const e of img.entries) {
          out += `${TYPE_LETTER[e.type]} ${String(e.size).padStart(sizeW)} ${String(e.lba).padStart(lbaW)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}\n`;
          if (out.length >= LS_BATCH_CHARS) {
            await writeOut(out);
            out = '';
          }
        }
        await writeOut(out);
      }, { entriesOnly: true });
    }));
}
