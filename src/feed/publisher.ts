/**
 * `publish --out-dir DIR --sign KEY`: writes the product's feed at
 * DIR/feeds/PRODUCT (what `isosync serve DIR`, or any web server, serves at
 * /feeds/PRODUCT), with the release just published added, re-signed.
 *
 * The previous feed is the newer of DIR/feeds/PRODUCT and the catalog's
 * copy (published_feeds); it must carry a valid signature by its own key,
 * or nothing is written. The new sequence is above both. The file is
 * written atomically, then the catalog records it.
 *
 * Torrent URLs in the entry: the torrent's URL under --public-url when
 * given, and always its path relative to the feed (../NAME.iso.torrent),
 * so a mirror copied anywhere still works.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { IsosyncError } from '../errors.js';
import type { Catalog } from '../library/catalog.js';
import { writeFileAtomic } from '../library/atomic-write.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { keyChange, nextFeed } from './feed-build.js';
import { feedFileName, feedMessage, FEEDS_FOLDER, MAX_FEED_BYTES, parseFeed, type FeedRelease, type ParsedFeed } from './feed-format.js';
import { FollowStore } from './follow-store.js';
import { sameKey, verifySignature, type SecretKey } from './keys.js';

export interface PublishFeedInput {
  readonly catalog: Catalog;
  readonly outDir: string;
  /** The release's torrent as written, and where. */
  readonly metainfo: Metainfo;
  readonly torrentPath: string;
  readonly publicUrl?: string;
  readonly key: SecretKey;
  readonly rotateFrom?: SecretKey;
  /** Seconds the feed stays valid (undefined: no expiry). */
  readonly lifetime?: number;
  /** Seconds since 1970. */
  readonly now: number;
}

export interface PublishedFeedResult {
  readonly path: string;
  /** The feed's path under the mirror's root: feeds/PRODUCT. */
  readonly urlPath: string;
  readonly sequence: number;
  readonly releases: number;
  readonly rotated: boolean;
  readonly expires?: number;
}

/** A feed's structure and its signature by its own key, or an error naming where it was read. */
function ownFeed(bytes: Uint8Array, label: string): ParsedFeed {
  const f = parseFeed(bytes, label);
  const own = f.signatures.find((s) => sameKey(s.key, f.body.key));
  if (!own || !verifySignature(f.body.key, feedMessage(f.signedBytes), own.signature)) {
    throw new IsosyncError('VERIFY_FAILED', `Cannot extend feed ${JSON.stringify(label)}: it is not validly signed by its own key ${f.body.key.id} (restore it, or remove it to start a new feed)`, { path: label });
  }
  return f;
}

function torrentUrls(outDir: string, feedDir: string, torrentPath: string, publicUrl?: string): string[] {
  const rel = relative(outDir, torrentPath);
  if (rel.startsWith('..') || resolve(outDir, rel) !== torrentPath) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot name torrent ${JSON.stringify(torrentPath)} in the feed: it is outside --out-dir ${JSON.stringify(outDir)}`);
  }
  const segments = rel.split(sep).map(encodeURIComponent);
  const fromFeed = relative(feedDir, outDir).split(sep).filter((s) => s !== '').map(() => '..');
  const out = [[...fromFeed, ...segments].join('/')];
  if (publicUrl !== undefined) out.unshift(`${publicUrl.replace(/\/+$/, '')}/${segments.join('/')}`);
  return out;
}

interface Previous {
  readonly path: string;
  readonly feedDir: string;
  readonly previous?: ParsedFeed;
  readonly storedSequence?: number;
}

/** The feed as last published (the newer of DIR/feeds/PRODUCT and the catalog's copy), each checked. */
function loadPrevious(catalog: Catalog, outDir: string, product: string): Previous {
  const feedDir = join(outDir, FEEDS_FOLDER);
  const path = join(feedDir, feedFileName(product));
  const stored = new FollowStore(catalog).publishedFeed(product);
  let previous: ParsedFeed | undefined;
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FEED_BYTES) throw new IsosyncError('BAD_ARGUMENT', `Cannot extend feed ${JSON.stringify(path)}: ${bytes.length} bytes is above the limit ${MAX_FEED_BYTES}`);
    previous = ownFeed(bytes, path);
  }
  if (stored) {
    const fromCatalog = ownFeed(stored.feed, `catalog copy of the feed of ${product}`);
    if (!previous || fromCatalog.body.sequence > previous.body.sequence) previous = fromCatalog;
  }
  return { path, feedDir, ...(previous ? { previous } : {}), ...(stored ? { storedSequence: stored.sequence } : {}) };
}

/** Checks, before anything is published, that the feed of `product` in `outDir` can take a release signed by `key`. */
export function checkFeed(catalog: Catalog, outDir: string, product: string, key: SecretKey, rotateFrom?: SecretKey): void {
  keyChange(product, loadPrevious(catalog, resolve(outDir), product).previous?.body, key, rotateFrom);
}

export function publishFeed(i: PublishFeedInput): PublishedFeedResult {
  const iso = i.metainfo.isosync;
  if (!iso) throw new IsosyncError('BAD_ARGUMENT', `Cannot add ${JSON.stringify(i.torrentPath)} to a feed: it names no product and release`);
  const outDir = resolve(i.outDir);
  const { path, feedDir, previous, storedSequence } = loadPrevious(i.catalog, outDir, iso.product);
  const store = new FollowStore(i.catalog);
  const release: FeedRelease = {
    release: iso.release,
    infoHash: i.metainfo.infoHash,
    name: i.metainfo.name,
    length: i.metainfo.length,
    date: i.metainfo.creationDate ?? i.now,
    lineage: iso.lineage,
    torrents: torrentUrls(outDir, feedDir, resolve(i.torrentPath), i.publicUrl),
  };
  const next = nextFeed({
    product: iso.product,
    ...(previous ? { previous } : {}),
    ...(storedSequence !== undefined ? { minSequence: storedSequence } : {}),
    release,
    key: i.key,
    ...(i.rotateFrom ? { rotateFrom: i.rotateFrom } : {}),
    now: i.now,
    ...(i.lifetime !== undefined ? { lifetime: i.lifetime } : {}),
  });
  mkdirSync(feedDir, { recursive: true });
  writeFileAtomic(path, next.bytes);
  store.recordPublishedFeed(iso.product, next.body.sequence, next.bytes, i.now * 1000);
  return {
    path,
    urlPath: `${FEEDS_FOLDER}/${iso.product}`,
    sequence: next.body.sequence,
    releases: next.body.releases.length,
    rotated: next.rotated,
    ...(next.body.expires !== undefined ? { expires: next.body.expires } : {}),
  };
}
