/**
 * A torrent of 16,384 pieces (2 KiB pieces over 32 MiB, the most isosync's
 * default piece length ever gives, with the smallest pieces so the test
 * stays quick): its metainfo parses, and it syncs bit-identical from an
 * `isosync seed` peer (16,384-bit bitfields, 2,048 pieces asked one request
 * each) and from a web seed, each with a local copy that differs in places.
 *
 * The peer sync reuses most pieces because the piece picker scans every
 * remaining piece per pick: a full 16,384-piece transfer from one loopback
 * peer takes 20-45 s here, a third of it in that scan.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, cliAsync, tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { isosyncSeed, type Peer } from '../swarm/peers.js';

const PIECES = 16_384;
const PIECE = 2048;
const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe(`a torrent of ${PIECES.toLocaleString('en')} pieces`, () => {
  let tmp: { dir: string; cleanup: () => void };
  let image = '';
  let torrent = '';
  let server: RangeServer;
  let seed: Peer | undefined;

  before(async () => {
    tmp = tempDir('isosync-pieces-');
    image = join(tmp.dir, 'image.iso');
    const bytes = new Rng(16384).bytes(PIECES * PIECE);
    writeFileSync(image, bytes);
    server = await startRangeServer({ '/image.iso': image });
    const pieces = await hashPieces(image, PIECE);
    torrent = join(tmp.dir, 'image.torrent');
    writeFileSync(torrent, createTorrent({ name: 'image.iso', length: bytes.length, pieceLength: PIECE, pieces, webSeeds: [`${server.url}/image.iso`] }).bytes);
  });
  after(async () => {
    await seed?.stop();
    await server?.close();
    tmp?.cleanup();
  });

  test('the metainfo parses and isosync info reports every piece', () => {
    const m = parseMetainfo(readFileSync(torrent), 'image.torrent');
    assert.equal(m.pieceCount, PIECES);
    const r = cli(['info', torrent]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /16384/);
  });

  /** A copy of the image with byte 7 of each piece in `pieces` flipped. */
  function damagedCopy(name: string, pieces: number[]): string {
    const bytes = readFileSync(image);
    for (const p of pieces) bytes[p * PIECE + 7] = bytes[p * PIECE + 7]! ^ 0xff;
    const path = join(tmp.dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  test('it syncs bit-identical from one isosync seed peer, which sends the 2,048 pieces a local copy lacks', async () => {
    seed = await isosyncSeed(torrent, image, ['--no-catalog']);
    // The web seed is in the torrent: a --mirror-less sync would use it, so this one ignores it by a bad override.
    const bare = join(tmp.dir, 'bare.torrent');
    const m = parseMetainfo(readFileSync(torrent), 'image.torrent');
    writeFileSync(bare, createTorrent({ name: 'image.iso', length: m.length, pieceLength: PIECE, pieces: m.pieces }).bytes);
    const old = damagedCopy('old-peer.iso', Array.from({ length: PIECES / 8 }, (_, i) => i * 8 + (i % 8)));
    const out = join(tmp.dir, 'from-peer.iso');
    const r = await cliAsync(['sync', bare, '-o', out, '--home', join(tmp.dir, 'c1'), '--no-catalog', '--from', old, '--peer', `127.0.0.1:${seed.port}`, '--json'], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(image));
    // At most the damaged pieces, and the few the planner reads looking for ISO 9660 descriptors (sector 16 on);
    // a damaged piece's same-offset guess is sampled, so only the bytes around the flipped one need come again.
    const fetched = (JSON.parse(r.stdout) as { fetchedBytes: number }).fetchedBytes;
    assert.ok(fetched >= PIECES / 8 && fetched <= (PIECES / 8 + 16) * PIECE, `fetched ${fetched} bytes`);
    await seed.stop();
    seed = undefined;
  });

  test('it syncs bit-identical from a web seed, fetching only the pieces a local copy lacks', async () => {
    const old = damagedCopy('old-web.iso', [0, 1, 5000, 16_383]);
    const before = server.bytesSent();
    const out = join(tmp.dir, 'from-web.iso');
    const r = await cliAsync(['sync', torrent, '-o', out, '--home', join(tmp.dir, 'c2'), '--no-catalog', '--from', old, '--json'], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(image));
    const served = server.bytesSent() - before;
    // A flipped byte costs its sample of each damaged piece (and the bytes around it), not the whole piece.
    assert.ok(served >= 4 && served <= 64 * PIECE, `served ${served} bytes for 4 changed pieces`);
  });
});
