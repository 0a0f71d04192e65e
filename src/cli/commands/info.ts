/**
 * `isosync info TORRENT [--json]`: what a torrent holds (any torrent, not
 * only isosync's): name, sizes, infohash, isosync's product/release/lineage,
 * trackers, web seeds, and a summary of its delta hints.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { isUrl, resolveRemoteTarget } from '../../sync/remote-target.js';
import { readTorrentFile } from '../../library/previous.js';
import type { Metainfo } from '../../torrent/metainfo.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { metainfoJson as infoJson, type MetainfoJson as InfoJson } from '../metainfo-json.js';

function printText(j: InfoJson): void {
  const lines: [string, string][] = [
    ['name', j.name],
    ['length', `${j.length} bytes (${formatBytes(j.length)})`],
    ['pieces', `${j.pieceCount} of ${j.pieceLength} bytes (${formatBytes(j.pieceLength)})`],
    ['infohash', j.infoHash],
  ];
  if (j.product !== null) lines.push(['product', j.product], ['release', j.release ?? '']);
  if (j.lineage.length > 0) lines.push(['lineage', j.lineage.map((e) => `${e.release} ${e.infoHash}`).join('\n')]);
  else if (j.similar.length > 0) lines.push(['similar', j.similar.join('\n')]);
  if (j.product === null && j.collections.length > 0) lines.push(['collections', j.collections.join(', ')]);
  lines.push(['trackers', j.trackers.length > 0 ? j.trackers.map((t, i) => `tier ${i + 1}: ${t.join(' ')}`).join('\n') : 'none']);
  lines.push(['web seeds', j.webSeeds.length > 0 ? j.webSeeds.join('\n') : 'none']);
  if (j.comment !== null) lines.push(['comment', j.comment]);
  if (j.createdBy !== null) lines.push(['created by', j.createdBy]);
  if (j.creationDate !== null) lines.push(['creation date', dateText(j.creationDate)]);
  lines.push(['private', j.private ? 'yes' : 'no']);
  lines.push(['hints', j.hints === null ? 'none' : Object.entries(j.hints).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')]);
  if (j.files) lines.push(['files', j.files.map((f) => `${f.path} (${f.length} bytes)`).join('\n')]);
  const pad = lines.reduce((w, [k]) => Math.max(w, k.length), 0) + 2;
  for (const [k, v] of lines) {
    const [first, ...rest] = v.split('\n');
    process.stdout.write(`${`${k}:`.padEnd(pad)}${first}\n`);
    for (const r of rest) process.stdout.write(`${' '.repeat(pad)}${r}\n`);
  }
}

function dateText(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : `${d.toISOString().replace('.000Z', 'Z')} (${seconds})`;
}

/** The torrent at a path, or at a URL (a torrent's, or an image's: the server is asked for its torrent, as sync does). */
async function torrentOf(arg: string): Promise<Metainfo> {
  if (!isUrl(arg)) return readTorrentFile(arg);
  const r = await resolveRemoteTarget(arg);
  if (r.kind === 'plain') throw new IsosyncError('NOT_FOUND', `Cannot show ${arg}: the server offers no torrent for it (a plain file of ${formatBytes(r.size)})`, { url: arg });
  return r.metainfo;
}

export function register(program: Command): void {
  const cmd = program
    .command('info')
    .description('show what a torrent holds: sizes, infohash, product, release, lineage, trackers, web seeds, hints')
    .argument('<torrent>', "a .torrent file (isosync's or any other), or an http(s) URL of a torrent or of an image");
  withCommon(cmd).action(
    action(async (path: string, opts: CommonOptions) => {
      const m = await torrentOf(path);
      const j = infoJson(m);
      if (opts.json) printJson(j);
      else printText(j);
    }),
  );
}
