/**
 * BEP 16 super-seeding (`isosync seed --super-seed`): the seed claims no
 * pieces, then offers them one at a time with `have`, so its first upload of
 * each piece goes to one peer. A raw client checks what the seed announces;
 * an isosync leecher still completes bit-identical. All on 127.0.0.1.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixture } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { readTorrentFile } from '../../src/library/previous.js';
import { isosync } from './peers.js';
import { rawPeer, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
/** How long the raw client listens to the seed's announcements. */
const LISTEN_MS = 1500;

/** Handshakes (fast extension on) and returns the ids of the messages the seed sent within LISTEN_MS. */
async function announcements(port: number, infoHash: Uint8Array): Promise<{ id: number; piece?: number }[]> {
  const seen: { id: number; piece?: number }[] = [];
  await rawPeer(port, infoHash, '-SS0001-superseedtst', {
    ms: LISTEN_MS,
    onMessage: (id, payload) => {
      if (id >= 0) seen.push(id === 4 ? { id: 4, piece: payload.readUInt32BE(0) } : { id });
    },
  });
  return seen;
}

describe('super-seeding', () => {
  const suite = seededSuite('isosync-superseed-', IMAGE, ['--no-catalog', '--super-seed']);

  it('claims no pieces and offers one piece at a time to a new peer', async () => {
    const m = readTorrentFile(suite.torrent);
    const seen = await announcements(suite.seed.port, m.infoHashBytes);
    const ids = seen.map((s) => s.id);
    assert.ok(ids.includes(15) || ids.includes(5), `have-none or an empty bitfield first: ${JSON.stringify(seen)}`);
    assert.ok(!ids.includes(14), 'no have-all from a super-seed');
    const haves = seen.filter((s) => s.id === 4);
    assert.equal(haves.length, 1, `exactly one piece offered: ${JSON.stringify(seen)}`);
    assert.ok(haves[0]!.piece! < m.pieceCount);
  });

  it('a leecher still gets the whole image from a super-seed, bit-identical', async () => {
    const out = join(suite.dir, 'out.iso');
    const r = await isosync(['sync', suite.torrent, '--no-catalog', '--home', join(suite.dir, 'leech'), '-o', out, '--peer', `127.0.0.1:${suite.seed.port}`], 180_000);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(IMAGE));
  });
});
