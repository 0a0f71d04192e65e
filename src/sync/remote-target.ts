/**
 * A sync target given by URL: `isosync http://host/path/distro-1.01.iso` or
 * `isosync http://host/path/distro-1.01.torrent`.
 *
 * For an image URL the client looks for a torrent, in this order:
 *   1. `URL.torrent` (what `isosync serve` and `publish --out-dir` provide;
 *      a plain GET that any static server answers cheaply with 404 if absent);
 *   2. the URL itself with `Accept: application/x-bittorrent`, `X-Isosync: 1`
 *      and `Range: bytes=0-0` (`isosync serve` answers with the torrent; a
 *      plain server sends one byte, and the image's size in Content-Range).
 * With a torrent, every byte is verified by piece hash, the image URL joins
 * the web seeds, and the tracker on the host that served the torrent is
 * tried first (tracker localization: preferredTrackers).
 * Without one, the sync is "plain" (plain-http.ts): the image's own
 * SHA256SUMS line (same folder) is the only possible check, if any.
 */
import http from 'node:http';
import { IsosyncError } from '../errors.js';
import { MAX_TORRENT_FILE_BYTES } from '../torrent/read-file.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { lateHttps } from '../core/late-builtins.js';
import { extraCaOptions } from '../core/extra-ca.js';

/** A server that sends nothing for this long is given up. */
const REMOTE_TIMEOUT_MS = 20_000;
/** Largest SHA256SUMS read: checksum lists are a few KB; a bigger file is not one. */
const MAX_SUMS_BYTES = 4 * 1024 * 1024;

export type RemoteTarget =
  | {
      readonly kind: 'torrent';
      readonly metainfo: Metainfo;
      readonly bytes: Uint8Array;
      /** Where the torrent came from. */
      readonly torrentUrl: string;
      /** The image URL when one was given (it serves the image: a web seed). */
      readonly imageUrl?: string;
      /** The announce URL on the host that served the torrent, to try before the torrent's own trackers. */
      readonly preferredTrackers: readonly string[];
    }
  | {
      readonly kind: 'plain';
      readonly imageUrl: string;
      readonly name: string;
      readonly size: number;
      /** From SHA256SUMS in the image's folder, when it lists the image. */
      readonly sha256?: string;
    };

export { isUrl } from '../core/url.js';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** GETs `url` (redirects followed, at most 5), reading at most `limit` body bytes; `keepBody(headers)` false cuts the reply after its headers. */
function fetchUrl(url: string, headers: Record<string, string>, limit: number, keepBody: (status: number, h: http.IncomingHttpHeaders) => boolean = () => true, hops = 0): Promise<Got> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? lateHttps() : http;
    const req = mod.get(u, { ...(mod === http ? {} : extraCaOptions()), headers: { 'User-Agent': 'isosync', 'Accept-Encoding': 'identity', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && hops < 5) {
        res.resume();
        req.destroy();
        fetchUrl(new URL(res.headers.location, u).href, headers, limit, keepBody, hops + 1).then(resolve, reject);
        return;
      }
      if (!keepBody(status, res.headers)) {
        req.destroy();
        resolve({ status, headers: res.headers, body: Buffer.alloc(0) });
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > limit) {
          req.destroy();
          reject(new IsosyncError('BAD_REPLY', `Cannot fetch ${url}: the reply is larger than ${limit} bytes`, { url }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => reject(new IsosyncError('NETWORK', `Cannot fetch ${url}: ${e.message}`, { url })));
    });
    req.setTimeout(REMOTE_TIMEOUT_MS, () => req.destroy(new IsosyncError('TIMEOUT', `Cannot fetch ${url}: no answer for ${REMOTE_TIMEOUT_MS / 1000} s`, { url, timeoutMs: REMOTE_TIMEOUT_MS })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new IsosyncError('NETWORK', `Cannot fetch ${url}: ${e.code ?? e.message}`, { url })));
  });
}

const isTorrentType = (h: http.IncomingHttpHeaders) => /^application\/x-bittorrent\b/i.test(String(h['content-type'] ?? ''));

function announceOf(url: string): string {
  return `${new URL(url).origin}/announce`;
}

function torrentTarget(bytes: Buffer, torrentUrl: string, imageUrl?: string): RemoteTarget {
  const metainfo = parseMetainfo(bytes, torrentUrl);
  return { kind: 'torrent', metainfo, bytes, torrentUrl, ...(imageUrl ? { imageUrl } : {}), preferredTrackers: [announceOf(torrentUrl)] };
}

const resolved = new Map<string, Promise<RemoteTarget>>();

/** Resolves a URL argument to a torrent, or to a plain image (see the module comment); asked once per URL per process. */
export function resolveRemoteTarget(url: string): Promise<RemoteTarget> {
  let r = resolved.get(url);
  if (!r) {
    r = resolveOnce(url);
    resolved.set(url, r);
  }
  return r;
}

async function resolveOnce(url: string): Promise<RemoteTarget> {
  const u = new URL(url);
  if (/\.torrent$/i.test(u.pathname)) {
    const r = await fetchUrl(url, { Accept: 'application/x-bittorrent' }, MAX_TORRENT_FILE_BYTES);
    if (r.status !== 200) throw new IsosyncError('NOT_FOUND', `Cannot fetch torrent ${url}: HTTP ${r.status}`, { url });
    return torrentTarget(r.body, url);
  }
  const beside = `${url}.torrent`;
  const r1 = await fetchUrl(beside, { Accept: 'application/x-bittorrent' }, MAX_TORRENT_FILE_BYTES, (s) => s === 200).catch(() => undefined);
  if (r1?.status === 200) {
    try {
      return torrentTarget(r1.body, beside, url);
    } catch {
      // Not a torrent after all (a catch-all page): ask the image URL.
    }
  }
  // Range 0-0: a plain server then sends one byte (and the size in Content-Range), not the image.
  const r2 = await fetchUrl(url, { Accept: 'application/x-bittorrent', 'X-Isosync': '1', Range: 'bytes=0-0' }, MAX_TORRENT_FILE_BYTES, (s, h) => s === 200 && isTorrentType(h));
  if (r2.status === 200 && isTorrentType(r2.headers)) return torrentTarget(r2.body, url, url);
  if (r2.status !== 200 && r2.status !== 206) throw new IsosyncError('NOT_FOUND', `Cannot fetch ${url}: HTTP ${r2.status}`, { url });
  const total = /\/(\d+)$/.exec(String(r2.headers['content-range'] ?? ''))?.[1];
  const size = Number(r2.status === 206 ? total : r2.headers['content-length']);
  if (!Number.isSafeInteger(size) || size <= 0) throw new IsosyncError('BAD_REPLY', `Cannot sync ${url}: the server does not say the image's size (no Content-Length)`, { url });
  const name = decodeURIComponent(u.pathname.split('/').pop() ?? '') || 'image.iso';
  const sha256 = await sumFor(url, name);
  return { kind: 'plain', imageUrl: url, name, size, ...(sha256 ? { sha256 } : {}) };
}

/** The SHA-256 that SHA256SUMS in the image's folder lists for `name`, if any. */
async function sumFor(url: string, name: string): Promise<string | undefined> {
  const sums = new URL('SHA256SUMS', url).href;
  const r = await fetchUrl(sums, {}, MAX_SUMS_BYTES, (s) => s === 200).catch(() => undefined);
  if (r?.status !== 200) return undefined;
  for (const line of r.body.toString('utf8').split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *]\.?\/?(.+?)\r?$/.exec(line);
    if (m && m[2] === name) return m[1]!.toLowerCase();
  }
  return undefined;
}
