/**
 * Test helper: keys and torrents for the feed tests, made in memory with
 * the project's own code (deterministic piece hashes, fixed dates).
 */
import { createHash } from 'node:crypto';
import { createTorrent } from '../../src/torrent/create.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';
import type { LineageEntry } from '../../src/torrent/isosync-keys.js';
import type { FeedBody, FeedRelease } from '../../src/feed/feed-format.js';
import { generateSecretKey, type SecretKey } from '../../src/feed/keys.js';

const sha1 = (s: string) => new Uint8Array(createHash('sha1').update(s).digest());

/** Three publisher keys, made once per test process. */
export const KEY_A: SecretKey = generateSecretKey();
export const KEY_B: SecretKey = generateSecretKey();
export const KEY_C: SecretKey = generateSecretKey();

export function releaseTorrent(release: string, lineage: readonly LineageEntry[] = [], product = 'distro') {
  const pieces = new Uint8Array(Buffer.concat(Array.from({ length: 4 }, (_, i) => sha1(`${product}-${release}-${i}`))));
  return createTorrent({
    name: `${product}-${release}.iso`,
    length: 3 * 65536 + 100,
    pieceLength: 65536,
    pieces,
    trackers: [['http://t/announce']],
    creationDate: 1_700_000_000,
    isosync: { product, release, lineage },
  });
}

export function entry(release: string, infoHash: InfoHash, lineage: readonly LineageEntry[] = [], date = 1_700_000_000): FeedRelease {
  return { release, infoHash, name: `distro-${release}.iso`, length: 3 * 65536 + 100, date, lineage, torrents: [`../distro-${release}.iso.torrent`] };
}

export function body(over: Partial<FeedBody> = {}): FeedBody {
  const h = (c: string) => c.repeat(40) as InfoHash;
  return {
    product: 'distro',
    sequence: 5,
    updated: 1_700_000_000,
    key: KEY_A.publicKey,
    rotations: [],
    releases: [entry('1.01', h('b'), [{ release: '1.00', infoHash: h('a') }]), entry('1.00', h('a'))],
    ...over,
  };
}
