import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { formatMagnet, magnetSelects, parseMagnet } from '../../src/torrent/magnet.js';
import {
  answerMetadataRequest,
  decodeMetadataMessage,
  encodeMetadataMessage,
  MAX_METADATA_BYTES,
  MetadataAssembler,
  METADATA_PIECE_BYTES,
} from '../../src/torrent/metadata-exchange.js';
import { Rng } from '../helpers/random.js';

const V1 = 'c9e15763f722f23e98a29decdfae341b98d53056';
const V2 = 'd8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb';

describe('magnet links', () => {
  it('reads a v1 magnet with name, trackers, web seeds, peers and BEP 53 selection', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${V1.toUpperCase()}&dn=distro+1.01.iso&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http%3A%2F%2Ft%2Fannounce` +
        `&ws=http%3A%2F%2Fmirror%2Fdistro.iso&x.pe=127.0.0.1:6881&x.pe=[::1]:7000&xl=1234&so=0,2,4-6,5`,
    );
    assert.equal(m.infoHash, V1);
    assert.equal(m.wireInfoHash, V1);
    assert.equal(m.infoHashV2, undefined);
    assert.equal(m.name, 'distro 1.01.iso');
    assert.deepEqual(m.trackers, ['udp://127.0.0.1:6969', 'http://t/announce']);
    assert.deepEqual(m.webSeeds, ['http://mirror/distro.iso']);
    assert.deepEqual(m.peers, [{ host: '127.0.0.1', port: 6881 }, { host: '::1', port: 7000 }]);
    assert.equal(m.exactLength, 1234);
    assert.deepEqual(m.selectOnly, [{ start: 0, end: 1 }, { start: 2, end: 3 }, { start: 4, end: 7 }]);
    assert.deepEqual([0, 1, 2, 3, 4, 6, 7].map((i) => magnetSelects(m, i)), [true, false, true, false, true, true, false]);
    assert.deepEqual(m.ignored, []);
  });

  it('reads a base32 btih as the same hash as its hex spelling', () => {
    const b32 = 'ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW';
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, V1);
  });

  it('reads v2 (urn:btmh) and hybrid magnets: the wire hash is v1 when present, else v2 cut to 20 bytes', () => {
    const v2 = parseMagnet(`magnet:?xt=urn:btmh:1220${V2}`);
    assert.equal(v2.infoHashV2, V2);
    assert.equal(v2.wireInfoHash, V2.slice(0, 40));
    const hybrid = parseMagnet(`magnet:?xt=urn:btih:${V1}&xt=urn:btmh:1220${V2}`);
    assert.deepEqual([hybrid.infoHash, hybrid.infoHashV2, hybrid.wireInfoHash], [V1, V2, V1]);
    assert.equal(formatMagnet({ infoHash: V1, infoHashV2: V2, name: 'a b', trackers: ['udp://t:1'] }), `magnet:?xt=urn:btih:${V1}&xt=urn:btmh:1220${V2}&dn=a%20b&tr=udp%3A%2F%2Ft%3A1`);
    assert.deepEqual(parseMagnet(formatMagnet({ infoHash: V1, name: 'a b', trackers: ['udp://t:1'] })).trackers, ['udp://t:1']);
  });

  it('leaves out unusable trackers, web seeds and peers, saying why', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${V1}&tr=notaurl&ws=ftp%3A%2F%2Fx%2Fy&x.pe=host&xt=urn:sha1:abc`);
    assert.deepEqual(m.trackers, []);
    assert.deepEqual(m.webSeeds, []);
    assert.equal(m.ignored.length, 4);
  });

  const bad: [string, RegExp][] = [
    ['http://x/y.torrent', /does not start with "magnet:\?"/],
    ['magnet:?dn=x', /has no xt=urn:btih: or xt=urn:btmh: infohash/],
    [`magnet:?xt=urn:btih:${V1.slice(1)}z`, /is not 40 hex digits or 32 base32 characters/],
    ['magnet:?xt=urn:btih:' + 'g'.repeat(40), /is not 40 hex digits/],
    [`magnet:?xt=urn:btmh:1114${V2}`, /is not a sha2-256 multihash/],
    [`magnet:?xt=urn:btih:${V1}&xt=urn:btih:${'a'.repeat(40)}`, /names two different v1 infohashes/],
    [`magnet:?xt=urn:btih:${V1}&dn=%E0%A4%A`, /parameter dn has a bad percent-escape/],
    [`magnet:?xt=urn:btih:${V1}&so=3-1`, /so range "3-1" ends before it starts/],
    [`magnet:?xt=urn:btih:${V1}&so=0-99999999999`, /so entry "0-99999999999" is not an index/],
    [`magnet:?xt=urn:btih:${V1}&so=${Array.from({ length: 1001 }, (_, i) => i).join(',')}`, /so has more than 1000 entries/],
    [`magnet:?xt=urn:btih:${V1}&xl=-1`, /xl "-1" is not a byte count/],
    [`magnet:?xt=urn:btih:${V1}${'&a=b'.repeat(1000)}`, /more than 1000 parameters/],
    ['magnet:?' + 'x'.repeat(70_000), /longer than 65536 characters/],
  ];
  for (const [uri, message] of bad) {
    it(`refuses ${uri.slice(0, 60)} with one line`, () => {
      assert.throws(() => parseMagnet(uri), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_ARGUMENT' && message.test(e.message) && e.exitCode === 2);
    });
  }
});

