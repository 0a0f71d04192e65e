/**
 * `isosync sync 'magnet:?xt=...'`: the info dictionary comes from peers
 * (ut_metadata, BEP 9), is checked against the infohash, is saved as
 * NAME.torrent beside the image, and the sync goes on as with the file.
 * Peers are found through `--peer`, the link's tracker (`tr=`, an isosync
 * tracker on 127.0.0.1), and the DHT alone (a DHT of local nodes: one
 * router this test runs, libtorrent's and isosync's; no public router).
 * Seeds: `isosync seed` and python3-libtorrent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/discovery/dht.js';
import { startTracker } from '../../src/tracker/http-server.js';
import { formatMagnet } from '../../src/torrent/magnet.js';
import { infoHashBytes, type InfoHash } from '../../src/torrent/info-hash.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, cliAsync, fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosyncSeed, libtorrentPeer, publishImage, LT_DHT_TORRENT, type Peer } from '../swarm/peers.js';

const OLD = fixture('releases', 'distro-1.00.iso');
const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

/** A libtorrent seed that announces itself to a DHT bootstrapped from argv[3] (and to nothing else). */
const LT_DHT_SEED = `${LT_DHT_TORRENT}${String.raw`
print(json.dumps({'port': s.listen_port()}), flush=True)
while True:
    h.force_dht_announce()
    time.sleep(1)
`}`;

interface Published {
  torrent: string;
  infoHash: InfoHash;
  seedDir: string;
}

function publish(dir: string, extra: string[] = []): Published {
  const { torrent, seedDir } = publishImage(dir, IMAGE, extra);
  return { torrent, infoHash: parseMetainfo(readFileSync(torrent), torrent).infoHash, seedDir };
}

/** Syncs `magnet` into a fresh folder of `dir`; checks the image and the torrent saved beside it. */
async function syncMagnet(dir: string, magnet: string, infoHash: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const out = join(dir, 'out');
  mkdirSync(out);
  const r = await cliAsync(['sync', magnet, '--home', join(dir, 'home'), '--json', ...args], { cwd: out, env, timeoutMs: 150_000 });
  assert.equal(r.status, 0, `sync failed: ${r.stderr}`);
  assert.equal(sha256(join(out, NAME)), sha256(IMAGE), 'the image is bit-identical');
  const saved = join(out, `${NAME}.torrent`);
  assert.ok(existsSync(saved), 'the torrent is saved beside the image');
  assert.equal(parseMetainfo(readFileSync(saved), saved).infoHash, infoHash);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('sync from a magnet link', () => {
  const t = tempDir('isosync-magnet-sync-');
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    for (const p of running.reverse()) await p.stop();
    t.cleanup();
  });

  it('gets the torrent from isosync seed through --peer, reuses the previous release (--from) and saves NAME.torrent', async () => {
    const dir = join(t.dir, 'peer');
    const p = publish(dir);
    const seed = await isosyncSeed(p.torrent, join(p.seedDir, NAME), ['--home', join(dir, 'pub'), '--no-dht']);
    running.push(seed);
    const report = await syncMagnet(dir, formatMagnet({ infoHash: p.infoHash }), p.infoHash, ['--peer', `127.0.0.1:${seed.port}`, '--from', OLD]);
    assert.ok((report['reusedBytes'] as number) > 0, 'the delta keys of the fetched info dictionary led to reuse');
  });

  it('gets a hybrid torrent from a link with both infohashes (btih and btmh), checked against both', async () => {
    const dir = join(t.dir, 'hybrid');
    const p = publish(dir, ['--hybrid']);
    const m = parseMetainfo(readFileSync(p.torrent), p.torrent);
    assert.equal(m.version, 'hybrid');
    const seed = await isosyncSeed(p.torrent, join(p.seedDir, NAME), ['--home', join(dir, 'pub'), '--no-dht']);
    running.push(seed);
    const v2 = createHash('sha256').update(m.rawInfo).digest('hex');
    await syncMagnet(dir, `${formatMagnet({ infoHash: p.infoHash, infoHashV2: v2 })}&x.pe=127.0.0.1:${seed.port}`, p.infoHash, []);
  });

  it('finds isosync seed through the tracker named by tr=', async () => {
    const tracker = await startTracker({ host: '127.0.0.1', port: 0 });
    running.push({ stop: () => tracker.close() });
    const announce = `http://127.0.0.1:${tracker.httpPort}/announce`;
    const dir = join(t.dir, 'tracker');
    const p = publish(dir, ['--tracker', announce]);
    const seed = await isosyncSeed(p.torrent, join(p.seedDir, NAME), ['--home', join(dir, 'pub'), '--no-dht']);
    running.push(seed);
    await syncMagnet(dir, formatMagnet({ infoHash: p.infoHash, trackers: [announce] }), p.infoHash, []);
  });

  it('says which peers it tried when none sends the info dictionary', async () => {
    const dir = join(t.dir, 'none');
    const p = publish(dir);
    // A seed of another torrent: it hangs up on our infohash.
    const other = join(dir, 'other.torrent');
    assert.equal(cli(['publish', OLD, '--product', 'distro', '--release', '1.00', '--home', join(dir, 'pub0'), '-o', other]).status, 0);
    const seed = await isosyncSeed(other, OLD, ['--home', join(dir, 'pub0'), '--no-dht']);
    running.push(seed);
    mkdirSync(join(dir, 'out'));
    const r = await cliAsync(['sync', formatMagnet({ infoHash: p.infoHash }), '--peer', `127.0.0.1:${seed.port}`, '--home', join(dir, 'home'), '--timeout', '1'], { cwd: join(dir, 'out'), timeoutMs: 150_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Cannot fetch the info dictionary of [0-9a-f]{40}: no peer sent it in \d+ s; peers tried: 127\.0\.0\.1:\d+/);
    assert.equal(existsSync(join(dir, 'out', `${NAME}.torrent`)), false);
  });
});

