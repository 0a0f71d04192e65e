/**
 * Syncs with BitTorrent peers and web seeds together, over real sockets on
 * 127.0.0.1: an `isosync seed` child and a small HTTP range server, one
 * download engine asking both. The swarm starts on need (sync/swarm-start.ts):
 * not at all while the web seed keeps up, when it stalls or is slow
 * otherwise. Nothing is fetched twice; a seeder that goes away mid-sync
 * costs no piece (its asks go to the web seed at once: with a request
 * timeout of 10 minutes, a piece left with it would hang the test).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { readFileSync } from 'node:fs';
import { readTorrentFile } from '../../src/library/previous.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import { badPeer } from '../swarm/bad-peer.js';
import { isosync, isosyncSeed } from '../swarm/peers.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from './fixture-pair.js';

const T = 'distro-1.01';

interface Report {
  fetchedBytes: number;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  peers: { downloaded: number; list: { address: string; downloaded: number }[]; started: string | false };
}

/** Resolves once `ready()` holds, or once `done` settles (whichever is first). */
async function until(ready: () => boolean, done: Promise<unknown>): Promise<void> {
  let over = false;
  void done.finally(() => (over = true));
  while (!ready() && !over) await new Promise((r) => setTimeout(r, 20));
}

describe('peers and web seeds in one sync', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, () => {
  let pub: Published;
  before(() => {
    pub = publishChain(['distro-1.00', T]);
  });
  after(() => pub?.cleanup());

  test('a sync from a seed and a web seed asks both, and fetches no byte twice', async () => {
    const seed = await isosyncSeed(pub.torrent(T), pub.image(T), ['--no-catalog', '--upload-limit', '2000000']);
    // A slow mirror (some 20 KiB/s a connection): its queue stays short (QUEUE_SECONDS), so the peer, which joins later, gets the rest.
    const web = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'trickle');
    try {
      const out = join(pub.dir, 'mixed.iso');
      const r = await isosync(['sync', pub.torrent(T), '--no-catalog', '--home', join(pub.dir, 'h-mixed'), '-o', out, '--json', '--peer', `127.0.0.1:${seed.port}`, '--web-seed', `${web.url}/${T}.iso`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const report = JSON.parse(r.stdout) as Report;
      const fromWeb = web.bytesSent();
      const fromPeer = report.peers.downloaded;
      // Some seconds of fetching left at the web seed's rate: the peers start (swarm-start.ts SLOW_LEFT_MS).
      assert.equal(report.peers.started, 'web-seed-slow');
      assert.ok(fromWeb > 0 && fromPeer > 0, `web seed ${fromWeb} bytes, peer ${fromPeer} bytes`);
      const size = statSync(pub.image(T)).size;
      // The web seed's figure counts the multipart headers too (some hundred bytes a request).
      assert.ok(fromWeb + fromPeer <= size + 64 * 1024, `peer ${fromPeer} + web ${fromWeb} bytes for a ${size}-byte image`);
    } finally {
      await seed.stop();
      await web.close();
    }
  });

  test('with a web seed that keeps up, the peer is never dialed: the swarm does not start', async () => {
    const seed = await isosyncSeed(pub.torrent(T), pub.image(T), ['--no-catalog']);
    const relay = await startTcpRelay(seed.port);
    const web = await startRangeServer({ [`/${T}.iso`]: pub.image(T) });
    try {
      const out = join(pub.dir, 'kept-up.iso');
      const r = await isosync(['sync', pub.torrent(T), '--no-catalog', '--no-dht', '--home', join(pub.dir, 'h-kept-up'), '-o', out, '--json', '--peer', `127.0.0.1:${relay.port}`, '--web-seed', `${web.url}/${T}.iso`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.peers.started, false);
      assert.deepEqual({ downloaded: report.peers.downloaded, list: report.peers.list }, { downloaded: 0, list: [] });
      assert.equal(relay.connections(), 0, 'nobody dialed the peer');
      assert.ok(web.bytesSent() > 0);
    } finally {
      await relay.close();
      await seed.stop();
      await web.close();
    }
  });

  test('a web seed that stops answering starts the peers, and the peer finishes the sync', async () => {
    const seed = await isosyncSeed(pub.torrent(T), pub.image(T), ['--no-catalog']);
    const web = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'stall');
    try {
      const out = join(pub.dir, 'stalled.iso');
      // The stall starts the peers (1.5 s without a byte), before the web seed's own timeout drops it (8 s). What it
      // was asked goes to the peer in endgame, or at that drop (with a timeout of minutes, it could hold the sync that long).
      const r = await isosync(['sync', pub.torrent(T), '--no-catalog', '--no-dht', '--home', join(pub.dir, 'h-stalled'), '-o', out, '--json', '--timeout', '8', '--peer', `127.0.0.1:${seed.port}`, '--web-seed', `${web.url}/${T}.iso`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.peers.started, 'web-seed-stalled', JSON.stringify({ peers: report.peers, webSeeds: report.webSeeds }));
      assert.equal(web.bytesSent(), 0);
      assert.ok(report.peers.downloaded > 0 && report.peers.downloaded >= report.fetchedBytes, `peer ${report.peers.downloaded} of ${report.fetchedBytes} bytes`);
    } finally {
      await seed.stop();
      await web.close();
    }
  });

  test('a seeder that leaves mid-sync costs no piece: the web seed fetches what it held, and the sync completes', async () => {
    const seed = await isosyncSeed(pub.torrent(T), pub.image(T), ['--no-catalog', '--upload-limit', '300000']);
    const relay = await startTcpRelay(seed.port);
    // The web seed stops answering until the seeder has left: its stall starts the peers.
    const web = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'hold');
    try {
      const out = join(pub.dir, 'leaving.iso');
      const sync = isosync(['sync', pub.torrent(T), '--no-catalog', '--no-dht', '--home', join(pub.dir, 'h-leave'), '-o', out, '--json', '--timeout', '600', '--peer', `127.0.0.1:${relay.port}`, '--web-seed', `${web.url}/${T}.iso`]);
      // Mid-sync: the seeder is sending pieces.
      await until(() => relay.bytesFromServer() > 64 * 1024, sync);
      seed.child.kill('SIGKILL');
      web.setMode('slow');
      const r = await sync;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.peers.started, 'web-seed-stalled');
      assert.ok(report.peers.downloaded > 0 && web.bytesSent() > 0, `peer ${report.peers.downloaded} bytes, web seed ${web.bytesSent()}`);
    } finally {
      await relay.close();
      await seed.stop();
      await web.close();
    }
  });

  test('a peer banned for corrupt blocks costs no piece: its asks go to the web seed at once, and the sync completes', async () => {
    const m = readTorrentFile(pub.torrent(T));
    const liar = await badPeer('corrupt', m.infoHashBytes, m.pieceLength, readFileSync(pub.image(T)));
    // The web seed stops answering until the liar has lied: its stall starts the peers.
    const web = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'hold');
    try {
      const out = join(pub.dir, 'banned.iso');
      // With a request timeout of 10 minutes, an ask left with the banned peer would hang the test.
      const sync = isosync(['sync', pub.torrent(T), '--no-catalog', '--no-dht', '--home', join(pub.dir, 'h-banned'), '-o', out, '--json', '--timeout', '600', '--peer', `127.0.0.1:${liar.port}`, '--web-seed', `${web.url}/${T}.iso`]);
      await until(() => liar.lies() > 0, sync);
      web.setMode('slow');
      const r = await sync;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      assert.ok(liar.lies() > 0, 'the peer was asked and lied');
      const report = JSON.parse(r.stdout) as Report & { warnings: { code: string; source: string }[] };
      assert.deepEqual(report.warnings.filter((w) => w.code === 'PEER_BANNED').map((w) => w.source), [`peer 127.0.0.1:${liar.port}`]);
    } finally {
      await liar.close();
      await web.close();
    }
  });
});
