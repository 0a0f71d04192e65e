/**
 * Flooding peers: a peer that queues far more requests than the seed
 * advertises (reqq), or bursts thousands of control messages, is dropped,
 * and the seed goes on serving a well-behaved leecher. The flooders are raw
 * TCP clients in this process; the seed and the leecher are `isosync`
 * processes; all on 127.0.0.1.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { fixture } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { readTorrentFile } from '../../src/library/previous.js';
import { isosync, within } from './peers.js';
import { handshake, message, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** Connects, handshakes, waits for the seed's handshake, then sends `burst`; resolves with how the connection ended. */
function flood(port: number, infoHash: Uint8Array, burst: Buffer): Promise<'closed' | 'timeout'> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const closed = new Promise<'closed'>((r) => socket.on('close', () => r('closed')));
  let got = 0;
  socket.on('data', (d: Buffer) => {
    const before = got;
    got += d.length;
    if (before < 68 && got >= 68) socket.write(burst);
  });
  socket.write(handshake(infoHash, '-FL0001-floodfloodfl'));
  return within(closed, 10_000).finally(() => socket.destroy());
}

describe('peers that flood', () => {
  const suite = seededSuite('isosync-flood-', IMAGE, ['--no-catalog']);

  it('drops a peer that queues thousands of requests, and one that bursts control messages; others are still served', async () => {
    const m = readTorrentFile(suite.torrent);
    const requests = Buffer.concat([message(2), ...Array.from({ length: 5000 }, (_, i) => message(6, i % m.pieceCount, 0, 16384))]);
    assert.equal(await flood(suite.seed.port, m.infoHashBytes, requests), 'closed', 'the request flooder was dropped');
    // interested / not interested, 20,000 times: far past any sane control-message rate.
    const control = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => message(i % 2 === 0 ? 2 : 3)));
    assert.equal(await flood(suite.seed.port, m.infoHashBytes, control), 'closed', 'the control flooder was dropped');
    assert.equal(suite.seed.child.exitCode, null, 'the seed is still running');

    const out = join(suite.dir, 'out.iso');
    const r = await isosync(['sync', suite.torrent, '--no-catalog', '--home', join(suite.dir, 'leech'), '-o', out, '--peer', `127.0.0.1:${suite.seed.port}`], 120_000);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(IMAGE));
  });
});
