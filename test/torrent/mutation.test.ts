/**
 * Property: random mutations of valid torrents decode to a Metainfo or throw
 * the project's own IsosyncError('BAD_TORRENT'), never anything else (no
 * TypeError, RangeError, stack overflow). Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { createTorrent } from '../../src/torrent/create.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { mulberry32 } from '../helpers/random.js';

const rng = mulberry32;

const sha1 = (s: string) => new Uint8Array(createHash('sha1').update(s).digest());

function seeds(): Uint8Array[] {
  const pieces = new Uint8Array(Buffer.concat([sha1('a'), sha1('b'), sha1('c')]));
  const isosync = createTorrent({
    name: 'distro-1.01.iso',
    length: 2 * 32768 + 5,
    pieceLength: 32768,
    pieces,
    trackers: [['http://t/announce'], ['udp://u:1']],
    webSeeds: ['http://w/'],
    comment: 'c',
    creationDate: 1,
    isosync: { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: 'ab'.repeat(20) as InfoHash }], hints: { runs: [[1, 2, 3]], v: 'x' } },
  }).bytes;
  const multi = encodeBencode({
    announce: 'http://t/a',
    info: { name: 'd', 'piece length': 16384, pieces: pieces.subarray(0, 40), files: [{ length: 20000, path: ['a', 'b'] }, { length: 1, path: ['c'] }] },
  });
  return [isosync, multi];
}

const INTERESTING = [...'0123456789ildee:-'].map((c) => c.charCodeAt(0));

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Array.from(src);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(r() * (b.length + 1));
    const op = Math.floor(r() * 6);
    const byte = r() < 0.5 ? INTERESTING[Math.floor(r() * INTERESTING.length)]! : Math.floor(r() * 256);
    if (op === 0) b[pos] = byte; // overwrite
    else if (op === 1) b.splice(pos, 0, byte); // insert
    else if (op === 2) b.splice(pos, 1); // delete
    else if (op === 3) b.length = pos; // truncate
    else if (op === 4) b.splice(pos, 0, ...b.slice(pos, pos + Math.floor(r() * 16))); // duplicate a run
    else b[pos] = (b[pos] ?? 0) ^ (1 << Math.floor(r() * 8)); // flip a bit
  }
  return new Uint8Array(b);
}

describe('metainfo parser under random mutation', () => {
  it('yields a Metainfo or BAD_TORRENT for 6000 seeded mutations, nothing else', () => {
    const r = rng(0x15050);
    let ok = 0;
    let rejected = 0;
    for (const seed of seeds()) {
      for (let i = 0; i < 3000; i++) {
        const input = mutate(seed, r);
        try {
          const m = parseMetainfo(input, 'm.torrent');
          assert.equal(m.pieces.length, m.pieceCount * 20);
          assert.equal(m.pieceCount, Math.ceil(m.length / m.pieceLength));
          ok++;
        } catch (e) {
          if (!(e instanceof IsosyncError) || e.code !== 'BAD_TORRENT') {
            assert.fail(`mutation ${i} threw ${String(e)}: ${Buffer.from(input).toString('latin1')}`);
          }
          assert.ok(!e.message.includes('\n'), 'the error is one line');
          rejected++;
        }
      }
    }
    // Both outcomes occur, so the property is exercised on each side.
    assert.ok(ok > 0 && rejected > 0, `ok ${ok}, rejected ${rejected}`);
  });
});
