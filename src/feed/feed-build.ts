/**
 * The publisher's next feed: the previous one (as published) with a release
 * added or replaced, re-signed.
 *
 * Rules:
 *   - the sequence is one above the highest the publisher ever signed
 *     (the previous feed's, or a floor the caller remembers elsewhere), so
 *     followers see it grow even when the feed file was lost;
 *   - releases stay newest first by release order (release-order.ts), the
 *     same release label or infohash appears once (the new entry wins), and
 *     at most MAX_FEED_RELEASES are kept;
 *   - the key that signed the previous feed may change only with its own
 *     consent: the new key is announced by a rotation signed by the old key
 *     (kept in every later feed, so a follower offline during the change can
 *     still follow it), and the feed that changes keys is signed by both;
 *   - `expires` is the signing time plus the given lifetime, or absent.
 *
 * Pure: no I/O; the clock is a parameter.
 */
import { IsosyncError } from '../errors.js';
import { compareReleases } from '../library/release-order.js';
import { MAX_FEED_RELEASES, signFeed, signRotation, type FeedBody, type FeedRelease, type KeyRotation, type ParsedFeed } from './feed-format.js';
import { sameKey, type SecretKey } from './keys.js';

export interface NextFeedInput {
  readonly product: string;
  /** The feed as last published, if any (its signature by its own key already checked). */
  readonly previous?: ParsedFeed;
  /** The highest sequence the publisher signed before, wherever it is remembered. */
  readonly minSequence?: number;
  /** The release to add (or replace); omit to re-sign the previous feed as it is. */
  readonly release?: FeedRelease;
  readonly key: SecretKey;
  /** The key that signed the previous feed, when moving to a new key. */
  readonly rotateFrom?: SecretKey;
  /** Seconds since 1970. */
  readonly now: number;
  /** Seconds the feed stays valid; undefined: no expiry. */
  readonly lifetime?: number;
}

export interface NextFeed {
  readonly bytes: Uint8Array;
  readonly body: FeedBody;
  readonly rotated: boolean;
}

export function nextFeed(i: NextFeedInput): NextFeed {
  const prev = i.previous?.body;
  if (prev && prev.product !== i.product) {
    throw new IsosyncError('CONFLICT', `Cannot sign the feed of ${JSON.stringify(i.product)}: the existing feed is that of ${JSON.stringify(prev.product)}`);
  }
  const change = keyChange(i.product, prev, i.key, i.rotateFrom);
  const rotations: KeyRotation[] = [...(prev?.rotations ?? []), ...(change ? [signRotation(i.product, change, i.key.publicKey)] : [])];
  const signers: SecretKey[] = change ? [i.key, change] : [i.key];
  let releases: FeedRelease[] = [...(prev?.releases ?? [])];
  if (i.release) {
    const r = i.release;
    releases = [r, ...releases.filter((x) => x.release !== r.release && x.infoHash !== r.infoHash)];
  }
  // A stable sort: entries of equal order keep their previous places.
  releases = releases
    .map((r, at) => ({ r, at }))
    .sort((a, b) => compareReleases(b.r.release, a.r.release) || a.at - b.at)
    .map((x) => x.r)
    .slice(0, MAX_FEED_RELEASES);
  const body: FeedBody = {
    product: i.product,
    sequence: Math.max(prev?.sequence ?? 0, i.minSequence ?? 0) + 1,
    updated: i.now,
    ...(i.lifetime !== undefined ? { expires: i.now + i.lifetime } : {}),
    key: i.key.publicKey,
    rotations,
    releases,
  };
  return { bytes: signFeed(body, signers), body, rotated: change !== undefined };
}

/**
 * The key rule: the feed's key changes only when the old key is given
 * (returned: it signs the rotation); giving an old key without a change is
 * a mistake. Throws otherwise, before anything is written.
 */
export function keyChange(product: string, prev: FeedBody | undefined, key: SecretKey, rotateFrom: SecretKey | undefined): SecretKey | undefined {
  if (prev && !sameKey(prev.key, key.publicKey)) {
    if (!rotateFrom || !sameKey(rotateFrom.publicKey, prev.key)) {
      throw new IsosyncError(
        'CONFLICT',
        `Cannot sign the feed of ${JSON.stringify(product)} with ${key.publicKey.id}: it is signed by ${prev.key.id}; to move to the new key give the old one with --rotate-from KEYFILE`,
        { product, key: prev.key.id },
      );
    }
    return rotateFrom;
  }
  if (rotateFrom) {
    const what = prev ? `the feed is already signed by ${prev.key.id}` : 'there is no earlier feed to rotate from';
    throw new IsosyncError('BAD_ARGUMENT', `Cannot rotate the key of the feed of ${JSON.stringify(product)}: ${what}`);
  }
  return undefined;
}
