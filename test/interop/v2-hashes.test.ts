/**
 * BEP 52 hash requests served by `isosync seed`: python3-libtorrent given
 * only a v2 magnet link (`urn:btmh:`, the SHA-256 infohash) gets the info
 * dictionary over ut_metadata, which holds no piece layers, so it asks the
 * seed for them with `hash request` messages and checks every piece against
 * the `hashes` they bring; it completes bit-identical. Done for a v2-only
 * torrent and for a hybrid (whose seed is then found by its truncated v2
 * infohash, the hybrid's second swarm). libtorrent's own counter of the hash
 * requests it sent shows they were asked, and its hash failures that none
 * was answered wrongly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import net from 'node:net';
import { decodeHashes, decodeHashRequest, encodeHashRequest, MSG_HASH_REJECT, MSG_HASH_REQUEST, MSG_HASHES, verifyHashes, type HashRequest } from '../../src/torrent/hash-messages.js';
import { formatMagnet } from '../../src/torrent/magnet.js';
import { leafCount, log2Exact, nextPowerOfTwo, SHA256_BYTES } from '../../src/torrent/merkle.js';
import { parseMetainfo, truncatedV2 } from '../../src/torrent/metainfo.js';
import { handshake } from '../swarm/raw-peer.js';
import { cli, fixture, needTools, tempDir } from '../helpers/env.js';
import { isosync, isosyncSeed, libtorrentPeer, runLibtorrentScript, makeLibtorrentTorrent, type Peer } from '../swarm/peers.js';

const RELEASES = fixture('releases');
const IMAGE = join(RELEASES, 'distro-1.01.iso');
const OLD = join(RELEASES, 'distro-1.00.iso');
const NAME = 'distro-1.01.iso';
/** 64 KiB pieces: 4 leaves under each piece-layer node, 80-odd pieces, so the piece layer is asked in a run with uncles or without. */
const PIECE = 65536;

/** A magnet leecher that prints, at the end, its counters of hash requests sent and pieces that failed their hash. */
const LT_MAGNET_LEECH = String.raw`
import json, sys, time, libtorrent as lt
magnet, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'alert_mask': lt.alert.category_t.stats_notification | lt.alert.category_t.status_notification})
p = lt.parse_magnet_uri(magnet)
p.save_path = save
h = s.add_torrent(p)
host, port = peer.rsplit(':', 1)
h.connect_peer((host, int(port)))
requests = 'ses.num_outgoing_hash_request'
failed = 0
t0 = time.time()
st = h.status()
while time.time() - t0 < 90:
    st = h.status()
    for a in s.pop_alerts():
        if isinstance(a, lt.hash_failed_alert): failed += 1
    if st.is_seeding: break
    time.sleep(0.1)
s.post_session_stats()
sent = None
for _ in range(50):
    for a in s.pop_alerts():
        if isinstance(a, lt.session_stats_alert): sent = a.values[requests]
        if isinstance(a, lt.hash_failed_alert): failed += 1
    if sent is not None: break
    time.sleep(0.1)
print(json.dumps({'metadata': st.has_metadata, 'seeding': st.is_seeding, 'name': st.name, 'hashRequests': sent, 'hashFailed': failed}), flush=True)
`;

