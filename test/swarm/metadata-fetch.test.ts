/**
 * Fetching a magnet's info dictionary from peers (swarm/metadata-fetch.ts),
 * on 127.0.0.1 with real swarms serving ut_metadata: a peer that serves a
 * dictionary of the right size but the wrong bytes is banned and the right
 * one is taken from another; a big dictionary comes in 16 KiB pieces from
 * several peers; and a fetch with no helpful peer fails naming the peers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Warning } from '../../src/core/warnings.js';
import { MetadataFetch } from '../../src/swarm/metadata-fetch.js';
import { Swarm } from '../../src/swarm/swarm.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';

/** An info dictionary of about `bytes` bytes (its `pieces` padded out). */
function infoOf(bytes: number, salt: string): Uint8Array {
  const pieceCount = Math.max(1, Math.floor(bytes / 20));
  const pieces = new Uint8Array(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++) pieces.set(createHash('sha1').update(`${salt}${i}`).digest(), i * 20);
  return encodeBencode({ length: pieceCount * 16384, name: `${salt}.iso`, 'piece length': 16384, pieces });
}

const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest());

/** A swarm that serves `metadata` as the torrent `infoHash` (it has no piece). */
function server(infoHash: Uint8Array, metadata: Uint8Array): Promise<Swarm> {
  return Swarm.start({ infoHash, metadata, length: 16384, pieceLength: 16384, store: { have: [false], read: () => Promise.reject(new Error('nothing to read')) }, port: 0 });
}

describe('fetching the info dictionary from peers', () => {
  it('bans a peer whose dictionary does not hash to the infohash and takes it from another', async () => {
    const good = infoOf(300, 'good');
    const bad = new Uint8Array(good);
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 1;
    const ih = sha1(good);
    const liar = await server(ih, bad);
    const honest = await server(ih, good);
    const warnings: Warning[] = [];
    // The honest peer comes once the liar's whole answer (one piece) was refused.
    const f: MetadataFetch = await MetadataFetch.start({
      infoHash: ih,
      expected: { v1: ih },
      timeoutMs: 30_000,
      onWarning: (w) => {
        warnings.push(w);
        if (w.code === 'PEER_BANNED') f.addPeer('127.0.0.1', honest.port!);
      },
    });
    try {
      f.addPeer('127.0.0.1', liar.port!);
      const got = await f.result;
      assert.deepEqual(Buffer.from(got.rawInfo), Buffer.from(good));
      assert.equal(got.version, 'v1');
      assert.ok(got.peers.includes(`127.0.0.1:${honest.port}`));
      assert.ok(warnings.some((w) => w.code === 'PEER_BANNED' && w.detail.includes(`127.0.0.1:${liar.port}`)), JSON.stringify(warnings));
    } finally {
      await f.close();
      await liar.close();
      await honest.close();
    }
  });

  it('assembles a dictionary of many 16 KiB pieces from several peers, checked by its v2 hash alone', async () => {
    const info = infoOf(200_000, 'big');
    const v2 = new Uint8Array(createHash('sha256').update(info).digest());
    const wire = v2.subarray(0, 20);
    const peers = await Promise.all([server(wire, info), server(wire, info), server(wire, info)]);
    const f = await MetadataFetch.start({ infoHash: wire, expected: { v2 } });
    try {
      for (const p of peers) f.addPeer('127.0.0.1', p.port!);
      const got = await f.result;
      assert.equal(got.version, 'v2');
      assert.deepEqual(Buffer.from(got.rawInfo), Buffer.from(info));
    } finally {
      await f.close();
      for (const p of peers) await p.close();
    }
  });

  it('fails after its deadline, naming each peer and what it did', async () => {
    const ih = sha1(infoOf(100, 'x'));
    // A peer of the torrent that has no dictionary to give (it serves none).
    const empty = await Swarm.start({ infoHash: ih, length: 16384, pieceLength: 16384, store: { have: [false], read: () => Promise.reject(new Error('none')) }, port: 0 });
    const f = await MetadataFetch.start({ infoHash: ih, expected: { v1: ih }, timeoutMs: 1500 });
    try {
      f.addPeer('127.0.0.1', empty.port!);
      await assert.rejects(f.result, (e: Error & { code?: string }) => {
        assert.equal(e.code, 'NETWORK');
        assert.match(e.message, new RegExp(`no peer sent it in 2 s; peers tried: 127\\.0\\.0\\.1:${empty.port}: offers no ut_metadata`));
        return true;
      });
    } finally {
      await f.close();
      await empty.close();
    }
  });
});
