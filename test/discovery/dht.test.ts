/**
 * A small DHT on 127.0.0.1: isosync nodes (bittorrent-dht) and, where
 * installed, a python3-libtorrent node. No public router is contacted: every
 * node is started with an explicit bootstrap list of loopback nodes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { closeWithState, Dht, startWithState } from '../../src/discovery/dht.js';
import { decodeFeedPointer, encodeFeedPointer, mutableTarget, rawPublicKey, signingInput, verifyItemSignature } from '../../src/discovery/mutable-item.js';
import { openCatalog } from '../../src/library/catalog.js';
import { needTools, tempDir } from '../helpers/env.js';

async function node(bootstrap: Dht[] = []): Promise<Dht> {
  const d = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: bootstrap.map((b) => `127.0.0.1:${b.port}`) });
  await d.ready();
  return d;
}

/** Looks `infoHash` up until a peer on `port` shows up (a bounded number of walks). */
async function findPeer(d: Dht, infoHash: Uint8Array, port: number, walks = 20): Promise<boolean> {
  const hex = Buffer.from(infoHash).toString('hex');
  let found = false;
  const on = (p: { host: string; port: number }, h: string) => {
    if (h === hex && p.port === port && p.host === '127.0.0.1') found = true;
  };
  d.on('peer', on);
  try {
    for (let i = 0; i < walks && !found; i++) {
      await d.lookup(infoHash);
      if (!found) await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    d.off('peer', on);
  }
  return found;
}

describe('DHT on loopback', () => {
  const nodes: Dht[] = [];
  after(async () => {
    for (const n of nodes) await n.close();
  });

  it('finds a peer another node announced', async () => {
    const a = await node();
    const b = await node([a]);
    const c = await node([a]);
    nodes.push(a, b, c);
    const ih = new Uint8Array(20).fill(0x42);
    await c.announce(ih, 7001);
    assert.ok(await findPeer(b, ih, 7001), 'b finds the port c announced');
    assert.ok(!(await findPeer(b, new Uint8Array(20).fill(0x43), 7001, 1)), 'nothing for another infohash');
  });

  it('stores a signed feed pointer under a public key, and returns only the newest validly signed one', async () => {
    const [a, b, c] = nodes as [Dht, Dht, Dht];
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = rawPublicKey(publicKey);
    const signer = (m: Uint8Array) => new Uint8Array(sign(null, m, privateKey));
    const ih1 = new Uint8Array(20).fill(1);
    const ih2 = new Uint8Array(20).fill(2);
    assert.ok((await c.putFeedPointer({ publicKey: pub, product: 'distro', seq: 1, pointer: { infoHash: ih1, release: '1.00' }, sign: signer })) > 0);
    const first = await b.getFeedPointer(pub, 'distro');
    assert.deepEqual([first?.seq, first?.pointer.release, new Uint8Array(first?.pointer.infoHash ?? [])], [1, '1.00', ih1]);
    await c.putFeedPointer({ publicKey: pub, product: 'distro', seq: 2, pointer: { infoHash: ih2, release: '1.01', feedSha256: new Uint8Array(32).fill(9) }, sign: signer });
    const got = await a.getFeedPointer(pub, 'distro');
    assert.equal(got?.seq, 2);
    assert.equal(got?.pointer.release, '1.01');
    assert.deepEqual(new Uint8Array(got!.pointer.infoHash), ih2);
    // Another key's signature over the same item is refused by every node.
    const other = generateKeyPairSync('ed25519');
    await assert.rejects(
      c.putFeedPointer({ publicKey: pub, product: 'distro', seq: 3, pointer: { infoHash: ih1, release: '6.66' }, sign: (m) => new Uint8Array(sign(null, m, other.privateKey)) }),
    );
    assert.equal((await b.getFeedPointer(pub, 'distro'))?.pointer.release, '1.01');
    assert.equal(await b.getFeedPointer(pub, 'other-product'), undefined);
  });

  it('signs and checks items as BEP 44 says (its test vector layout)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const v = encodeFeedPointer({ infoHash: new Uint8Array(20).fill(3), release: '2.0' });
    const msg = signingInput(4, v, new TextEncoder().encode('foobar'));
    assert.equal(Buffer.from(msg).toString('latin1').slice(0, 26), '4:salt6:foobar3:seqi4e1:vd');
    const sig = new Uint8Array(sign(null, msg, privateKey));
    assert.ok(verifyItemSignature(sig, msg, rawPublicKey(publicKey)));
    assert.ok(!verifyItemSignature(sig, signingInput(5, v, new TextEncoder().encode('foobar')), rawPublicKey(publicKey)));
    assert.equal(mutableTarget(rawPublicKey(publicKey)).length, 20);
    assert.throws(() => decodeFeedPointer(new Uint8Array(Buffer.from('d2:ih3:abce'))), /ih is not a 20-byte infohash/);
  });

  it('keeps its routing table and id in the catalog, and rejoins from them alone', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const [a] = nodes as [Dht];
    const ih = new Uint8Array(20).fill(0x55);
    const first = openCatalog(tmp.dir);
    const d1 = await startWithState(first, { port: 0, bindHost: '127.0.0.1', bootstrap: [`127.0.0.1:${a.port}`] });
    await d1.ready();
    const id = d1.nodeId;
    await closeWithState(d1, first);
    const kept = first.dhtState();
    first.close();
    assert.deepEqual(kept.nodeId, id);
    assert.ok(kept.nodes.some((n) => n.port === a.port), 'the bootstrap node was kept');
    await nodes[2]!.announce(ih, 7002);
    const again = openCatalog(tmp.dir);
    t.after(() => again.close());
    const d2 = await startWithState(again, { port: 0, bindHost: '127.0.0.1', bootstrap: [] });
    try {
      await d2.ready();
      assert.deepEqual(d2.nodeId, id, 'same node id');
      assert.ok(await findPeer(d2, ih, 7002), 'found through the kept nodes, with no bootstrap given');
    } finally {
      await d2.close();
    }
  });
});

