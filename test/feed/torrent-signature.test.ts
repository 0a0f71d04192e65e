import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { createTorrent } from '../../src/torrent/create.js';
import { signTorrent, torrentSignatures, signatureBy } from '../../src/feed/torrent-signature.js';
import { KEY_A, KEY_B, releaseTorrent } from './samples.js';

/** Re-encodes a torrent after `edit` changed its decoded top level. */
function edited(bytes: Uint8Array, edit: (top: Map<string, unknown>) => void): Uint8Array {
  const top = new Map(decodeBencode(bytes).value as BDict) as Map<string, unknown>;
  edit(top);
  return encodeBencode(top);
}

describe('torrent signatures (outside the info dictionary, BEP 35 style)', () => {
  const t = releaseTorrent('1.01', [{ release: '1.00', infoHash: 'a'.repeat(40) as never }]);

  it('leaves the info dictionary and so the infohash exactly as they were', () => {
    const signed = signTorrent(t.bytes, KEY_A, 'x.torrent');
    const m = parseMetainfo(signed, 'x.torrent');
    assert.equal(m.infoHash, t.metainfo.infoHash);
    assert.deepEqual(Buffer.from(m.rawInfo), Buffer.from(t.metainfo.rawInfo));
    assert.deepEqual(m.announceList, t.metainfo.announceList);
    const sigs = torrentSignatures(signed, m);
    assert.equal(sigs.length, 1);
    assert.equal(sigs[0]!.signer, KEY_A.publicKey.id);
    assert.equal(sigs[0]!.valid, true, sigs[0]!.problem);
    assert.deepEqual(sigs[0]!.statement, { infoHash: m.infoHash, product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: 'a'.repeat(40) }] });
    assert.ok(signatureBy(sigs, [KEY_A.publicKey]));
    assert.equal(signatureBy(sigs, [KEY_B.publicKey]), undefined);
  });

  it('signs the same torrent to the same bytes (Ed25519 is deterministic), and keeps other signers', () => {
    const once = signTorrent(t.bytes, KEY_A, 'x');
    assert.deepEqual(Buffer.from(signTorrent(t.bytes, KEY_A, 'x')), Buffer.from(once));
    const twice = signTorrent(once, KEY_B, 'x');
    const sigs = torrentSignatures(twice, parseMetainfo(twice, 'x'));
    assert.deepEqual(sigs.map((s) => [s.signer, s.valid]).sort(), [[KEY_A.publicKey.id, true], [KEY_B.publicKey.id, true]].sort());
  });

  it('refuses to sign a torrent that names no product and release', () => {
    const plain = createTorrent({ name: 'x.iso', length: 10, pieceLength: 16384, pieces: new Uint8Array(20), creationDate: 1 });
    assert.throws(() => signTorrent(plain.bytes, KEY_A, 'x.torrent'), /^IsosyncError: Cannot sign torrent "x\.torrent": it names no product and release/);
  });

  const signed = signTorrent(t.bytes, KEY_A, 'x');
  const entryOf = (top: Map<string, unknown>) => (top.get('signatures') as Map<string, Map<string, unknown>>).get(KEY_A.publicKey.id)!;
  const cases: [string, (top: Map<string, unknown>) => void, RegExp][] = [
    ['a flipped signature byte', (top) => {
      const e = entryOf(top);
      const s = new Uint8Array(e.get('signature') as Uint8Array);
      s[0]! ^= 1;
      e.set('signature', s);
    }, /does not verify/],
    ['a statement naming another release (re-signed by the key: a signed lie)', (top) => {
      const info = new Map(entryOf(top).get('info') as Map<string, unknown>);
      info.set('release', new TextEncoder().encode('9.99'));
      const msg = Buffer.concat([t.metainfo.rawInfo, encodeBencode(info)]);
      entryOf(top).set('info', info);
      entryOf(top).set('signature', KEY_A.sign(msg));
    }, /it signs release "9\.99", the torrent says "1\.01"/],
    ['a statement whose release was edited without re-signing', (top) => {
      const info = new Map(entryOf(top).get('info') as Map<string, unknown>);
      info.set('release', new TextEncoder().encode('1.02'));
      entryOf(top).set('info', info);
    }, /does not verify/],
    ['a signer name that is not a key', (top) => {
      const sigs = top.get('signatures') as Map<string, unknown>;
      sigs.set('com.example', sigs.get(KEY_A.publicKey.id));
      sigs.delete(KEY_A.publicKey.id);
    }, /not an isosync Ed25519 signature/],
    ['another key claiming the first key\'s signature', (top) => {
      const sigs = top.get('signatures') as Map<string, unknown>;
      sigs.set(KEY_B.publicKey.id, sigs.get(KEY_A.publicKey.id));
      sigs.delete(KEY_A.publicKey.id);
    }, /does not verify/],
  ];
  for (const [what, edit, problem] of cases) {
    it(`finds no valid signature in a torrent with ${what}`, () => {
      const bad = edited(signed, edit);
      const m = parseMetainfo(bad, 'bad.torrent');
      assert.equal(m.infoHash, t.metainfo.infoHash, 'the infohash does not notice');
      const sigs = torrentSignatures(bad, m);
      assert.equal(sigs.length, 1);
      assert.equal(sigs[0]!.valid, false);
      assert.match(sigs[0]!.problem ?? '', problem);
      assert.equal(signatureBy(sigs, [KEY_A.publicKey, KEY_B.publicKey]), undefined);
    });
  }

  it('moves with the info dictionary: the signature of one release does not fit another', () => {
    const other = releaseTorrent('1.02');
    const graft = edited(other.bytes, (top) => top.set('signatures', (decodeBencode(signed).value as BDict).get('signatures')));
    const sigs = torrentSignatures(graft, parseMetainfo(graft, 'g'));
    assert.equal(sigs[0]!.valid, false);
    assert.match(sigs[0]!.problem ?? '', /does not verify/);
  });
});
