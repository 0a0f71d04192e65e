/**
 * An HTML directory listing (the `--listing` option): names, human sizes
 * and dates, escaped, with a `.torrent` link beside every file the server
 * makes a torrent of. Only what a GET would serve is listed: the caller
 * resolves each name exactly as a request for it (dotfiles, symlinks out of
 * the root, broken links and special files are left out, not shown to 404).
 * Directories first.
 */
import type { Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { formatBytes } from '../human/units.js';
import { torrentFileName } from '../library/torrent-name.js';

export interface ListedEntry {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number;
  readonly mtimeMs: number;
  /** The file has a torrent at NAME.torrent. */
  readonly torrent: boolean;
}

/** How a request for a name resolves (static-files.ts resolveRequest). */
export type Resolve = (name: string) => Promise<{ kind: 'file'; stats: Stats } | { kind: 'dir' } | { kind: 'bad' }>;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Entries of a directory that a GET would serve. */
export async function listDirectory(dir: string, resolve: Resolve, hasTorrent: (st: Stats, name: string) => boolean = () => false): Promise<ListedEntry[]> {
  const names = await readdir(dir);
  const out: ListedEntry[] = [];
  for (const name of names) {
    const r = await resolve(name).catch(() => ({ kind: 'bad' as const }));
    if (r.kind === 'bad') continue;
    if (r.kind === 'dir') out.push({ name, dir: true, size: 0, mtimeMs: 0, torrent: false });
    else out.push({ name, dir: false, size: r.stats.size, mtimeMs: r.stats.mtimeMs, torrent: hasTorrent(r.stats, name) });
  }
  // FILE.torrent beside a file that has a torrent link is what that link serves: listed once, as the link.
  const linked = new Set(out.filter((e) => e.torrent).map((e) => torrentFileName(e.name)));
  return out.filter((e) => e.dir || !linked.has(e.name)).sort((a, b) => Number(b.dir) - Number(a.dir) || a.name.localeCompare(b.name));
}

const CSS = `:root{color-scheme:light dark}body{margin:0;padding:16px;font:15px/1.45 system-ui,sans-serif}main{max-width:960px;margin:0 auto}
h1{font-size:1.3em;word-break:break-all}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid #8884;white-space:nowrap}th{font-weight:500;opacity:.7}td.num{text-align:right}
a.t{font-size:.85em;margin-left:.6em}`;

/** The listing page for `urlPath` (ending in "/"). */
export function listingHtml(urlPath: string, entries: readonly ListedEntry[]): string {
  const title = escapeHtml(`Index of ${urlPath}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? '/' : '');
    const when = e.dir ? '' : new Date(e.mtimeMs).toISOString().replace('T', ' ').slice(0, 16);
    const torrent = e.torrent ? ` <a class="t" href="${escapeHtml(encodeURIComponent(torrentFileName(e.name)))}">.torrent</a>` : '';
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${e.dir ? '/' : ''}</a>${torrent}</td><td class="num" title="${e.dir ? '' : `${e.size} bytes`}">${e.dir ? '-' : escapeHtml(formatBytes(e.size))}</td><td>${when}</td></tr>`;
  });
  const up = urlPath === '/' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><style>${CSS}</style></head><body><main>\n<h1>${title}</h1>\n<div class="scroll"><table>\n<tr><th>name</th><th class="num" style="text-align:right">size</th><th>modified (UTC)</th></tr>\n${up}${rows.join('\n')}\n</table></div>\n</main></body></html>\n`;
}
