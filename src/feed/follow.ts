/**
 * `isosync follow URL [--key KEY]`: subscribes this machine to a product's
 * feed. The feed is fetched and checked before anything is recorded. With
 * --key, the feed must be signed by that key (or by a key it rotated to,
 * through rotations signed by it); without, the feed's own key is pinned on
 * first use, and the caller says so.
 *
 * Following a product again: the same key at a new URL moves the follow
 * (a mirror change); a feed signed by another key is refused.
 */
import { IsosyncError } from '../errors.js';
import type { Catalog } from '../library/catalog.js';
import { parseFeed } from './feed-format.js';
import { verifyFeed, type AcceptedFeed } from './feed-verify.js';
import { FollowStore, type Pinned } from './follow-store.js';
import { sameKey, type PublicKey } from './keys.js';
import { fetchFeed } from './remote.js';

export interface FollowResult {
  readonly product: string;
  readonly url: string;
  readonly key: PublicKey;
  readonly pinned: Pinned;
  /** True when this call pinned the key (trust on first use). */
  readonly pinnedNow: boolean;
  readonly again: boolean;
  readonly accepted: AcceptedFeed;
}

export async function followFeed(catalog: Catalog, url: string, given: PublicKey | undefined, nowMs: number): Promise<FollowResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid feed URL ${JSON.stringify(url)}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new IsosyncError('BAD_ARGUMENT', `Invalid feed URL ${JSON.stringify(url)}: not an http(s) URL`);
  const got = await fetchFeed(u.href);
  const store = new FollowStore(catalog);
  const now = Math.floor(nowMs / 1000);
  // Which key to check against: the one given, else the one already pinned for the product, else the feed's own.
  const peek = verifyFeed(got.body, u.href, { pinned: given ?? parseFeed(got.body, u.href).body.key }, now);
  const existing = store.get(peek.feed.body.product);
  const pinned = given ?? existing?.key ?? peek.key;
  const accepted = verifyFeed(got.body, u.href, {
    product: peek.feed.body.product,
    pinned,
    ...(existing?.sequence != null ? { lastSequence: existing.sequence } : {}),
  }, now);
  if (existing && given && !sameKey(given, existing.key) && !accepted.trustedKeys.some((k) => sameKey(k, existing.key))) {
    throw new IsosyncError('CONFLICT', `Cannot follow ${u.href} with key ${given.id}: ${existing.product} is already followed with key ${existing.key.id}`, { product: existing.product });
  }
  const how: Pinned = existing ? existing.pinned : given ? 'given' : 'first-use';
  store.add({ product: accepted.feed.body.product, url: u.href, key: accepted.key, pinned: how, sequence: accepted.feed.body.sequence, feed: accepted.feed.bytes, now: nowMs, outcome: 'followed' });
  store.accept(accepted.feed.body.product, { key: accepted.key, sequence: accepted.feed.body.sequence, feed: accepted.feed.bytes, now: nowMs });
  return { product: accepted.feed.body.product, url: u.href, key: accepted.key, pinned: how, pinnedNow: !existing && !given, again: existing !== undefined, accepted };
}
