/**
 * Whether a follower trusts a feed. A follower holds, per product, the key
 * it pinned (given with --key, or taken on first use), the highest sequence
 * it accepted and that feed's digest. A feed is accepted only when:
 *
 *   1. it parses (feed-format.ts) and names the followed product;
 *   2. it carries a valid signature by its own key (signed.key);
 *   3. that key is the pinned one, or the pinned key leads to it through
 *      signed.rotations, each step signed by the key it replaces
 *      (a new key is announced under the old one's signature);
 *   4. its sequence is not below the highest already accepted, and the same
 *      sequence comes with the same bytes (no replayed, frozen or forked feed);
 *   5. it has not expired.
 *
 * Every refusal is an IsosyncError('VERIFY_FAILED') with details.refusal
 * naming the rule (the CLI turns any refusal into exit code 4), and a
 * one-line message that leads with "Cannot accept feed URL".
 *
 * Pure: no I/O; the clock is a parameter.
 */
import { IsosyncError } from '../errors.js';
import { parseFeed, rotationMessage, feedMessage, type ParsedFeed } from './feed-format.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { sameKey, verifySignature, type PublicKey } from './keys.js';
import { signatureBy, torrentSignatures } from './torrent-signature.js';

export type Refusal = 'malformed' | 'unsigned' | 'bad-signature' | 'other-key' | 'product' | 'replayed' | 'expired' | 'torrent';

export interface Trust {
  readonly product?: string;
  readonly pinned: PublicKey;
  readonly lastSequence?: number;
  readonly lastDigest?: string;
}

export interface AcceptedFeed {
  readonly feed: ParsedFeed;
  /** The feed's key (the one to pin from now on). */
  readonly key: PublicKey;
  /** The keys passed through from the pinned one to the feed's key, when it rotated (pinned first). */
  readonly rotatedFrom: readonly PublicKey[];
  /** Every key of the chain: torrents signed by any of them are the publisher's. */
  readonly trustedKeys: readonly PublicKey[];
  /** Sequence above the last one accepted (false: the same feed again). */
  readonly fresh: boolean;
}

export function refuse(kind: Refusal, label: string, detail: string, extra: Record<string, unknown> = {}): IsosyncError {
  return new IsosyncError('VERIFY_FAILED', `Cannot accept ${kind === 'torrent' ? 'torrent' : 'feed'} ${JSON.stringify(label)}: ${detail}`, { url: label, refusal: kind, ...extra });
}

/** The refusal kind of an error, if it is a refusal. */
export function refusalOf(e: unknown): Refusal | undefined {
  if (e instanceof IsosyncError && typeof e.details['refusal'] === 'string') return e.details['refusal'] as Refusal;
  return undefined;
}

function isoDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace('.000Z', 'Z');
}

/** The chain of keys from `pinned` to the feed's key through its rotations (pinned first), or undefined. */
export function rotationChain(feed: ParsedFeed, pinned: PublicKey): PublicKey[] | undefined {
  const chain = [pinned];
  let at = pinned;
  // Each step consumes one rotation at most once: bounded by the rotation count.
  for (let step = 0; step <= feed.body.rotations.length; step++) {
    if (sameKey(at, feed.body.key)) return chain;
    const link = feed.body.rotations.find((r) => sameKey(r.key, at) && !chain.some((k) => sameKey(k, r.next)));
    if (!link || !verifySignature(at, rotationMessage(feed.body.product, link.key, link.next), link.signature)) return undefined;
    at = link.next;
    chain.push(at);
  }
  return undefined;
}

