/**
 * Writing chosen entries of nested images into a folder, with the safety
 * rules of iso/extract.ts: every path component a plain name, no existing
 * symlink or file followed on the way (ensureDirs), each file written to a
 * fresh temporary name (O_EXCL | O_NOFOLLOW) and renamed to its name only
 * once complete, a failure removing it.
 *
 * A file's content is decoded by its layout's reader (readContent: the
 * compressed blocks and the tail in its shared block) through the caller's
 * ByteSource; for a get, the pieces were built and verified before. Content
 * is held in memory one file at a time, at most MAX_FILE_BYTES.
 * Permission bits come from the image where it keeps them (squashfs, EROFS);
 * setuid and setgid are dropped as in iso/extract.ts. Modification times
 * and hard links are not kept.
 */
import { constants } from 'node:fs';
import { chmod, open, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import { commit, ensureDirs, tempName, type ExtractSummary } from '../iso/extract.js';
import type { LayoutFile } from '../layouts/layout.js';
import type { NestedSelection } from './nested-select.js';

/** Largest nested file written (decoded in memory at once): 1 GiB. */
export const MAX_FILE_BYTES = 1024 * 1024 * 1024;
const MODE_MASK = 0o1777;
const DEFAULT_FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** The components of `folder` + `entry.path`, each checked to be a plain name. */
function components(sel: NestedSelection, entry: LayoutFile): string[] {
  const comps = [...sel.folder.split('/'), ...entry.path.split('/')].filter((c) => c.length > 0);
  for (const c of comps) {
    if (c === '.' || c === '..' || c.includes('\0')) {
      throw new IsosyncError('UNSAFE_PATH', `Cannot extract ${quote(entry.path)} from ${quote(sel.image.path)}: it has a component ${quote(c)}`, { path: entry.path, reason: `component ${c}` });
    }
  }
  return comps;
}

/** Writes every selection's entries under `outDir` (which exists); names are all checked first. */
export async function extractNested(selections: readonly NestedSelection[], outDir: string): Promise<ExtractSummary> {
  const summary: ExtractSummary = { dir: outDir, files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  const plan = selections.flatMap((sel) => sel.entries.map((entry) => ({ sel, entry, comps: components(sel, entry) })));
  const created = new Set<string>();
  const made = new Set<string>();
  for (const { sel, entry, comps } of plan) {
    const name = sel.image.path;
    if (entry.type === 'dir') {
      await ensureDirs(outDir, comps, name, entry.path, created, made);
      summary.dirs++;
      continue;
    }
    if (entry.type === 'other') continue;
    const parent = await ensureDirs(outDir, comps.slice(0, -1), name, entry.path, created, made);
    const final = join(parent, comps[comps.length - 1]!);
    const tmp = tempName(parent, comps[comps.length - 1]!);
    try {
      if (entry.type === 'symlink') {
        await symlink(entry.target ?? '', tmp);
        await commit(tmp, final, name, entry.path);
        summary.symlinks++;
        continue;
      }
      const bytes = await sel.image.layout.readContent(entry, MAX_FILE_BYTES);
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile(bytes);
        await fh.chmod((entry.mode ?? DEFAULT_FILE_MODE) & MODE_MASK);
      } finally {
        await fh.close();
      }
      await commit(tmp, final, name, entry.path);
      summary.files++;
      summary.bytes += bytes.length;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
  // Folders made here were private while they filled (ensureDirs): they get the usual mode.
  for (const d of made) await chmod(d, DIR_MODE);
  return summary;
}
