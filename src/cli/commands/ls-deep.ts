/**
 * `isosync ls --deep IMAGE`: nested files too (squashfs, EROFS, FAT inside
 * the ISO), each with its image-absolute stored extents (TYPE SIZE STORED
 * FIRST-BYTE PATH). A module of its own, loaded only for --deep: a plain `ls`
 * never loads the nested readers and their decompressors.
 */
import { printJson } from '../common.js';
import { withImage } from '../../iso/open-image.js';
import { deepEntries, type DeepEntry } from '../../layouts/deep-list.js';
import { TYPE_LETTER } from './ls-format.js';

function deepJson(e: DeepEntry): Record<string, unknown> {
  return { path: e.path, type: e.type, size: e.size, extents: e.extents, ...(e.target !== undefined ? { target: e.target } : {}) };
}

export async function listDeep(image: string, json: boolean | undefined): Promise<void> {
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
