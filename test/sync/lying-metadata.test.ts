/**
 * A lying peer cannot wreck the plan. The target's ISO metadata is read
 * while planning from whichever source answers, unverified; here a peer
 * answers fast and sends random bytes for every block of the metadata (the
 * volume descriptors and every directory), honest bytes elsewhere, beside
 * an honest but slower web seed. The pieces holding those bytes verify
 * first, the wrong bytes are found, their sender is struck, and the plan is
 * made again from the verified pieces: the sync reuses as much of 1.00 as it
 * does with the web seed alone, and the image is bit-identical. `isosync
 * plan` checks its input the same way: its prediction stays as without the
 * liar.
 * The web seed stops answering at first, so that the peers start (a sync
 * starts its swarm when a web seed stalls: sync/swarm-start.ts), and answers
 * again once the liar is connected.
 * Real sockets on 127.0.0.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readIso } from '../../src/iso/index.js';
import { readTorrentFile } from '../../src/library/previous.js';
import { FileSource } from '../../src/store/file-source.js';
import { cli, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import { badPeer } from '../swarm/bad-peer.js';
import { isosync } from '../swarm/peers.js';
import { HAVE_RELEASES, RELEASES, sha256 } from './fixture-pair.js';

const OLD = join(RELEASES, 'distro-1.00.iso');
const NEW = join(RELEASES, 'distro-1.01.iso');

interface Report {
  reusedBytes: number;
  fetchedBytes: number;
  pieceLength: number;
  notes: string[];
  warnings: { code: string; source: string }[];
}

/** The byte spans of NEW's ISO metadata: its volume descriptors and every directory. */
async function metadataSpans(): Promise<{ start: number; end: number }[]> {
  const src = await FileSource.open(NEW);
  try {
    const img = await readIso(src, { name: 'new' });
    const spans = [{ start: 16 * 2048, end: 20 * 2048 }];
    for (const e of img.entries) if (e.type === 'dir') for (const x of e.extents) spans.push({ start: x.lba * 2048, end: x.lba * 2048 + Math.max(2048, x.size) });
    return spans;
  } finally {
    await src.close();
  }
}

/** A peer that sends random bytes for every block of NEW's metadata, honest bytes elsewhere. */
async function startLiar(torrent: string) {
  const m = readTorrentFile(torrent);
  const spans = await metadataSpans();
  const liar = await badPeer('corrupt', m.infoHashBytes, m.pieceLength, readFileSync(NEW), {
    random: true,
    lieAbout: (at, len) => spans.some((s) => s.start < at + len && s.end > at),
  });
  // Through a relay that shows when the sync has connected to it.
  const relay = await startTcpRelay(liar.port);
  return { m, spans, liar: { ...liar, port: relay.port, close: async () => (await relay.close(), await liar.close()) }, relay };
}

/**
 * Runs `run` (a sync or plan with the liar as its peer) with the web seed
 * silent until the sync has connected to the liar: the web seed's stall
 * starts the peers.
 */
async function silentUntilConnected<T>(web: RangeServer, relay: { bytesFromServer(): number }, run: () => Promise<T>): Promise<T> {
  web.setMode('hold');
  const done = run();
  let over = false;
  void done.finally(() => (over = true)).catch(() => undefined);
  while (relay.bytesFromServer() === 0 && !over) await new Promise((r) => setTimeout(r, 20));
  web.setMode('slow');
  return done;
}

