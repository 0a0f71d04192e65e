import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { nextFeed } from '../../src/feed/feed-build.js';
import { MAX_FEED_RELEASES, parseFeed } from '../../src/feed/feed-format.js';
import { verifyFeed } from '../../src/feed/feed-verify.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';
import { entry, KEY_A, KEY_B, KEY_C } from './samples.js';

const h = (n: number) => n.toString(16).padStart(40, '0') as InfoHash;

function chain(releases: string[]) {
  let previous;
  for (const [i, r] of releases.entries()) {
    const next = nextFeed({ product: 'distro', ...(previous ? { previous } : {}), release: entry(r, h(i + 1)), key: KEY_A, now: 1000 + i });
    previous = parseFeed(next.bytes, 'f');
  }
  return previous!;
}

describe('nextFeed: the publisher side', () => {
  it('grows the sequence by one per signing and keeps releases newest first by release order', () => {
    const f = chain(['1.9', '1.10', '1.2']);
    assert.equal(f.body.sequence, 3);
    assert.deepEqual(f.body.releases.map((r) => r.release), ['1.10', '1.9', '1.2']);
    assert.equal(f.body.updated, 1002);
    assert.equal(f.body.expires, undefined);
  });

  it('starts above a sequence remembered elsewhere (the feed file was lost)', () => {
    const n = nextFeed({ product: 'distro', minSequence: 41, release: entry('2.0', h(9)), key: KEY_A, now: 5 });
    assert.equal(n.body.sequence, 42);
  });

  it('replaces a release published again (same label or infohash), and sets an expiry from the lifetime', () => {
    const f = chain(['1.00', '1.01']);
    const n = nextFeed({ product: 'distro', previous: f, release: entry('1.01', h(77)), key: KEY_A, now: 2000, lifetime: 86400 });
    assert.deepEqual(n.body.releases.map((r) => [r.release, r.infoHash]), [['1.01', h(77)], ['1.00', h(1)]]);
    assert.equal(n.body.expires, 2000 + 86400);
  });

  it('keeps at most MAX_FEED_RELEASES, dropping the oldest', () => {
    let previous = chain(['1']);
    for (let i = 2; i <= MAX_FEED_RELEASES + 3; i++) previous = parseFeed(nextFeed({ product: 'distro', previous, release: entry(String(i), h(i)), key: KEY_A, now: i }).bytes, 'f');
    assert.equal(previous.body.releases.length, MAX_FEED_RELEASES);
    assert.equal(previous.body.releases.at(-1)!.release, '4');
  });

  it('refuses another key without the old one, before signing anything', () => {
    const f = chain(['1.00']);
    assert.throws(() => nextFeed({ product: 'distro', previous: f, release: entry('1.01', h(2)), key: KEY_B, now: 9 }), (e: unknown) => e instanceof IsosyncError && e.code === 'CONFLICT' && /give the old one with --rotate-from KEYFILE/.test(e.message));
    assert.throws(() => nextFeed({ product: 'distro', previous: f, release: entry('1.01', h(2)), key: KEY_B, rotateFrom: KEY_C, now: 9 }), /--rotate-from/);
    assert.throws(() => nextFeed({ product: 'distro', previous: f, release: entry('1.01', h(2)), key: KEY_A, rotateFrom: KEY_A, now: 9 }), /already signed by/);
  });

  it('moves to a new key with a rotation signed by the old one; a follower of the old key accepts it, and every later feed', () => {
    const f = chain(['1.00']);
    const rotated = nextFeed({ product: 'distro', previous: f, release: entry('1.01', h(2)), key: KEY_B, rotateFrom: KEY_A, now: 10 });
    assert.equal(rotated.rotated, true);
    const parsed = parseFeed(rotated.bytes, 'f');
    assert.deepEqual(parsed.signatures.map((s) => s.signer).sort(), [KEY_A.publicKey.id, KEY_B.publicKey.id].sort(), 'the changing feed is signed by both keys');
    assert.equal(verifyFeed(rotated.bytes, 'f', { pinned: KEY_A.publicKey }, 11).key.id, KEY_B.publicKey.id);
    const later = nextFeed({ product: 'distro', previous: parsed, release: entry('1.02', h(3)), key: KEY_B, now: 12 });
    assert.equal(parseFeed(later.bytes, 'f').signatures.length, 1);
    assert.equal(verifyFeed(later.bytes, 'f', { pinned: KEY_A.publicKey }, 13).key.id, KEY_B.publicKey.id, 'a follower offline during the change follows it later');
  });

  it('refuses to extend the feed of another product', () => {
    assert.throws(() => nextFeed({ product: 'other', previous: chain(['1']), key: KEY_A, now: 1 }), /existing feed is that of "distro"/);
  });
});
