/**
 * `--encryption require` (MSE/PE both ways): `isosync seed` with it refuses
 * a plaintext handshake without answering it, serves `sync --encryption
 * require`, and serves a default sync too, which dials it again encrypted
 * after the hang-up. All isosync processes and raw TCP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { cli, fixture, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosync, isosyncSeed, type Peer } from './peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** Sends a plaintext BEP 3 handshake; resolves with the bytes received before the connection closed. */
function plaintextHandshake(port: number, infoHash: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(infoHash), Buffer.from('-PT0001-plaintextpla')]));
    setTimeout(() => s.destroy(), 20_000).unref();
  });
}

describe('--encryption require', () => {
  let t: ReturnType<typeof tempDir>;
  let torrent: string;
  let seed: Peer | undefined;

  before(async () => {
    t = tempDir('isosync-enc-policy-');
    torrent = join(t.dir, 'd.torrent');
    const r = cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(r.status, 0, r.stderr);
    seed = await isosyncSeed(torrent, IMAGE, ['--no-catalog', '--no-dht', '--encryption', 'require']);
  });
  after(async () => {
    await seed?.stop();
    t.cleanup();
  });

  it('a seed that requires encryption hangs up on a plaintext handshake without answering it', async () => {
    assert.equal(await plaintextHandshake(seed!.port, readTorrentFile(torrent).infoHashBytes), 0);
  });

  for (const args of [['--encryption', 'require'], []]) {
    it(`sync ${args.length > 0 ? 'with --encryption require' : 'by default (plaintext, then encrypted after the hang-up)'} gets the image from it, bit-identical`, async () => {
      const out = join(t.dir, `out-${args.length}.iso`);
      const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'leech'), '-o', out, '--peer', `127.0.0.1:${seed!.port}`, ...args], 120_000);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(IMAGE));
    });
  }

  it('refuses an unknown mode before it starts', () => {
    const r = cli(['sync', torrent, '--encryption', 'sometimes', '--home', join(t.dir, 'leech')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--encryption/);
  });
});