describe('a peer that lies about the target metadata', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, () => {
  let t: ReturnType<typeof tempDir>;
  let torrent: string;
  let web: RangeServer;

  before(async () => {
    t = tempDir('isosync-liar-');
    torrent = join(t.dir, 'new.torrent');
    // No delta hints: the plan needs the target's own metadata.
    const r = cli(['publish', NEW, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(r.status, 0, r.stderr);
    // A little slower than the peer, so the peer is asked the metadata once it is connected.
    web = await startRangeServer({ '/new.iso': NEW }, 'slow');
  });
  after(async () => {
    await web.close();
    t.cleanup();
  });

  const sync = async (name: string, extra: string[]) => {
    const out = join(t.dir, `${name}.iso`);
    const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, `h-${name}`), '-o', out, '--json', '--from', OLD, '--web-seed', `${web.url}/new.iso`, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(NEW), 'bit-identical');
    return JSON.parse(r.stdout) as Report;
  };

  test('the plan is made again from verified pieces: reuse stays as without the liar, and the liar is struck', async () => {
    const alone = await sync('alone', []);
    const { m, spans, liar, relay } = await startLiar(torrent);
    try {
      const lied = await silentUntilConnected(web, relay, () => sync('lied', ['--peer', `127.0.0.1:${liar.port}`]));
      assert.ok(liar.lies() > 0, 'the liar was asked for metadata blocks');
      assert.ok(lied.notes.some((n) => /planned again from verified pieces/.test(n)), `the plan was redone: ${JSON.stringify(lied.notes)}`);
      const source = `peer 127.0.0.1:${liar.port}`;
      assert.ok(lied.warnings.some((w) => (w.code === 'PEER_STRIKE' || w.code === 'PEER_BANNED') && w.source === source), JSON.stringify(lied.warnings));
      // The pieces that held the lies were fetched whole once: that is all the liar may cost.
      const metadataPieces = new Set(spans.flatMap((s) => Array.from({ length: Math.ceil(s.end / m.pieceLength) - Math.floor(s.start / m.pieceLength) }, (_, i) => Math.floor(s.start / m.pieceLength) + i))).size;
      const slack = metadataPieces * m.pieceLength;
      assert.ok(lied.reusedBytes >= alone.reusedBytes - slack, `reused ${lied.reusedBytes} with the liar, ${alone.reusedBytes} without (slack ${slack})`);
      assert.ok(lied.fetchedBytes <= alone.fetchedBytes + 2 * slack, `fetched ${lied.fetchedBytes} with the liar, ${alone.fetchedBytes} without`);
    } finally {
      await liar.close();
    }
  });
  test('plan checks the metadata it read: the prediction with the liar is the one without', async () => {
    const plan = async (name: string, extra: string[]) => {
      const r = await isosync(['plan', torrent, '--no-catalog', '--home', join(t.dir, `p-${name}`), '--json', '--from', OLD, '--web-seed', `${web.url}/new.iso`, ...extra]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { reusedBytes: number; fetchBytes: number; notes: string[] };
    };
    const alone = await plan('alone', []);
    const { m, spans, liar, relay } = await startLiar(torrent);
    try {
      const lied = await silentUntilConnected(web, relay, () => plan('lied', ['--peer', `127.0.0.1:${liar.port}`]));
      assert.ok(liar.lies() > 0, 'the liar was asked for metadata blocks');
      assert.ok(lied.notes.some((n) => /planned again from verified pieces/.test(n)), `the plan was redone: ${JSON.stringify(lied.notes)}`);
      const slack = 2 * spans.length * m.pieceLength;
      assert.ok(lied.reusedBytes >= alone.reusedBytes - slack, `plan reuses ${lied.reusedBytes} with the liar, ${alone.reusedBytes} without (slack ${slack})`);
      assert.equal(lied.reusedBytes + lied.fetchBytes, alone.reusedBytes + alone.fetchBytes, 'every byte is reused or fetched, once');
      assert.ok(lied.fetchBytes <= alone.fetchBytes + slack, `plan fetches ${lied.fetchBytes} with the liar, ${alone.fetchBytes} without`);
      console.log(`# plan alone: reuse ${alone.reusedBytes} fetch ${alone.fetchBytes}; with the liar: reuse ${lied.reusedBytes} fetch ${lied.fetchBytes}`);
    } finally {
      await liar.close();
    }
  });
});
