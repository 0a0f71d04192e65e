/**
 * HTTP(S) tracker requests, client side: one GET, a bounded body, a
 * deadline. Errors are plain Errors with a short message (the Announcer
 * prefixes the tracker URL and emits a warning).
 */
import http from 'node:http';
import https from 'node:https';
import { VERSION } from '../version.js';
import { buildAnnounceUrl, scrapeUrlOf, type AnnounceUrlFields } from './announce-query.js';
import { parseAnnounceReply, parseScrapeReply, type AnnounceReply, type ScrapeCounts } from './http-reply.js';

/** A 200-peer dictionary-model reply is ~15 KB; anything near this is not a tracker reply. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/** GETs a URL, resolving with the body of a 200 reply; rejects on any other status, an oversized body, the deadline or the signal. */
export function trackerGet(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, body?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(body!);
    };
    const onAbort = (): void => finish(new Error('announce cancelled'));
    const mod = url.startsWith('https:') ? https : http;
    // A fresh connection each time: announces are minutes apart, and a pooled socket the tracker already closed fails with "socket hang up" (opentracker closes after every reply).
    const req = mod.get(url, { agent: false, headers: { 'User-Agent': `isosync/${VERSION}`, 'Accept-Encoding': 'identity', Connection: 'close' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new Error(`HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_REPLY_BYTES) finish(new Error(`reply longer than ${MAX_REPLY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => finish(undefined, new Uint8Array(Buffer.concat(chunks))));
      res.on('error', (e) => finish(new Error(`reply broken: ${e.message}`)));
      res.on('aborted', () => finish(new Error('reply cut short')));
    });
    req.on('error', (e) => finish(new Error(e.message)));
    const timer = setTimeout(() => finish(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
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
  if (!s) throw new Error('no scrape URL (the path does not end in "announce")');
  return parseScrapeReply(await trackerGet(s, timeoutMs, signal), infoHash);
}