describe('sync from a magnet link, with libtorrent seeding', { skip: needTools('libtorrent') }, () => {
  const t = tempDir('isosync-magnet-lt-');
  const running: { stop(): Promise<void> }[] = [];
  let router: Dht;
  before(async () => {
    router = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [] });
  });
  after(async () => {
    for (const p of running.reverse()) await p.stop();
    await router.close();
    t.cleanup();
  });

  it('gets the torrent and the image from a libtorrent seed given by x.pe', async () => {
    const dir = join(t.dir, 'xpe');
    const p = publish(dir);
    const lt: Peer = await libtorrentPeer('seed', p.torrent, p.seedDir);
    running.push(lt);
    // libtorrent listens before it has checked its files, and hangs up on peers until then (a loaded machine takes
    // longer than isosync's redials): a user's seed is a seed, so wait until it says so.
    for (let i = 0; i < 600 && lt.last().seeding !== true; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(lt.last().seeding, true, `libtorrent did not start seeding: ${lt.output().slice(-500)}`);
    await syncMagnet(dir, `${formatMagnet({ infoHash: p.infoHash })}&x.pe=127.0.0.1:${lt.port}`, p.infoHash, ['--no-dht']);
  });

  it('a trackerless magnet syncs from a libtorrent seed found only through a DHT on 127.0.0.1', async () => {
    const dir = join(t.dir, 'dht');
    const p = publish(dir);
    const lt = spawn('/usr/bin/python3', ['-c', LT_DHT_SEED, p.torrent, p.seedDir, `127.0.0.1:${router.port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    running.push({ stop: () => stopChild(lt) });
    const ltPort = await new Promise<number>((resolve, reject) => {
      lt.stdout.setEncoding('utf8').once('data', (d: string) => resolve((JSON.parse(d.split('\n')[0]!) as { port: number }).port));
      lt.once('exit', () => reject(new Error('libtorrent exited')));
    });
    // Start once the DHT holds libtorrent's announce (as a user's client would find it later).
    const probe = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [`127.0.0.1:${router.port}`] });
    try {
      await probe.ready();
      let found = false;
      probe.on('peer', (peer) => (found ||= peer.port === ltPort));
      for (let i = 0; i < 60 && !found; i++) {
        await probe.lookup(infoHashBytes(p.infoHash));
        if (!found) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(found, 'libtorrent announced itself to the loopback DHT');
    } finally {
      await probe.close();
    }
    const report = await syncMagnet(dir, formatMagnet({ infoHash: p.infoHash }), p.infoHash, [], { ISOSYNC_DHT_BOOTSTRAP: `127.0.0.1:${router.port}` });
    assert.equal(report['fetchedBytes'], readFileSync(IMAGE).length, 'every byte came from the libtorrent seed');
  });
});

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}