/** Parses and checks a feed against what the follower trusts (see the module comment). */
export function verifyFeed(bytes: Uint8Array, label: string, trust: Trust, nowSeconds: number): AcceptedFeed {
  const feed = parseFeed(bytes, label);
  const b = feed.body;
  if (trust.product !== undefined && b.product !== trust.product) {
    throw refuse('product', label, `it is the feed of ${JSON.stringify(b.product)}, not of ${JSON.stringify(trust.product)}`);
  }
  if (feed.signatures.length === 0) throw refuse('unsigned', label, 'it is not signed');
  const own = feed.signatures.find((s) => sameKey(s.key, b.key));
  if (!own) throw refuse('unsigned', label, `it is not signed by its own key ${b.key.id}`);
  if (!verifySignature(b.key, feedMessage(feed.signedBytes), own.signature)) {
    throw refuse('bad-signature', label, `its signature by ${b.key.id} does not verify (the feed was altered or damaged)`);
  }
  const chain = rotationChain(feed, trust.pinned);
  if (!chain) {
    throw refuse('other-key', label, `it is signed by ${b.key.id}, not by the key you follow (${trust.pinned.id}), and no rotation signed by that key announces it`, { key: b.key.id, pinned: trust.pinned.id });
  }
  if (trust.lastSequence !== undefined) {
    if (b.sequence < trust.lastSequence) {
      throw refuse('replayed', label, `its sequence ${b.sequence} is older than sequence ${trust.lastSequence} already seen (a replayed or frozen feed)`, { sequence: b.sequence, seen: trust.lastSequence });
    }
    if (b.sequence === trust.lastSequence && trust.lastDigest !== undefined && trust.lastDigest !== feed.digest) {
      throw refuse('replayed', label, `its sequence ${b.sequence} was already seen with other content (a forked feed)`, { sequence: b.sequence });
    }
  }
  if (b.expires !== undefined && nowSeconds >= b.expires) {
    throw refuse('expired', label, `it expired at ${isoDate(b.expires)} (the publisher has not re-signed it since)`, { expires: b.expires });
  }
  const trustedKeys = [...chain];
  // Keys retired before the pinned one still vouch for the older releases they signed.
  for (let pass = 0, grew = true; grew && pass < b.rotations.length; pass++) {
    grew = false;
    for (const r of b.rotations) {
      if (trustedKeys.some((k) => sameKey(k, r.key)) || !trustedKeys.some((k) => sameKey(k, r.next))) continue;
      if (!verifySignature(r.key, rotationMessage(b.product, r.key, r.next), r.signature)) continue;
      trustedKeys.push(r.key);
      grew = true;
    }
  }
  return {
    feed,
    key: b.key,
    rotatedFrom: chain.length > 1 ? chain.slice(0, -1) : [],
    trustedKeys,
    fresh: trust.lastSequence === undefined || b.sequence > trust.lastSequence,
  };
}

/**
 * A release's torrent as the feed names it: the infohash must be the one the
 * feed lists, the product and release those of the feed entry, and the
 * torrent must carry a valid signature by one of the feed's keys.
 */
export function verifyReleaseTorrent(bytes: Uint8Array, label: string, entry: { product: string; release: string; infoHash: string }, trustedKeys: readonly PublicKey[]): Metainfo {
  let m: Metainfo;
  try {
    m = parseMetainfo(bytes, label);
  } catch (e) {
    throw refuse('torrent', label, `it is not a valid torrent (${(e as Error).message})`);
  }
  if (m.infoHash !== entry.infoHash) throw refuse('torrent', label, `its infohash ${m.infoHash} is not ${entry.infoHash}, which the signed feed names for ${entry.product} ${entry.release}`);
  if (m.isosync?.product !== entry.product || m.isosync.release !== entry.release) {
    throw refuse('torrent', label, `it calls itself ${m.isosync ? `${m.isosync.product} ${m.isosync.release}` : 'nothing'}, the feed ${entry.product} ${entry.release}`);
  }
  const sigs = torrentSignatures(bytes, m);
  if (!signatureBy(sigs, trustedKeys)) {
    const seen = sigs.map((s) => `${s.signer}${s.valid ? '' : ` (${s.problem})`}`);
    throw refuse('torrent', label, `its signature does not match the feed's key ${trustedKeys[0]?.id ?? ''}: ${seen.length > 0 ? `signed by ${seen.join(', ')}` : 'it is not signed'}`);
  }
  return m;
}

/** The keys a stored (already accepted) feed vouches for, without its expiry: what local work such as rollback trusts. */
export function storedTrust(bytes: Uint8Array, label: string, pinned: PublicKey): AcceptedFeed {
  return verifyFeed(bytes, label, { pinned }, Number.NEGATIVE_INFINITY);
}
