/**
 * Everything a sync is given, checked before anything is created: a bad
 * option, a missing --from image or --source folder, an output folder that
 * does not exist or cannot be written, a malformed --peer or mirror URL all
 * fail here, with exit 2, before a .part exists or a socket opens.
 */
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import { isUrl } from '../sync/remote-target.js';
import { parseHostPort } from '../swarm/host-port.js';
import { intOption, portOption } from './common.js';
import { sizeOption } from './size.js';
import { plainReason } from './system-errors.js';

export interface SyncArgs {
  from?: string[];
  source?: string[];
  webSeed?: string[];
  mirror?: string[];
  mirrors?: string;
  output?: string;
  timeout?: string;
  peer?: string[];
  port?: string;
  host?: string;
  uploadLimit?: string;
  downloadLimit?: string;
  uploadSlots?: string;
}

/** The numbers of a sync, parsed once. */
export interface CheckedSync {
  mirrors: string[];
  port: number | undefined;
  uploadLimit: number | undefined;
  downloadLimit: number | undefined;
  uploadSlots: number | undefined;
  timeoutSeconds: number;
}

function statOf(option: string, path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IsosyncError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_ARGUMENT', `Cannot use ${option} ${JSON.stringify(path)}: ${plainReason(err)}`, { option, path });
  }
}

function readable(option: string, path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot use ${option} ${JSON.stringify(path)}: ${plainReason(e as NodeJS.ErrnoException)}`, { option, path });
  }
}

/** A mirror may be an http(s) or an ftp URL (ftp/ftp-peer.ts). */
export function isMirrorUrl(u: string): boolean {
  return isUrl(u) || /^ftp:\/\/[^/\s]+\/\S/i.test(u);
}

/** Why a URL is no mirror, in words: an FTP URL must name the image file (FTP has no folder-plus-name convention here). */
function notMirror(u: string): string {
  return /^ftp:\/\//i.test(u) ? 'an ftp URL must name the image file (ftp://host/path/image.iso)' : 'not an http, https or ftp URL';
}

/** Mirror URLs from --mirror and a --mirrors file (one URL per line, # comments, blank lines ignored). */
export function mirrorUrls(opts: Pick<SyncArgs, 'mirror' | 'mirrors'>): string[] {
  const out = [...(opts.mirror ?? [])];
  if (opts.mirrors !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.mirrors, 'utf8');
    } catch (e) {
      throw new IsosyncError('NOT_FOUND', `Cannot read --mirrors ${JSON.stringify(opts.mirrors)}: ${plainReason(e as NodeJS.ErrnoException)}`, { path: opts.mirrors });
    }
    for (const line of text.split('\n')) {
      const u = line.replace(/#.*/, '').trim();
      if (u) out.push(u);
    }
  }
  for (const u of out) {
    if (!isMirrorUrl(u)) throw new IsosyncError('BAD_ARGUMENT', `Invalid mirror ${JSON.stringify(u)}: ${notMirror(u)}`);
  }
  return out;
}

/** Where the image will be written: its folder must exist and be writable, and the path must not be a folder. */
export function checkOutputPath(output: string): void {
  const abs = resolve(output);
  const dir = dirname(abs);
  const st = statOf('-o', dir);
  if (!st.isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot write ${JSON.stringify(output)}: ${JSON.stringify(dir)} is not a folder`, { path: output });
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot write ${JSON.stringify(output)}: ${plainReason(e as NodeJS.ErrnoException)} in ${JSON.stringify(dir)}`, { path: output });
  }
  let there;
  try {
    there = statSync(abs);
  } catch {
    return;
  }
  if (there.isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot write ${JSON.stringify(output)}: it is a folder (give -o a file name)`, { path: output });
}

/** Checks every option and path of sync (or plan, `forPlan`) and returns the parsed numbers. */
export function checkSyncArgs(opts: SyncArgs, forPlan = false): CheckedSync {
  for (const f of opts.from ?? []) {
    if (isUrl(f)) throw new IsosyncError('BAD_ARGUMENT', `Cannot use --from ${JSON.stringify(f)}: give an image on disk (a URL is a --mirror)`);
    if (!statOf('--from', f).isFile()) throw new IsosyncError('BAD_ARGUMENT', `Cannot use --from ${JSON.stringify(f)}: not a regular file`, { path: f });
    readable('--from', f);
  }
  for (const d of opts.source ?? []) {
    if (!statOf('--source', d).isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot use --source ${JSON.stringify(d)}: not a folder`, { path: d });
    readable('--source', d);
  }
  for (const u of opts.webSeed ?? []) {
    if (!isMirrorUrl(u)) throw new IsosyncError('BAD_ARGUMENT', `Invalid --web-seed ${JSON.stringify(u)}: ${notMirror(u)}`);
  }
  for (const p of opts.peer ?? []) parseHostPort(p);
  const mirrors = mirrorUrls(opts);
  const timeoutSeconds = intOption('--timeout', opts.timeout, 1) ?? 20;
  if (!forPlan && opts.output !== undefined) checkOutputPath(opts.output);
  return {
    mirrors,
    port: forPlan ? undefined : portOption('--port', opts.port),
    uploadLimit: forPlan ? undefined : sizeOption('--upload-limit', opts.uploadLimit, { rate: true }),
    downloadLimit: forPlan ? undefined : sizeOption('--download-limit', opts.downloadLimit, { rate: true }),
    uploadSlots: forPlan ? undefined : intOption('--upload-slots', opts.uploadSlots, 1),
    timeoutSeconds,
  };
}
