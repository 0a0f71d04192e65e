/**
 * isosync's own swarms on the DHT (BEP 5), on a DHT of local nodes: one
 * router this test runs and the isosync processes (ISOSYNC_DHT_BOOTSTRAP
 * points at the router; no public router is contacted).
 *   - `isosync serve` announces each seed it starts, and a trackerless
 *     magnet link then syncs from it: the DHT was the only way to it.
 *   - `isosync sync --seed` announces itself: a DHT lookup finds the port it
 *     seeds on.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/discovery/dht.js';
import { infoHashBytes, type InfoHash } from '../../src/torrent/info-hash.js';
import { formatMagnet } from '../../src/torrent/magnet.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { BIN, cli, cliAsync, fixture, isosyncEnv, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosyncSeed } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

/** A child isosync process; resolves once a line of its stdout matches `ready`. */
async function child(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ match: RegExpExecArray; stop: () => Promise<void> }> {
  const c: ChildProcess = spawn(process.execPath, [BIN, ...args], { env: isosyncEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m);
    });
    c.once('exit', (code) => reject(new Error(`isosync ${args[0]} exited with ${code}: ${err}`)));
  });
  return {
    match,
    stop: async () => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      await exited;
    },
  };
}

/** Looks `infoHash` up from a fresh node until a peer on `port` (any port when undefined) shows up, or 30 s pass. */
async function lookupFinds(routerPort: number, infoHash: InfoHash, port?: number): Promise<boolean> {
  const probe = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [`127.0.0.1:${routerPort}`] });
  try {
    await probe.ready();
    let found = false;
    probe.on('peer', (p) => (found ||= port === undefined || p.port === port));
    for (let i = 0; i < 60 && !found; i++) {
      await probe.lookup(infoHashBytes(infoHash));
      if (!found) await new Promise((r) => setTimeout(r, 500));
    }
    return found;
  } finally {
    await probe.close();
  }
}

describe('isosync swarms on a loopback DHT', () => {
  const t = tempDir('isosync-dht-sync-');
  const running: { stop(): Promise<void> }[] = [];
  let router: Dht;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    router = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [] });
    env = { ISOSYNC_DHT_BOOTSTRAP: `127.0.0.1:${router.port}` };
  });
  after(async () => {
    for (const p of running.reverse()) await p.stop();
    await router.close();
    t.cleanup();
  });

  it('serve announces its seeds, and a trackerless magnet link syncs from serve found through the DHT alone', async () => {
    const served = join(t.dir, 'served');
    mkdirSync(served);
    copyFileSync(IMAGE, join(served, NAME));
    const serve = await child(['serve', served, '--port', '0', '--min-size', '1000000', '--home', join(t.dir, 'serve-home')], env, /at (http:\/\/\S+?)\/?\n/);
    running.push(serve);
    const res = await fetch(`${serve.match[1]}/${NAME}.torrent`);
    assert.equal(res.status, 200);
    const infoHash = parseMetainfo(new Uint8Array(await res.arrayBuffer()), NAME).infoHash;
    assert.ok(await lookupFinds(router.port, infoHash), 'serve announced its seed to the DHT');
    const out = join(t.dir, 'out');
    mkdirSync(out);
    const r = await cliAsync(['sync', formatMagnet({ infoHash }), '--home', join(t.dir, 'home'), '--json'], { cwd: out, env, timeoutMs: 150_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(join(out, NAME)), sha256(IMAGE));
    assert.equal(parseMetainfo(readFileSync(join(out, `${NAME}.torrent`)), NAME).infoHash, infoHash);
  });

  it('sync --seed announces the image to the DHT while it seeds', async () => {
    const dir = join(t.dir, 'seeding');
    mkdirSync(join(dir, 'origin'), { recursive: true });
    copyFileSync(IMAGE, join(dir, 'origin', NAME));
    const torrent = join(dir, 'd.torrent');
    assert.equal(cli(['publish', join(dir, 'origin', NAME), '--product', 'distro', '--release', '1.01', '--home', join(dir, 'pub'), '-o', torrent]).status, 0);
    const infoHash = parseMetainfo(readFileSync(torrent), torrent).infoHash;
    const origin = await isosyncSeed(torrent, join(dir, 'origin', NAME), ['--home', join(dir, 'pub'), '--no-dht']);
    running.push(origin);
    mkdirSync(join(dir, 'out'));
    const syncing = await child(['sync', torrent, '-o', join(dir, 'out', NAME), '--peer', `127.0.0.1:${origin.port}`, '--seed', '--home', join(dir, 'home')], env, /seeding on 127\.0\.0\.1:(\d+)/);
    running.push(syncing);
    assert.equal(sha256(join(dir, 'out', NAME)), sha256(IMAGE));
    assert.ok(await lookupFinds(router.port, infoHash, Number(syncing.match[1])), 'a DHT lookup finds the port sync --seed seeds on');
  });
});
