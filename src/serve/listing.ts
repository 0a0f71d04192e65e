/**
 * An HTML directory listing (the `--listing` option): names, sizes and
 * dates, escaped; dotfiles left out unless allowed. Directories first.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ListedEntry {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Entries of a directory (symlinks followed; broken ones skipped). */
export async function listDirectory(dir: string, dotfiles: boolean): Promise<ListedEntry[]> {
  const names = await readdir(dir);
  const out: ListedEntry[] = [];
  for (const name of names) {
    if (!dotfiles && name.startsWith('.')) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (!st || (!st.isFile() && !st.isDirectory())) continue;
    out.push({ name, dir: st.isDirectory(), size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => Number(b.dir) - Number(a.dir) || a.name.localeCompare(b.name));
}

/** The listing page for `urlPath` (ending in "/"). */
export function listingHtml(urlPath: string, entries: readonly ListedEntry[]): string {
  const title = escapeHtml(`Index of ${urlPath}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? '/' : '');
    const when = new Date(e.mtimeMs).toISOString().replace('T', ' ').slice(0, 16);
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${e.dir ? '/' : ''}</a></td><td>${e.dir ? '-' : e.size}</td><td>${when}</td></tr>`;
  });
  const up = urlPath === '/' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>';
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body>\n<h1>${title}</h1>\n<table>\n<tr><th>name</th><th>bytes</th><th>modified (UTC)</th></tr>\n${up}${rows.join('\n')}\n</table>\n</body></html>\n`;
}
