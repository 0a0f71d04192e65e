import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { buildInfoDict, createTorrent, CREATED_BY } from '../../src/torrent/create.js';
import { parseInfoHash, type InfoHash } from '../../src/torrent/info-hash.js';
import { parseMetainfo, pieceHash, pieceSize } from '../../src/torrent/metainfo.js';
import { defaultPieceLength, parsePieceLength } from '../../src/torrent/piece-length.js';
import { pieceIndex } from '../../src/core/ids.js';

const sha1 = (s: string) => new Uint8Array(createHash('sha1').update(s).digest());
const piecesFor = (n: number) => new Uint8Array(Buffer.concat(Array.from({ length: n }, (_, i) => sha1(`p${i}`))));
const H1 = 'aa'.repeat(20) as InfoHash;
const H0 = 'bb'.repeat(20) as InfoHash;

function sample(extra: Partial<Parameters<typeof createTorrent>[0]> = {}) {
  return createTorrent({
    name: 'distro-1.01.iso',
    length: 5 * 65536 + 7,
    pieceLength: 65536,
    pieces: piecesFor(6),
    trackers: [['http://t1/announce', 'http://t2/announce'], ['udp://t3:6969']],
    webSeeds: ['http://mirror/distro-1.01.iso'],
    comment: 'point release',
    creationDate: 1_700_000_000,
    isosync: { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: H1 }, { release: '0.99', infoHash: H0 }] },
    ...extra,
  });
}

describe('createTorrent and parseMetainfo', () => {
  it('round-trips every field of an isosync torrent', () => {
    const { metainfo: m, bytes } = sample();
    assert.equal(m.name, 'distro-1.01.iso');
    assert.equal(m.length, 5 * 65536 + 7);
    assert.equal(m.pieceLength, 65536);
    assert.equal(m.pieceCount, 6);
    assert.deepEqual(pieceHash(m, pieceIndex(5)), sha1('p5'));
    assert.equal(pieceSize(m, pieceIndex(5)), 7);
    assert.equal(pieceSize(m, pieceIndex(0)), 65536);
    assert.equal(m.announce, 'http://t1/announce');
    assert.deepEqual(m.announceList, [['http://t1/announce', 'http://t2/announce'], ['udp://t3:6969']]);
    assert.deepEqual(m.urlList, ['http://mirror/distro-1.01.iso']);
    assert.equal(m.comment, 'point release');
    assert.equal(m.createdBy, CREATED_BY);
    assert.equal(m.creationDate, 1_700_000_000);
    assert.equal(m.private, false);
    assert.deepEqual(m.collections, ['distro']);
    assert.deepEqual(m.similar, [H1, H0]);
    assert.deepEqual(m.isosync, { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: H1 }, { release: '0.99', infoHash: H0 }] });
    assert.ok(Object.isFrozen(m));
    // The infohash is SHA-1 of the raw info bytes, which sit inside the file.
    assert.equal(m.infoHash, createHash('sha1').update(m.rawInfo).digest('hex'));
    assert.ok(Buffer.from(bytes).includes(Buffer.from(m.rawInfo)));
  });

  it('keeps time-dependent and tracker fields outside info: they do not change the infohash', () => {
    const a = sample();
    const b = sample({ creationDate: 1_800_000_000, trackers: [], webSeeds: [], comment: 'other' });
    assert.equal(a.metainfo.infoHash, b.metainfo.infoHash);
    assert.deepEqual(a.metainfo.rawInfo, b.metainfo.rawInfo);
    assert.notDeepEqual(a.bytes, b.bytes);
  });

  it('puts product, release, lineage and hints inside info: each changes the infohash', () => {
    const base = sample().metainfo.infoHash;
    const variants = [
      sample({ isosync: { product: 'other', release: '1.01', lineage: [] } }),
      sample({ isosync: { product: 'distro', release: '1.02', lineage: [{ release: '1.00', infoHash: H1 }, { release: '0.99', infoHash: H0 }] } }),
      sample({ isosync: { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: H1 }] } }),
      sample({ isosync: { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: H1 }, { release: '0.99', infoHash: H0 }], hints: { x: 1 } } }),
    ];
    for (const v of variants) assert.notEqual(v.metainfo.infoHash, base);
    assert.deepEqual(variants[3]!.metainfo.isosync?.hints, new Map([['x', 1]]));
  });

  it('writes the documented info layout exactly', () => {
    const info = encodeBencode(
      buildInfoDict({ name: 'a.iso', length: 3, pieceLength: 2048, pieces: sha1('x'), isosync: { product: 'p', release: 'r', lineage: [{ release: 'q', infoHash: H1 }] } }),
    );
    const expected = Buffer.concat([
      Buffer.from('d11:collectionsl1:pe6:lengthi3e4:name5:a.iso12:piece lengthi2048e6:pieces20:'),
      sha1('x'),
      Buffer.from('7:similarl20:'),
      Buffer.from(H1, 'hex'),
      Buffer.from('e9:x-isosyncd7:lineageld8:infohash20:'),
      Buffer.from(H1, 'hex'),
      Buffer.from('7:release1:qee7:product1:p7:release1:r1:vi1eee'),
    ]);
    assert.equal(Buffer.from(info).toString('latin1'), expected.toString('latin1'));
  });

  it('reads a multi-file torrent and reports its files with offsets', () => {
    const bytes = encodeBencode({
      info: { name: 'dir', 'piece length': 16384, pieces: piecesFor(2), files: [{ length: 20000, path: ['a', 'b.bin'] }, { length: 100, path: ['c'], attr: 'p' }] },
    });
    const m = parseMetainfo(bytes, 'multi.torrent');
    assert.equal(m.length, 20100);
    assert.deepEqual(m.files, [
      { path: ['a', 'b.bin'], length: 20000, offset: 0, attr: '' },
      { path: ['c'], length: 100, offset: 20000, attr: 'p' },
    ]);
    assert.equal(m.isosync, undefined);
  });

  it('hashes the info bytes as found, even where re-encoding would differ', () => {
    // A key unknown to isosync holding a non-canonical-looking but valid value.
    const info = Buffer.concat([Buffer.from('d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:'), sha1('z'), Buffer.from('3:zzzli1eee')]);
    const bytes = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]);
    const m = parseMetainfo(bytes, 'x.torrent');
    assert.equal(m.infoHash, createHash('sha1').update(info).digest('hex'));
  });

  it('ignores an x-isosync layout version it does not know (the torrent still reads)', () => {
    const bytes = encodeBencode({ info: { name: 'a', length: 1, 'piece length': 16384, pieces: sha1('1'), 'x-isosync': { v: 2, future: 'x' } } });
    assert.equal(parseMetainfo(bytes, 'v2.torrent').isosync, undefined);
  });

  it('reports BAD_TORRENT with the file label and field details', () => {
    const bytes = encodeBencode({ info: { name: 'a', length: 1, 'piece length': 16384, pieces: new Uint8Array(59) } });
    assert.throws(
      () => parseMetainfo(bytes, 'x.torrent'),
      (e: unknown) =>
        e instanceof IsosyncError &&
        e.code === 'BAD_TORRENT' &&
        e.exitCode === 2 &&
        e.message === 'Cannot read torrent "x.torrent": info.pieces length 59 is not a multiple of 20' &&
        e.details['field'] === 'info.pieces',
    );
  });
});