describe('ut_metadata (BEP 9)', () => {
  const info = new Rng(9).bytes(2 * METADATA_PIECE_BYTES + 100);
  const v1 = createHash('sha1').update(info).digest();
  const v2 = createHash('sha256').update(info).digest();

  it('round-trips request, data and reject messages', () => {
    for (const m of [{ type: 'request', piece: 3 }, { type: 'reject', piece: 0 }, { type: 'data', piece: 1, totalSize: 5, data: new Uint8Array([1, 2]) }] as const) {
      assert.deepEqual(decodeMetadataMessage(encodeMetadataMessage(m)), m);
    }
    // The wire form of BEP 9's example.
    assert.equal(Buffer.from(encodeMetadataMessage({ type: 'request', piece: 0 })).toString(), 'd8:msg_typei0e5:piecei0ee');
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['not bencode', Buffer.from('x'), /unexpected byte/],
    ['a list', Buffer.from('le'), /not a dictionary/],
    ['an unknown type', Buffer.from('d8:msg_typei7e5:piecei0ee'), /msg_type 7 is not 0, 1 or 2/],
    ['a negative piece', Buffer.from('d8:msg_typei0e5:piecei-1ee'), /piece -1/],
    ['data without total_size', Buffer.from('d8:msg_typei1e5:piecei0eeXY'), /total_size undefined/],
    ['a request with trailing bytes', Buffer.from('d8:msg_typei0e5:piecei0eeXY'), /carries 2 trailing bytes/],
  ];
  for (const [name, payload, message] of malformed) {
    it(`refuses ${name}`, () => {
      assert.throws(() => decodeMetadataMessage(payload), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_REPLY' && message.test(e.message));
    });
  }

  it('assembles pieces from a serving peer and checks them against the v1 or the v2 infohash', () => {
    for (const [expected, version] of [[{ v1 }, 'v1'], [{ v2 }, 'v2'], [{ v1: new Uint8Array(20), v2 }, 'v2']] as const) {
      const a = new MetadataAssembler(info.length, expected);
      assert.equal(a.pieceCount, 3);
      let outcome;
      for (let p = a.nextPiece(); p !== undefined; p = a.nextPiece()) {
        const answer = decodeMetadataMessage(encodeMetadataMessage(answerMetadataRequest(info, p)));
        assert.equal(answer.type, 'data');
        if (answer.type !== 'data') break;
        outcome = a.accept(answer.piece, answer.totalSize, answer.data);
        if (outcome.kind === 'complete') break;
      }
      assert.equal(outcome?.kind, 'complete');
      if (outcome?.kind === 'complete') {
        assert.deepEqual(outcome.rawInfo, info);
        assert.equal(outcome.version, version);
      }
    }
  });

  it('refuses wrong sizes and pieces, and throws away an assembly that does not hash to the infohash', () => {
    const a = new MetadataAssembler(info.length, { v1 });
    assert.equal(a.accept(0, info.length + 1, info.subarray(0, METADATA_PIECE_BYTES)).kind, 'bad-piece');
    assert.equal(a.accept(3, info.length, new Uint8Array(0)).kind, 'bad-piece');
    assert.equal(a.accept(2, info.length, info.subarray(2 * METADATA_PIECE_BYTES, 2 * METADATA_PIECE_BYTES + 99)).kind, 'bad-piece');
    const forged = info.slice();
    forged[5]! ^= 1;
    assert.equal(a.accept(0, info.length, forged.subarray(0, METADATA_PIECE_BYTES)).kind, 'need-more');
    assert.equal(a.accept(1, info.length, info.subarray(METADATA_PIECE_BYTES, 2 * METADATA_PIECE_BYTES)).kind, 'need-more');
    assert.equal(a.accept(2, info.length, info.subarray(2 * METADATA_PIECE_BYTES)).kind, 'hash-mismatch');
    assert.equal(a.missingCount, 3, 'everything is fetched again');
    assert.equal(answerMetadataRequest(info, 3).type, 'reject');
    assert.throws(() => new MetadataAssembler(MAX_METADATA_BYTES + 1, { v1 }), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_REPLY');
    assert.throws(() => new MetadataAssembler(0, { v1 }), (e: unknown) => e instanceof IsosyncError);
  });

  it('asks for each piece once, then again for the ones still missing or released', () => {
    const a = new MetadataAssembler(info.length, { v1 });
    assert.deepEqual([a.nextPiece(), a.nextPiece(), a.nextPiece()], [0, 1, 2]);
    assert.equal(a.nextPiece(), 0, 'all asked: the first missing again (another peer)');
    a.release(2);
    assert.equal(a.nextPiece(), 2);
  });
});