describe('isosync seed answers BEP 52 hash requests', { skip: needTools('libtorrent') }, () => {
  const tmp = tempDir('isosync-v2-hashes-');
  const running: Peer[] = [];
  const torrents = { v2: join(tmp.dir, 'v2.torrent'), hybrid: join(tmp.dir, 'hybrid.torrent') };

  before(() => {
    for (const mode of ['v2', 'hybrid'] as const) {
      makeLibtorrentTorrent(IMAGE, torrents[mode], mode, PIECE);
    }
  });
  after(async () => {
    for (const p of running) await p.stop();
    tmp.cleanup();
  });

  it('answers hash requests on the wire with hashes that prove to the pieces root and the piece layer, and rejects what it cannot answer', async () => {
    const m = parseMetainfo(readFileSync(torrents.hybrid), torrents.hybrid);
    const v2 = m.v2!;
    const file = v2.files[0]!;
    const root = new Uint8Array(file.piecesRoot!);
    const layer = v2.pieceLayers.get(Buffer.from(root).toString('hex'))!;
    const top = log2Exact(nextPowerOfTwo(leafCount(file.length)));
    const pieceLayer = log2Exact(PIECE / 16384);
    const seed = await isosyncSeed(torrents.hybrid, IMAGE, ['--home', join(tmp.dir, 'home-wire'), '--no-dht', '--no-catalog']);
    running.push(seed);
    // The hybrid's second swarm: its truncated v2 infohash.
    const peer = await RawPeer.connect(seed.port, truncatedV2(v2).bytes);
    try {
      assert.ok(peer.reserved[7]! & 0x10, 'the seed says it speaks v2');
      assert.deepEqual(peer.infoHash, truncatedV2(v2).bytes, 'answered with the infohash asked for');
      // The whole piece layer (as a magnet leecher asks it), proven to the root: layers from the piece layer to the root.
      const layerRun = nextPowerOfTwo(file.pieceCount);
      const all: HashRequest = { piecesRoot: root, baseLayer: pieceLayer, index: 0, length: layerRun, proofLayers: top - pieceLayer - 1 };
      const got = decodeHashes(await peer.ask(all, MSG_HASHES));
      assert.ok(verifyHashes(got, root, top));
      assert.ok(Buffer.from(got.hashes.subarray(0, layer.length)).equals(layer), "the piece layer of the torrent");
      // Half the piece layer with one uncle; then the leaves of piece 3 against its piece-layer node, with no uncle.
      const half = decodeHashes(await peer.ask({ ...all, index: layerRun / 2, length: layerRun / 2 }, MSG_HASHES));
      assert.equal(half.uncles.length, 1);
      assert.ok(verifyHashes(half, root, top));
      const leaves = decodeHashes(await peer.ask({ piecesRoot: root, baseLayer: 0, index: 3 * 4, length: 4, proofLayers: 1 }, MSG_HASHES));
      assert.equal(leaves.uncles.length, 0);
      assert.ok(verifyHashes(leaves, layer.subarray(3 * SHA256_BYTES, 4 * SHA256_BYTES), pieceLayer));
      // Another file's root, and a proof past the root: hash reject.
      const unknown = { ...all, piecesRoot: new Uint8Array(32).fill(7) };
      assert.deepEqual(decodeHashRequest(await peer.ask(unknown, MSG_HASH_REJECT)), unknown);
      assert.deepEqual(decodeHashRequest(await peer.ask({ ...all, proofLayers: top }, MSG_HASH_REJECT)), { ...all, proofLayers: top });
    } finally {
      peer.close();
      await seed.stop();
    }
  });

  for (const from of ['isosync seed', 'a libtorrent seeder'] as const) {
    it(`isosync sync of a v2-only magnet link gets the piece layers from ${from} by hash requests and completes --from the previous release, bit-identical`, async () => {
      const m = parseMetainfo(readFileSync(torrents.v2), torrents.v2);
      const seed = from === 'isosync seed' ? await isosyncSeed(torrents.v2, IMAGE, ['--home', join(tmp.dir, 'home-sync'), '--no-dht', '--no-catalog']) : await libtorrentPeer('seed', torrents.v2, RELEASES);
      running.push(seed);
      // libtorrent turns peers away while it checks its copy: sync once it seeds (a minute at most).
      for (let i = 0; i < 600 && from !== 'isosync seed' && seed.last().seeding !== true; i++) await new Promise((r) => setTimeout(r, 100));
      const dir = join(tmp.dir, `sync-${from.replace(/ /g, '-')}`);
      mkdirSync(dir);
      const out = join(dir, NAME);
      const magnet = formatMagnet({ infoHashV2: m.v2!.infoHash });
      const r = await isosync(['sync', magnet, '--peer', `127.0.0.1:${seed.port}`, '--from', OLD, '--no-catalog', '--no-dht', '--home', join(dir, 'home'), '-o', out, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(out).equals(readFileSync(IMAGE)), 'bit-identical');
      const report = JSON.parse(r.stdout) as { reusedBytes: number };
      assert.ok(report.reusedBytes > 0, 'reused the previous release');
      // The torrent saved beside the image holds the piece layers it was checked against.
      const saved = parseMetainfo(readFileSync(`${out}.torrent`), `${out}.torrent`);
      assert.equal(saved.v2?.layersComplete, true);
      assert.equal(saved.v2?.infoHash, m.v2!.infoHash);
      await seed.stop();
    });
  }

  it('with leaf hashes from the seed, a wrong guess costs its 16 KiB block, not its 1 MiB piece: guessed-right bytes fetched fall by at least 90 % against v1 on the same images', async () => {
    const runs: Record<string, { fetchedBytes: number; guessedRightFetchedBytes: number }> = {};
    for (const mode of ['v1', 'v2', 'hybrid'] as const) {
      const dir = join(tmp.dir, `blocks-${mode}`);
      mkdirSync(join(dir, 'out'), { recursive: true });
      const torrent = join(dir, 't.torrent');
      const pub = cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(dir, 'pub'), '-o', torrent, '--piece-length', '1M', ...(mode === 'v1' ? [] : [`--${mode}`])]);
      assert.equal(pub.status, 0, pub.stderr);
      const seed = await isosyncSeed(torrent, IMAGE, ['--home', join(dir, 'pub'), '--no-dht', '--no-catalog']);
      running.push(seed);
      const out = join(dir, 'out', NAME);
      const r = await isosync(['sync', torrent, '--peer', `127.0.0.1:${seed.port}`, '--from', OLD, '--no-catalog', '--no-dht', '--home', join(dir, 'home'), '-o', out, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(out).equals(readFileSync(IMAGE)), `${mode}: bit-identical`);
      const { fetchedBytes, guessedRightFetchedBytes } = JSON.parse(r.stdout) as { fetchedBytes: number; guessedRightFetchedBytes: number };
      runs[mode] = { fetchedBytes, guessedRightFetchedBytes };
      await seed.stop();
    }
    process.stderr.write(`# 1 MiB pieces, --from the previous release: ${JSON.stringify(runs)}\n`);
    const v1 = runs['v1']!;
    assert.ok(v1.guessedRightFetchedBytes > 0, 'v1 fetches guessed-right bytes when a piece fails');
    for (const mode of ['v2', 'hybrid']) {
      const v = runs[mode]!;
      assert.ok(v.guessedRightFetchedBytes <= v1.guessedRightFetchedBytes * 0.1, `${mode}: ${v.guessedRightFetchedBytes} vs v1 ${v1.guessedRightFetchedBytes}`);
      assert.ok(v.fetchedBytes < v1.fetchedBytes, `${mode} fetched less`);
    }
  });

  for (const mode of ['v2', 'hybrid'] as const) {
    it(`a libtorrent leecher of a ${mode} torrent's v2 magnet gets the piece layers by hash requests and completes, bit-identical`, async () => {
      const m = parseMetainfo(readFileSync(torrents[mode]), torrents[mode]);
      assert.ok(m.v2 && m.v2.layersComplete, 'the seed has the piece layers');
      const seed = await isosyncSeed(torrents[mode], IMAGE, ['--home', join(tmp.dir, `home-${mode}`), '--no-dht', '--no-catalog']);
      running.push(seed);
      const dir = join(tmp.dir, `leech-${mode}`);
      mkdirSync(dir);
      const { code, last } = await runLibtorrentScript(LT_MAGNET_LEECH, [formatMagnet({ infoHashV2: m.v2.infoHash }), dir, `127.0.0.1:${seed.port}`]);
      assert.equal(code, 0);
      const status = JSON.parse(last) as { metadata: boolean; seeding: boolean; name: string; hashRequests: number; hashFailed: number };
      process.stderr.write(`# ${mode}: ${last}\n`);
      assert.ok(status.metadata, `libtorrent got the metadata: ${last}`);
      assert.ok(status.seeding, `libtorrent finished: ${last}`);
      assert.ok(status.hashRequests > 0, `libtorrent asked for hashes: ${last}`);
      assert.equal(status.hashFailed, 0, last);
      assert.ok(readFileSync(join(dir, NAME)).equals(readFileSync(IMAGE)), 'bit-identical');
      await seed.stop();
    });
  }
});

