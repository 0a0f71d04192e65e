/**
 * What a follower fetches before any image byte: the feed, and the torrent
 * of the release it names. Nothing is written; the caller verifies the feed
 * (feed-verify.ts), and the torrent is verified here against the feed entry
 * before it is returned.
 */
import { asIsosyncError, IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { MAX_TORRENT_FILE_BYTES } from '../library/previous.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { FEED_CONTENT_TYPE, MAX_FEED_BYTES, type FeedRelease } from './feed-format.js';
import { refusalOf, verifyReleaseTorrent } from './feed-verify.js';
import { httpGet, type Got } from './http-get.js';
import type { PublicKey } from './keys.js';

export function fetchFeed(url: string): Promise<Got> {
  return httpGet(url, 'feed', { limit: MAX_FEED_BYTES, accept: FEED_CONTENT_TYPE });
}

export interface ReleaseTorrent {
  readonly bytes: Uint8Array;
  readonly metainfo: Metainfo;
  /** The URL it came from. */
  readonly url: string;
}

/** A feed entry's torrent URLs, absolute (relative ones resolve against the feed's URL). */
export function torrentUrlsOf(entry: FeedRelease, feedUrl: string): string[] {
  const out: string[] = [];
  for (const t of entry.torrents) {
    try {
      const u = new URL(t, feedUrl);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && !out.includes(u.href)) out.push(u.href);
    } catch {
      // not a URL: skipped
    }
  }
  return out;
}

/**
 * The entry's torrent from the first of its URLs that gives one the feed
 * vouches for. A torrent that fails the check is a refusal, but another URL
 * may still give the right one; if none does, the first refusal is thrown
 * (or, when none was refused, the last network error).
 */
export async function fetchReleaseTorrent(entry: FeedRelease, product: string, feedUrl: string, trustedKeys: readonly PublicKey[], warn: WarningSink): Promise<ReleaseTorrent> {
  const urls = torrentUrlsOf(entry, feedUrl);
  if (urls.length === 0) throw new IsosyncError('NOT_FOUND', `Cannot fetch the torrent of ${product} ${entry.release}: the feed gives no http(s) URL for it`);
  let refused: unknown;
  let failed: unknown;
  for (const url of urls) {
    try {
      const got = await httpGet(url, `torrent of ${product} ${entry.release}`, { limit: MAX_TORRENT_FILE_BYTES });
      const metainfo = verifyReleaseTorrent(got.body, url, { product, release: entry.release, infoHash: entry.infoHash }, trustedKeys);
      return { bytes: got.body, metainfo, url };
    } catch (e) {
      if (refusalOf(e)) {
        refused ??= e;
        if (urls.length > 1) warn({ code: 'FEED_TORRENT_REFUSED', source: url, detail: (e as Error).message, error: asIsosyncError(e) });
      } else failed = e;
    }
  }
  throw refused ?? failed;
}