const LT_NODE = `
import sys, time, os, libtorrent as lt
bootstrap, data = sys.argv[1], sys.argv[2]
ses = lt.session({'enable_dht': True, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
  'listen_interfaces': '127.0.0.1:0', 'dht_bootstrap_nodes': bootstrap,
  'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False, 'dht_enforce_node_id': False,
  'dht_prefer_verified_node_ids': False, 'alert_mask': lt.alert.category_t.dht_operation_notification})
fs = lt.file_storage(); lt.add_files(fs, data)
ct = lt.create_torrent(fs, 16384); lt.set_piece_hashes(ct, os.path.dirname(data))
ti = lt.torrent_info(lt.bencode(ct.generate()))
ses.add_torrent({'ti': ti, 'save_path': os.path.dirname(data)})
print('READY %d %s' % (ses.listen_port(), ti.info_hashes().v1), flush=True)
target = lt.sha1_hash(bytes.fromhex(sys.stdin.readline().strip()))
t0 = time.time()
while time.time() - t0 < 60:
    ses.dht_get_peers(target)
    time.sleep(0.5)
    for a in ses.pop_alerts():
        if a.what() == 'dht_get_peers_reply':
            for p in a.peers():
                print('PEER %s %d' % (p[0], p[1]), flush=True)
`;

describe('DHT with a libtorrent node', { skip: needTools('libtorrent') }, () => {
  it('isosync finds a libtorrent seeder through the DHT, and libtorrent finds what isosync announced', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const { writeFileSync } = await import('node:fs');
    const data = `${tmp.dir}/seed.bin`;
    writeFileSync(data, Buffer.alloc(50_000, 7));
    const a = await node();
    const b = await node([a]);
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const py: ChildProcess = spawn('/usr/bin/python3', ['-c', LT_NODE, `127.0.0.1:${a.port}`, data], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => py.kill());
    const lines = createInterface({ input: py.stdout! });
    const it = lines[Symbol.asyncIterator]();
    const ready = /^READY (\d+) ([0-9a-f]{40})$/.exec(String((await it.next()).value));
    assert.ok(ready, 'libtorrent started');
    const ltPort = Number(ready[1]);
    const ltHash = Buffer.from(ready[2]!, 'hex');
    assert.ok(await findPeer(b, ltHash, ltPort, 40), 'isosync found the libtorrent seeder');
    const ours = new Uint8Array(20).fill(0x77);
    await b.announce(ours, 7003);
    py.stdin!.write(`${Buffer.from(ours).toString('hex')}\n`);
    let seen = false;
    for (let line = await it.next(); !line.done; line = await it.next()) {
      if (line.value === 'PEER 127.0.0.1 7003') {
        seen = true;
        break;
      }
    }
    assert.ok(seen, 'libtorrent got the peer isosync announced');
  });
});