/** A hand-written v2 peer: handshakes with the v2 bit, then sends hash requests and reads the replies in order. */
class RawPeer {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  reserved = new Uint8Array(8);
  infoHash = new Uint8Array(20);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
  }

  static async connect(port: number, infoHash: Uint8Array): Promise<RawPeer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const p = new RawPeer(socket);
    const hs = handshake(infoHash, '-XX0000-v2hashtester');
    hs[27]! |= 0x10;
    socket.write(hs);
    const theirs = await p.take(68);
    p.reserved = new Uint8Array(theirs.subarray(20, 28));
    p.infoHash = new Uint8Array(theirs.subarray(28, 48));
    return p;
  }

  /** Sends a hash request; returns the payload of the first message with id `want` that comes back (others are skipped). */
  async ask(r: HashRequest, want: number): Promise<Uint8Array> {
    const payload = encodeHashRequest(r);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 + payload.length, 0);
    head[4] = MSG_HASH_REQUEST;
    this.socket.write(Buffer.concat([head, payload]));
    for (;;) {
      const len = (await this.take(4)).readUInt32BE(0);
      if (len === 0) continue;
      const msg = await this.take(len);
      if (msg[0] === want) return new Uint8Array(msg.subarray(1));
      assert.ok(msg[0] !== MSG_HASHES && msg[0] !== MSG_HASH_REJECT, `expected message ${want}, got ${msg[0]}`);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.socket.destroyed) throw new Error('the seed closed the connection');
      await new Promise<void>((r) => {
        this.waiter = r;
        this.socket.once('close', r);
      });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
