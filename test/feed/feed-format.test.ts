import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { feedFileName, feedMessage, MAX_FEED_RELEASES, parseFeed, signFeed, signRotation } from '../../src/feed/feed-format.js';
import { verifySignature } from '../../src/feed/keys.js';
import { verifyFeed } from '../../src/feed/feed-verify.js';
import { Rng } from '../helpers/random.js';
import { body, entry, KEY_A, KEY_B } from './samples.js';

/** A feed document with `signed` replaced (re-signed by KEY_A). */
function withSigned(edit: (signed: Map<string, unknown>) => void): Uint8Array {
  const top = decodeBencode(signFeed(body(), [KEY_A])).value as BDict;
  const signed = new Map(top.get('signed') as BDict) as Map<string, unknown>;
  edit(signed);
  const bytes = encodeBencode(signed);
  return encodeBencode(new Map<string, unknown>([['signatures', new Map([[KEY_A.publicKey.id, KEY_A.sign(feedMessage(bytes))]])], ['signed', signed]]));
}

describe('feed format', () => {
  it('round-trips every field, and the signature covers the signed bytes', () => {
    const b = body({ expires: 1_800_000_000, rotations: [signRotation('distro', KEY_B, KEY_A.publicKey)] });
    const bytes = signFeed(b, [KEY_A]);
    const f = parseFeed(bytes, 'feed');
    assert.equal(f.body.product, 'distro');
    assert.equal(f.body.sequence, 5);
    assert.equal(f.body.expires, 1_800_000_000);
    assert.equal(f.body.key.id, KEY_A.publicKey.id);
    assert.deepEqual(f.body.releases, b.releases);
    assert.equal(f.body.rotations.length, 1);
    assert.equal(f.body.rotations[0]!.key.id, KEY_B.publicKey.id);
    assert.deepEqual(f.signatures.map((s) => s.signer), [KEY_A.publicKey.id]);
    assert.ok(verifySignature(KEY_A.publicKey, feedMessage(f.signedBytes), f.signatures[0]!.signature));
    assert.match(f.digest, /^[0-9a-f]{64}$/);
    // The signed bytes are exactly those in the document.
    assert.ok(Buffer.from(bytes).includes(Buffer.from(f.signedBytes)));
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['not bencode', new TextEncoder().encode('{"json": true}'), /not a feed \(unexpected byte/],
    ['trailing bytes', Buffer.concat([signFeed(body(), [KEY_A]), Buffer.from('x')]), /trailing data/],
    ['no signed part', encodeBencode({ signatures: {} }), /signed is missing/],
    ['an unknown version', withSigned((s) => s.set('v', 2)), /signed\.v is 2; this isosync reads feed version 1/],
    ['a 19-byte infohash', withSigned((s) => {
      const r = new Map((s.get('releases') as BDict[])[0]!) as Map<string, unknown>;
      r.set('infohash', new Uint8Array(19));
      s.set('releases', [r]);
    }), /signed\.releases\[0\]\.infohash has length 19, expected 20/],
    ['a release without torrent URLs', withSigned((s) => {
      const r = new Map((s.get('releases') as BDict[])[0]!) as Map<string, unknown>;
      r.set('torrents', []);
      s.set('releases', [r]);
    }), /torrents is empty/],
    ['the same release twice', withSigned((s) => {
      const r = (s.get('releases') as BDict[])[0]!;
      s.set('releases', [r, r]);
    }), /lists release "1\.01" twice/],
    ['a sequence of 0', withSigned((s) => s.set('sequence', 0)), /signed\.sequence 0 is below 1/],
    ['a key of 31 bytes', withSigned((s) => s.set('key', new Uint8Array(31))), /signed\.key is not a 32-byte Ed25519 public key/],
    ['a control character in a release label', withSigned((s) => {
      const r = new Map((s.get('releases') as BDict[])[0]!) as Map<string, unknown>;
      r.set('release', '1.01\n');
      s.set('releases', [r]);
    }), /contains a control character/],
    ['too many releases', withSigned((s) => s.set('releases', Array.from({ length: MAX_FEED_RELEASES + 1 }, (_, i) => encodeBencode({})).map(() => new Map()))), /above the limit 200/],
  ];
  for (const [what, bytes, why] of malformed) {
    it(`refuses a feed with ${what}: one line, refusal "malformed"`, () => {
      assert.throws(() => parseFeed(bytes, 'http://m/feeds/distro'), (e: unknown) => {
        assert.ok(e instanceof IsosyncError);
        assert.equal(e.details['refusal'], 'malformed');
        assert.match(e.message, /^Cannot accept feed "http:\/\/m\/feeds\/distro": /);
        assert.match(e.message, why);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    });
  }

  it('accepts no feed with any single flipped byte: each is refused as an IsosyncError, never accepted, never another error', () => {
    const good = signFeed(body(), [KEY_A]);
    const rng = new Rng(7);
    for (let n = 0; n < 400; n++) {
      const bad = new Uint8Array(good);
      const at = rng.int(bad.length);
      bad[at]! ^= 1 << rng.int(8);
      assert.throws(() => verifyFeed(bad, 'f', { pinned: KEY_A.publicKey }, 1_700_000_001), (e: unknown) => e instanceof IsosyncError && e.code === 'VERIFY_FAILED', `byte ${at}`);
    }
  });

  it('names a feed file after its product, refusing names that are not one URL segment', () => {
    assert.equal(feedFileName('distro'), 'distro');
    assert.equal(feedFileName('Debian-12.5_amd64+dvd'), 'Debian-12.5_amd64+dvd');
    for (const bad of ['', '.hidden', '..', 'a/b', 'a b', 'ü', 'x'.repeat(129)]) assert.throws(() => feedFileName(bad), /^IsosyncError: Cannot publish a feed for product/);
  });

  it('keeps releases it is given in the order given (feed-build sorts them)', () => {
    const f = parseFeed(signFeed(body({ releases: [entry('1.00', 'a'.repeat(40) as never), entry('1.01', 'b'.repeat(40) as never)] }), [KEY_A]), 'f');
    assert.deepEqual(f.body.releases.map((r) => r.release), ['1.00', '1.01']);
  });
});
