import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { parseFeed, signFeed, signRotation, type FeedBody } from '../../src/feed/feed-format.js';
import { verifyFeed, verifyReleaseTorrent, type Trust } from '../../src/feed/feed-verify.js';
import { signTorrent } from '../../src/feed/torrent-signature.js';
import type { SecretKey } from '../../src/feed/keys.js';
import { body, KEY_A, KEY_B, KEY_C, releaseTorrent } from './samples.js';

const NOW = 1_700_000_100;
const doc = (b: Partial<FeedBody>, signers: SecretKey[] = [KEY_A]) => signFeed(body(b), signers);
const pinA: Trust = { pinned: KEY_A.publicKey, product: 'distro' };

describe('verifyFeed: what a follower accepts', () => {
  it('accepts a feed signed by the pinned key, newer than the last one seen', () => {
    const a = verifyFeed(doc({}), 'u', { ...pinA, lastSequence: 4 }, NOW);
    assert.equal(a.key.id, KEY_A.publicKey.id);
    assert.equal(a.fresh, true);
    assert.deepEqual(a.rotatedFrom, []);
    assert.deepEqual(a.trustedKeys.map((k) => k.id), [KEY_A.publicKey.id]);
  });

  it('accepts the very same feed again (same sequence, same bytes), as not fresh', () => {
    const bytes = doc({});
    const a = verifyFeed(bytes, 'u', { ...pinA, lastSequence: 5, lastDigest: parseFeed(bytes, 'u').digest }, NOW);
    assert.equal(a.fresh, false);
  });

  const A_TO_B = signRotation('distro', KEY_A, KEY_B.publicKey);
  const B_TO_C = signRotation('distro', KEY_B, KEY_C.publicKey);
  const C_FAKES_A_TO_B = { ...signRotation('distro', KEY_C, KEY_B.publicKey), key: KEY_A.publicKey };

  it('follows a key rotation signed by the pinned key, and a chain of them', () => {
    const one = verifyFeed(doc({ key: KEY_B.publicKey, rotations: [A_TO_B] }, [KEY_B, KEY_A]), 'u', pinA, NOW);
    assert.equal(one.key.id, KEY_B.publicKey.id);
    assert.deepEqual(one.rotatedFrom.map((k) => k.id), [KEY_A.publicKey.id]);
    // Signed by the new key alone: a follower that missed the change still follows it.
    const two = verifyFeed(doc({ key: KEY_C.publicKey, rotations: [A_TO_B, B_TO_C] }, [KEY_C]), 'u', pinA, NOW);
    assert.deepEqual(two.rotatedFrom.map((k) => k.id), [KEY_A.publicKey.id, KEY_B.publicKey.id]);
    // A follower already on C still trusts torrents the retired keys signed.
    const onC = verifyFeed(doc({ key: KEY_C.publicKey, rotations: [A_TO_B, B_TO_C] }, [KEY_C]), 'u', { pinned: KEY_C.publicKey }, NOW);
    assert.deepEqual(onC.trustedKeys.map((k) => k.id).sort(), [KEY_A, KEY_B, KEY_C].map((k) => k.publicKey.id).sort());
  });

  const refusals: [string, Uint8Array, Trust, number, string, RegExp][] = [
    ['unsigned', doc({}, []), pinA, NOW, 'unsigned', /it is not signed$/],
    ['signed only by another key than its own', doc({}, [KEY_B]), pinA, NOW, 'unsigned', /it is not signed by its own key ed25519:/],
    ['signed by another key', doc({ key: KEY_B.publicKey }, [KEY_B]), pinA, NOW, 'other-key', /it is signed by ed25519:\S+, not by the key you follow \(ed25519:\S+\), and no rotation signed by that key announces it/],
    ['rotated by a link the pinned key did not sign', doc({ key: KEY_B.publicKey, rotations: [C_FAKES_A_TO_B] }, [KEY_B]), pinA, NOW, 'other-key', /not by the key you follow/],
    ['rotated to a key whose chain breaks', doc({ key: KEY_C.publicKey, rotations: [B_TO_C] }, [KEY_C]), pinA, NOW, 'other-key', /not by the key you follow/],
    ['older than one already seen', doc({ sequence: 3 }), { ...pinA, lastSequence: 5 }, NOW, 'replayed', /its sequence 3 is older than sequence 5 already seen \(a replayed or frozen feed\)/],
    ['of a sequence already seen with other content', doc({ sequence: 5 }), { ...pinA, lastSequence: 5, lastDigest: '0'.repeat(64) }, NOW, 'replayed', /already seen with other content/],
    ['expired', doc({ expires: NOW - 1 }), pinA, NOW, 'expired', /it expired at 2023-11-14T22:14:59Z/],
    ['expiring this very second', doc({ expires: NOW }), pinA, NOW, 'expired', /it expired at/],
    ['of another product', doc({ product: 'other' }), pinA, NOW, 'product', /it is the feed of "other", not of "distro"/],
  ];
  for (const [what, bytes, trust, now, kind, why] of refusals) {
    it(`refuses a feed ${what}, with one line naming the rule`, () => {
      assert.throws(() => verifyFeed(bytes, 'http://m/feeds/distro', trust, now), (e: unknown) => {
        assert.ok(e instanceof IsosyncError);
        assert.equal(e.code, 'VERIFY_FAILED');
        assert.equal(e.details['refusal'], kind);
        assert.match(e.message, /^Cannot accept feed "http:\/\/m\/feeds\/distro": /);
        assert.match(e.message, why);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    });
  }

  it('refuses a feed whose signed part was changed after signing', () => {
    const good = doc({});
    const at = Buffer.from(good).indexOf('1.01.iso.torrent');
    const bad = new Uint8Array(good);
    bad[at]! = '2'.charCodeAt(0);
    assert.throws(() => verifyFeed(bad, 'u', pinA, NOW), (e: unknown) => e instanceof IsosyncError && e.details['refusal'] === 'bad-signature');
  });
});

describe('verifyReleaseTorrent: the torrent a feed entry names', () => {
  const t = releaseTorrent('1.01');
  const entryOf = { product: 'distro', release: '1.01', infoHash: t.metainfo.infoHash };
  const refuse = (bytes: Uint8Array, keys: SecretKey[], why: RegExp, e2 = entryOf) =>
    assert.throws(() => verifyReleaseTorrent(bytes, 'http://m/distro-1.01.iso.torrent', e2, keys.map((k) => k.publicKey)), (e: unknown) => {
      assert.ok(e instanceof IsosyncError && e.details['refusal'] === 'torrent');
      assert.match(e.message, /^Cannot accept torrent "http:\/\/m\/distro-1\.01\.iso\.torrent": /);
      assert.match(e.message, why);
      return true;
    });

  it('accepts the torrent signed by a key of the feed', () => {
    assert.equal(verifyReleaseTorrent(signTorrent(t.bytes, KEY_A, 'x'), 'u', entryOf, [KEY_B.publicKey, KEY_A.publicKey]).infoHash, t.metainfo.infoHash);
  });
  it('refuses it unsigned', () => refuse(t.bytes, [KEY_A], /its signature does not match the feed's key ed25519:\S+: it is not signed/));
  it('refuses it signed by another key (same infohash)', () => refuse(signTorrent(t.bytes, KEY_B, 'x'), [KEY_A], /signed by ed25519:/));
  it('refuses another torrent than the feed names', () => refuse(signTorrent(releaseTorrent('1.02').bytes, KEY_A, 'x'), [KEY_A], /its infohash \S+ is not \S+, which the signed feed names for distro 1\.01/));
  it('refuses a torrent that calls itself another release', () => {
    const other = releaseTorrent('1.09');
    refuse(signTorrent(other.bytes, KEY_A, 'x'), [KEY_A], /it calls itself distro 1\.09, the feed distro 1\.01/, { ...entryOf, infoHash: other.metainfo.infoHash });
  });
  it('refuses bytes that are not a torrent', () => refuse(new TextEncoder().encode('<html>'), [KEY_A], /it is not a valid torrent/));
});
