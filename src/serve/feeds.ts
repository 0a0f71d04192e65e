/**
 * The release feeds `isosync serve DIR` serves: DIR/feeds/PRODUCT (what
 * `publish --out-dir DIR --sign KEY` writes) at the stable URL
 * /feeds/PRODUCT, with the feed's media type, `Cache-Control: no-cache` (a
 * cache must ask again, or a follower would see a new release late) and a
 * strong ETag of its bytes; and the list /status shows. The server checks
 * nothing a follower relies on: followers verify the feed themselves.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { feedFileName, feedMessage, FEED_CONTENT_TYPE, FEEDS_FOLDER, MAX_FEED_BYTES, parseFeed } from '../feed/feed-format.js';
import { sameKey, verifySignature } from '../feed/keys.js';
import type { StaticStats } from './static-files.js';

export interface ServedFeed {
  product: string;
  /** Its URL on this server. */
  url: string;
  sequence: number;
  updated: number;
  expires: number | null;
  key: string;
  /** Whether it carries a valid signature by its own key (what every follower checks first). */
  signed: boolean;
  releases: number;
  newest: { release: string; infoHash: string } | null;
}

/** The product a /feeds/... path names, or undefined when it names none. */
export function feedProductOf(pathname: string): string | undefined {
  const prefix = `/${FEEDS_FOLDER}/`;
  if (!pathname.startsWith(prefix)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(pathname.slice(prefix.length));
  } catch {
    return undefined;
  }
  try {
    return feedFileName(name);
  } catch {
    return undefined;
  }
}

async function readFeedFile(root: string, product: string): Promise<Buffer | undefined> {
  const path = join(root, FEEDS_FOLDER, product);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > MAX_FEED_BYTES) return undefined;
  return readFile(path).catch(() => undefined);
}

/** Answers GET/HEAD /feeds/PRODUCT; false when there is no such feed (the caller answers 404). */
export async function sendFeed(root: string, product: string, req: IncomingMessage, res: ServerResponse, stats: StaticStats): Promise<boolean> {
  const bytes = await readFeedFile(root, product);
  if (!bytes) return false;
  const etag = `"f-${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
  const headers = { ETag: etag, 'Cache-Control': 'no-cache', 'Content-Type': FEED_CONTENT_TYPE };
  if (String(req.headers['if-none-match'] ?? '').split(',').some((x) => x.trim() === etag)) {
    res.writeHead(304, headers).end();
    return true;
  }
  res.writeHead(200, { ...headers, 'Content-Length': bytes.length });
  if (req.method === 'HEAD') res.end();
  else {
    stats.bytesSent += bytes.length;
    res.end(bytes);
  }
  return true;
}

/** Every feed under DIR/feeds, for /status (a damaged one is listed as not signed). */
export async function listFeeds(root: string, baseUrl: string): Promise<ServedFeed[]> {
  const names = await readdir(join(root, FEEDS_FOLDER)).catch(() => [] as string[]);
  const out: ServedFeed[] = [];
  for (const name of names.sort()) {
    let product: string;
    try {
      product = feedFileName(name);
    } catch {
      continue;
    }
    const bytes = await readFeedFile(root, product);
    if (!bytes) continue;
    try {
      const f = parseFeed(bytes, name);
      const own = f.signatures.find((s) => sameKey(s.key, f.body.key));
      const n = f.body.releases[0];
      out.push({
        product,
        url: `${baseUrl}/${FEEDS_FOLDER}/${encodeURIComponent(product)}`,
        sequence: f.body.sequence,
        updated: f.body.updated,
        expires: f.body.expires ?? null,
        key: f.body.key.id,
        signed: own !== undefined && verifySignature(f.body.key, feedMessage(f.signedBytes), own.signature),
        releases: f.body.releases.length,
        newest: n ? { release: n.release, infoHash: n.infoHash } : null,
      });
    } catch {
      out.push({ product, url: `${baseUrl}/${FEEDS_FOLDER}/${encodeURIComponent(product)}`, sequence: 0, updated: 0, expires: null, key: '', signed: false, releases: 0, newest: null });
    }
  }
  return out;
}
