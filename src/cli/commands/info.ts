/**
 * `isosync info TORRENT [--json]`: what a torrent holds (any torrent, not
 * only isosync's): name, sizes, version (v1, v2, hybrid) and infohashes,
 * isosync's product/release/lineage, trackers, web seeds (BEP 19) and HTTP
 * seeds (BEP 17), and a summary of its delta hints.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { readTorrentFile } from '../../torrent/read-file.js';
import { isUrl } from '../../core/url.js';
import { chooseSyncFile } from '../../torrent/file-choice.js';
import type { Metainfo } from '../../torrent/metainfo.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { metainfoJson, type MetainfoJson } from '../metainfo-json.js';

export interface InfoJson extends MetainfoJson {
  /** Multi-file torrents: which file a sync fetches with the delta, and why. */
  syncs?: string;
  /** Publisher signatures outside the info dictionary (src/feed/torrent-signature.ts): who signed, and whether it holds. */
  signatures: { signer: string; valid: boolean; problem?: string; followedFor?: string[] }[];
}

export async function infoJson(m: Metainfo, bytes?: Uint8Array): Promise<InfoJson> {
  return {
    ...metainfoJson(m),
    ...(m.files ? { syncs: syncSummary(m) } : {}),
    signatures: await signaturesOf(m, bytes),
  };
}

/** The key `signatures` as bencode writes it: a torrent without these bytes has no signatures. */
const SIGNATURES_KEY_BYTES = Buffer.from('10:signatures');

async function signaturesOf(m: Metainfo, bytes: Uint8Array | undefined): Promise<InfoJson['signatures']> {
  if (!bytes || Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(SIGNATURES_KEY_BYTES) < 0) return [];
  // Loaded only for a torrent that may be signed: the verifier brings node:crypto's key handling.
  const { torrentSignatures } = await import('../../feed/torrent-signature.js');
  return torrentSignatures(bytes, m).map((x) => ({ signer: x.signer, valid: x.valid, ...(x.problem ? { problem: x.problem } : {}) }));
}

function syncSummary(m: Metainfo): string {
  try {
    return chooseSyncFile(m).summary;
  } catch (e) {
    return (e as Error).message;
  }
}

function printText(j: InfoJson): void {
  const lines: [string, string][] = [
    ['name', j.name],
    ['length', `${j.length} bytes (${formatBytes(j.length)})`],
    ['pieces', `${j.pieceCount} of ${j.pieceLength} bytes (${formatBytes(j.pieceLength)})`],
    ['version', j.version === 'hybrid' ? 'hybrid (BitTorrent v1 and v2)' : j.version === 'v2' ? 'BitTorrent v2 only' : 'BitTorrent v1'],
  ];
  if (j.version === 'v1') lines.push(['infohash', j.infoHash]);
  if (j.version === 'hybrid') lines.push(['infohash', `${j.infoHash} (v1)`]);
  if (j.infoHashV2 !== null) lines.push(['infohash v2', j.infoHashV2 + (j.version === 'v2' ? `\n${j.infoHash} (on the wire: the first 20 bytes)` : '')]);
  if (j.product !== null) lines.push(['product', j.product], ['release', j.release ?? '']);
  if (j.lineage.length > 0) lines.push(['lineage', j.lineage.map((e) => `${e.release} ${e.infoHash}`).join('\n')]);
  else if (j.similar.length > 0) lines.push(['similar', j.similar.join('\n')]);
  if (j.product === null && j.collections.length > 0) lines.push(['collections', j.collections.join(', ')]);
  lines.push(['trackers', j.trackers.length > 0 ? j.trackers.map((t, i) => `tier ${i + 1}: ${t.join(' ')}`).join('\n') : 'none']);
  lines.push(['web seeds', j.webSeeds.length > 0 ? j.webSeeds.join('\n') : 'none']);
  if (j.httpSeeds.length > 0) lines.push(['http seeds', j.httpSeeds.join('\n')]);
  if (j.comment !== null) lines.push(['comment', j.comment]);
  if (j.createdBy !== null) lines.push(['created by', j.createdBy]);
  if (j.creationDate !== null) lines.push(['creation date', dateText(j.creationDate)]);
  lines.push(['private', j.private ? 'yes' : 'no']);
  lines.push(['hints', j.hints === null ? 'none' : Object.entries(j.hints).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')]);
  const whose = (x: InfoJson['signatures'][number]) => (x.followedFor?.length ? `; the key this machine follows for ${x.followedFor.join(', ')}` : '');
  if (j.signatures.length > 0) lines.push(['signed by', j.signatures.map((x) => (x.valid ? `${x.signer} (valid: infohash, product, release and lineage match${whose(x)})` : `${x.signer} INVALID: ${x.problem ?? 'does not verify'}`)).join('\n')]);
  else if (j.product !== null) lines.push(['signed by', 'nobody (unsigned)']);
  if (j.files) lines.push(['files', j.files.filter((f) => !f.attr?.includes('p')).map((f) => `${f.path} (${f.length} bytes)`).join('\n')]);
  if (j.syncs) lines.push(['sync', j.syncs]);
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
/** Names, for each signer, the products this machine follows with that key (a catalog that does not exist is not created). */
async function markFollowedKeys(j: InfoJson, home: string | undefined): Promise<void> {
  if (j.signatures.length === 0) return;
  // Loaded only for a signed torrent: an unsigned one is shown without SQLite.
  const { openCatalogIfExists } = await import('../../library/catalog.js');
  const { FollowStore } = await import('../../feed/follow-store.js');
  let catalog;
  try {
    catalog = openCatalogIfExists(home);
  } catch {
    return; // An unreadable catalog takes nothing from what info shows about the torrent itself.
  }
  if (!catalog) return;
  try {
    const follows = new FollowStore(catalog).all();
    for (const s of j.signatures) {
      const products = follows.filter((f) => f.key.id === s.signer).map((f) => f.product);
      if (products.length > 0) s.followedFor = products;
    }
  } finally {
    catalog.close();
  }
}

async function torrentOf(arg: string): Promise<{ m: Metainfo; bytes: Uint8Array }> {
  if (!isUrl(arg)) {
    const m = readTorrentFile(arg);
    return { m, bytes: readFileSync(arg) };
  }
  // Loaded only for a URL: reading a file needs no HTTP client.
  const { resolveRemoteTarget } = await import('../../sync/remote-target.js');
  const r = await resolveRemoteTarget(arg);
  if (r.kind === 'plain') throw new IsosyncError('NOT_FOUND', `Cannot show ${arg}: the server offers no torrent for it (a plain file of ${formatBytes(r.size)})`, { url: arg });
  return { m: r.metainfo, bytes: r.bytes };
}

/** The whole of `isosync info`, once the command line is read (by commander, or by quick-info.ts). */
export async function showInfo(path: string, opts: { json?: boolean; home?: string }): Promise<void> {
  const { m, bytes } = await torrentOf(path);
  const j = await infoJson(m, bytes);
  await markFollowedKeys(j, opts.home);
  if (opts.json) printJson(j);
  else printText(j);
}

export function register(program: Command): void {
  const cmd = program
    .command('info')
    .description('show what a torrent holds: sizes, infohash, product, release, lineage, trackers, web seeds, hints')
    .argument('<torrent>', "a .torrent file (isosync's or any other), or an http(s) URL of a torrent or of an image");
  withCommon(cmd).action(
    action(async (path: string, opts: CommonOptions) => showInfo(path, opts)),
  );
}
