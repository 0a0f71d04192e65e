/**
 * HTTP(S) tracker requests, client side: one GET, a bounded body, a
 * deadline. Errors are IsosyncErrors (HTTP_STATUS, TIMEOUT, NETWORK,
 * BAD_REPLY, CANCELLED); the Announcer names the tracker in its warning.
 */
import http from 'node:http';
import https from 'node:https';
import { IsosyncError } from '../errors.js';
import { extraCaOptions } from '../core/extra-ca.js';
import { VERSION } from '../version.js';
import { buildAnnounceUrl, scrapeUrlOf, type AnnounceUrlFields } from './announce-query.js';
import { parseAnnounceReply, parseScrapeReply, type AnnounceReply, type ScrapeCounts } from './http-reply.js';

/** A 200-peer dictionary-model reply is ~15 KB; anything near this is not a tracker reply. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/** GETs a URL, resolving with the body of a 200 reply; rejects on any other status, an oversized body, the deadline or the signal. */
export function trackerGet(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: IsosyncError | undefined, body?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(body!);
    };
    const onAbort = (): void => finish(new IsosyncError('CANCELLED', 'Cannot finish the announce: it was cancelled', { url }));
    const mod = url.startsWith('https:') ? https : http;
    // A fresh connection each time: announces are minutes apart, and a pooled socket the tracker already closed fails with "socket hang up" (opentracker closes after every reply).
    const req = mod.get(url, { agent: false, ...(mod === https ? extraCaOptions() : {}), headers: { 'User-Agent': `isosync/${VERSION}`, 'Accept-Encoding': 'identity', Connection: 'close' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new IsosyncError('HTTP_STATUS', `Cannot announce: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim(), { url, status: res.statusCode ?? 0 }));
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_REPLY_BYTES) finish(new IsosyncError('BAD_REPLY', `Cannot read the tracker's reply: it is longer than ${MAX_REPLY_BYTES} bytes`, { url, limit: MAX_REPLY_BYTES }));
        else chunks.push(c);
      });
      res.on('end', () => finish(undefined, new Uint8Array(Buffer.concat(chunks))));
      res.on('error', (e) => finish(new IsosyncError('NETWORK', `Cannot read the tracker's reply: ${e.message}`, { url }, { cause: e })));
      res.on('aborted', () => finish(new IsosyncError('NETWORK', "Cannot read the tracker's reply: it was cut short", { url })));
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(new IsosyncError('NETWORK', `Cannot announce: ${e.code ?? e.message}`, { url, ...(e.code ? { errno: e.code } : {}) }, { cause: e })));
    const timer = setTimeout(() => finish(new IsosyncError('TIMEOUT', `Cannot announce: no reply within ${timeoutMs} ms`, { url, timeoutMs })), timeoutMs);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function httpAnnounce(url: string, fields: AnnounceUrlFields, timeoutMs: number, signal?: AbortSignal): Promise<AnnounceReply> {
  return parseAnnounceReply(await trackerGet(buildAnnounceUrl(url, fields), timeoutMs, signal));
}

/** BEP 48 scrape of one torrent; rejects when the URL has no scrape convention. */
export async function httpScrape(url: string, infoHash: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<ScrapeCounts | undefined> {
  const s = scrapeUrlOf(url, [infoHash]);
  if (!s) throw new IsosyncError('UNSUPPORTED', `Cannot scrape ${url}: the path does not end in "announce"`, { url });
  return parseScrapeReply(await trackerGet(s, timeoutMs, signal), infoHash);
}
