/**
 * `isosync ls IMAGE [--json] [--deep]`: every entry of the image, in path
 * order. The human form is a table (type, size, first block, path, ->
 * target) whose columns are as wide as the image's byte count and block
 * count; --json is an array of {path, type, size, lba, extents, target?,
 * mode?, mtime?}. Both are streamed as the tree is walked (listIso): no
 * entry is kept. --deep (ls-deep.ts, loaded only then) adds the files of
 * nested images.
 */
import type { Command } from 'commander';
import { action, withCommon, type CommonOptions } from '../common.js';
import { listIso, listLean } from '../../iso/list-iso.js';
import { WindowSource } from '../../iso/read-window.js';
import { FileSource } from '../../store/file-source.js';
import { BatchedOut, entryJson, JsonArrayOut, TYPE_BYTE } from './ls-format.js';

/** `isosync ls IMAGE [--json]` once the command line is read (by commander, or by quick-ls.ts). */
export async function listImage(image: string, json: boolean | undefined): Promise<void> {
  const src = await FileSource.open(image);
  try {
    const cached = new WindowSource(src);
    if (json) {
      const out = new JsonArrayOut();
      await listIso(cached, image, () => undefined, (e) => out.add(entryJson(e)));
      return await out.end();
    }
    const out = new BatchedOut();
    let sizeW = 4;
    let lbaW = 3;
    // Rows straight from each directory's columns (listLean): no entry object per file.
    await listLean(cached, image, (img) => {
      sizeW = Math.max(sizeW, String(img.imageBytes).length);
      lbaW = Math.max(lbaW, String(img.volumeSpaceSize).length);
      return out.add(`T ${'SIZE'.padStart(sizeW)} ${'LBA'.padStart(lbaW)} PATH\n`);
    }, {
      dir: (d, parent) => out.row(TYPE_BYTE.dir, d.size, sizeW, d.dir.lba, lbaW, d.dir.path, parent, d.dir.name, undefined),
      file: (d, i) => out.row(d.types[i]!, d.sizes[i]!, sizeW, d.lbas[i]!, lbaW, '', d.dir.path, d.names[i]!, d.targets?.get(i)),
    }, { times: false });
    await out.flush();
  } finally {
    await src.close();
  }
}

export function register(program: Command): void {
  withCommon(program.command('ls').argument('<image>', 'ISO 9660 image').description('list the files of an ISO image')
    .option('--deep', 'also list the files inside nested images (squashfs, EROFS, FAT), with their extents in the image'))
    .action(action(async (image: string, opts: CommonOptions & { deep?: boolean }) => {
      if (opts.deep) return (await import('./ls-deep.js')).listDeep(image, opts.json);
      await listImage(image, opts.json);
    }));
}
