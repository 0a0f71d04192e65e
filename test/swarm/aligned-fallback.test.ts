/**
 * isosync asks peers for exactly the missing bytes (requests that start and
 * end anywhere inside a 16 KiB block). A peer that will not serve part of a
 * block still serves a delta sync: one that rejects such requests (BEP 6
 * reject) and one that hangs up on them are asked whole aligned blocks
 * instead. The peers are small Node seeds in this process; the leecher is an
 * `isosync sync` child with 1.00 on disk.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTorrentFile } from '../../src/library/previous.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from '../sync/fixture-pair.js';
import { incomingWire, socketServer } from './bad-peer.js';
import { isosync } from './peers.js';

const BLOCK = 16 * 1024;
type Mode = 'reject' | 'hang-up';

/** A seed of `image` that serves aligned 16 KiB blocks only; `mode` says what it does with any other request. */
function alignedOnlySeed(mode: Mode, infoHash: Uint8Array, pieceLength: number, image: Buffer): Promise<{ port: number; stats: { unaligned: number; served: number; connections: number }; close: () => Promise<void> }> {
  const stats = { unaligned: 0, served: 0, connections: 0 };
  const listening = socketServer((socket) => {
    stats.connections++;
    const wire = incomingWire(socket);
    wire.on('handshake', () => {
      wire.handshake(infoHash, Buffer.from(`-XX0001-aligned${mode === 'reject' ? 'rej' : 'hup'}00`.slice(0, 20)), { fast: true });
      wire.haveAll();
    });
    wire.on('interested', () => wire.unchoke());
    wire.on('request', (i: number, off: number, len: number, respond: (err: Error | null, b?: Uint8Array) => void) => {
      const size = Math.min(pieceLength, image.length - i * pieceLength);
      if (off % BLOCK !== 0 || len !== Math.min(BLOCK, size - off)) {
        stats.unaligned++;
        if (mode === 'reject') return respond(new Error('unaligned'));
        return void socket.destroy();
      }
      stats.served++;
      respond(null, Buffer.from(image.subarray(i * pieceLength + off, i * pieceLength + off + len)));
    });
  });
  return listening.then((l) => ({ ...l, stats }));
}

describe('peers that serve whole 16 KiB blocks only', { skip: HAVE_RELEASES ? false : 'fixture releases missing' }, () => {
  let pub: Published;
  before(() => {
    pub = publishChain(['distro-1.00', 'distro-1.01']);
  });
  after(() => pub?.cleanup());

  for (const mode of ['reject', 'hang-up'] as Mode[]) {
    it(`a delta sync from a peer that ${mode === 'reject' ? 'rejects' : 'hangs up on'} requests of part of a block completes bit-identical, asking it aligned blocks`, async () => {
      const torrent = pub.torrent('distro-1.01');
      const m = readTorrentFile(torrent);
      const peer = await alignedOnlySeed(mode, m.infoHashBytes, m.pieceLength, readFileSync(pub.image('distro-1.01')));
      try {
        const out = join(pub.dir, `out-${mode}.iso`);
        const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(pub.dir, `h-${mode}`), '--from', pub.image('distro-1.00'), '--peer', `127.0.0.1:${peer.port}`, '-o', out, '--json', '--timeout', '3']);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sha256(out), sha256(pub.image('distro-1.01')));
        assert.ok(peer.stats.unaligned > 0, 'isosync first asked part of a block');
        assert.ok(peer.stats.served > 0, 'then whole blocks');
        if (mode === 'hang-up') assert.ok(peer.stats.connections >= 2, 'it dialed the peer again');
        else {
          const { warnings } = JSON.parse(r.stdout) as { warnings: { code: string; source: string }[] };
          assert.ok(warnings.some((w) => w.code === 'PEER_ALIGNED_ONLY' && w.source === `peer 127.0.0.1:${peer.port}`), JSON.stringify(warnings));
        }
      } finally {
        await peer.close();
      }
    });
  }
});
