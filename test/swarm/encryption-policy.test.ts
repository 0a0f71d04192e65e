/**
 * `--encryption require` (MSE/PE both ways): `isosync seed` with it refuses
 * a plaintext handshake without answering it, serves `sync --encryption
 * require`, and serves a default sync too, which dials it again encrypted
 * after the hang-up. All isosync processes and raw TCP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { cli, fixture } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosync } from './peers.js';
import { handshake, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** Sends a plaintext BEP 3 handshake; resolves with the bytes received before the connection closed. */
function plaintextHandshake(port: number, infoHash: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.write(handshake(infoHash, '-PT0001-plaintextpla', false));
    setTimeout(() => s.destroy(), 20_000).unref();
  });
}

describe('--encryption require', () => {
  const suite = seededSuite('isosync-enc-policy-', IMAGE, ['--no-catalog', '--no-dht', '--encryption', 'require']);

  it('a seed that requires encryption hangs up on a plaintext handshake without answering it', async () => {
    assert.equal(await plaintextHandshake(suite.seed.port, readTorrentFile(suite.torrent).infoHashBytes), 0);
  });

  for (const args of [['--encryption', 'require'], []]) {
    it(`sync ${args.length > 0 ? 'with --encryption require' : 'by default (plaintext, then encrypted after the hang-up)'} gets the image from it, bit-identical`, async () => {
      const out = join(suite.dir, `out-${args.length}.iso`);
      const r = await isosync(['sync', suite.torrent, '--no-catalog', '--home', join(suite.dir, 'leech'), '-o', out, '--peer', `127.0.0.1:${suite.seed.port}`, ...args], 120_000);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(IMAGE));
    });
  }

  it('refuses an unknown mode before it starts', () => {
    const r = cli(['sync', suite.torrent, '--encryption', 'sometimes', '--home', join(suite.dir, 'leech')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--encryption/);
  });
});