describe('piece length', () => {
  it('defaults to 256 KiB up to 4 GiB, then doubles to keep at most 16384 pieces', () => {
    assert.equal(defaultPieceLength(1), 256 * 1024);
    assert.equal(defaultPieceLength(700 * 2 ** 20), 256 * 1024);
    assert.equal(defaultPieceLength(4 * 2 ** 30), 256 * 1024);
    assert.equal(defaultPieceLength(4 * 2 ** 30 + 1), 512 * 1024);
    assert.equal(defaultPieceLength(10 * 2 ** 30), 1024 * 1024);
    assert.equal(defaultPieceLength(2 ** 50), 16 * 1024 * 1024);
  });

  it('parses --piece-length values with K/M suffixes and refuses bad ones', () => {
    assert.equal(parsePieceLength('262144'), 262144);
    assert.equal(parsePieceLength('256K'), 262144);
    assert.equal(parsePieceLength('1M'), 1048576);
    assert.equal(parsePieceLength('2KiB'), 2048);
    for (const bad of ['1000', '1024', '32M', 'abc', '', '-2048']) {
      assert.throws(() => parsePieceLength(bad), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_ARGUMENT', bad);
    }
  });
});

describe('infohash values', () => {
  it('accepts 40 hex digits in any case and nothing else', () => {
    assert.equal(parseInfoHash('AA'.repeat(20)), 'aa'.repeat(20));
    assert.equal(parseInfoHash('aa'.repeat(19)), undefined);
    assert.equal(parseInfoHash('zz'.repeat(20)), undefined);
  });
});
