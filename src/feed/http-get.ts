/**
 * One bounded HTTP(S) GET for feeds and torrents: redirects followed (at
 * most MAX_REDIRECTS), the body capped at `limit` bytes, a server that sends
 * nothing for TIMEOUT_MS given up. Failures are one-line NETWORK errors in
 * plain words ("connection refused"), naming what was fetched and the URL.
 */
import http from 'node:http';
import https from 'node:https';
import { IsosyncError } from '../errors.js';
import { extraCaOptions } from '../core/extra-ca.js';
import { connectionWords } from '../core/net-words.js';

const TIMEOUT_MS = 20_000;
const MAX_REDIRECTS = 5;

export interface Got {
  readonly status: number;
  readonly body: Uint8Array;
  /** The URL that answered, after redirects (relative links resolve against it). */
  readonly url: string;
  readonly contentType: string;
}

/** A failed connection in plain words (core/net-words.ts), else Node's code or text. */
const words = (e: NodeJS.ErrnoException): string => connectionWords(e.code ?? '') ?? e.code ?? e.message;

export function httpGet(url: string, what: string, opts: { limit: number; accept?: string }): Promise<Got> {
  return get(url, what, opts, 0);
}

function get(url: string, what: string, opts: { limit: number; accept?: string }, hops: number): Promise<Got> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new IsosyncError('BAD_ARGUMENT', `Cannot fetch ${what} ${JSON.stringify(url)}: not a URL`, { url }));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new IsosyncError('BAD_ARGUMENT', `Cannot fetch ${what} ${JSON.stringify(url)}: only http and https URLs are fetched`, { url }));
      return;
    }
    const fail = (detail: string) => reject(new IsosyncError('NETWORK', `Cannot fetch ${what} ${url}: ${detail}`, { url }));
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, { agent: false, ...(mod === https ? extraCaOptions() : {}), headers: { 'User-Agent': 'isosync', 'Accept-Encoding': 'identity', ...(opts.accept ? { Accept: opts.accept } : {}) } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) return fail(`more than ${MAX_REDIRECTS} redirects`);
        get(new URL(res.headers.location, u).href, what, opts, hops + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        return fail(`HTTP ${status}`);
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > opts.limit) {
          req.destroy();
          reject(new IsosyncError('BAD_REPLY', `Cannot fetch ${what} ${url}: the reply is larger than ${opts.limit} bytes`, { url }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status, body: new Uint8Array(Buffer.concat(chunks)), url: u.href, contentType: String(res.headers['content-type'] ?? '') }));
      res.on('error', (e: NodeJS.ErrnoException) => fail(connectionWords(e.code ?? '') ?? e.message));
    });
    req.setTimeout(TIMEOUT_MS, () => {
      fail(connectionWords('ETIMEDOUT') ?? 'timed out');
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => fail(words(e)));
  });
}
