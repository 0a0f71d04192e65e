/** The tracker's packed structures: peer lists, address keys, IPv4 text, connection ids, peer picks (no socket, no timer). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionIds } from '../../src/tracker/connection-ids.js';
import { encodeCompactV4, encodeCompactV6 } from '../../src/tracker/compact-peers.js';
import { PeerList, peerKey, writeIPv4 } from '../../src/tracker/peer-list.js';
import { SwarmTable } from '../../src/tracker/swarm-table.js';
import { seeded } from './helpers.js';

const id = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const v4 = (host: string, port: number): Uint8Array => encodeCompactV4(host, port)!;

test('peer list: entries packed side by side; swap-remove moves the last entry and names it; capacity grows and shrinks', () => {
  const l = new PeerList(6);
  const entries = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => v4(`10.0.0.${n}`, 6000 + n));
  entries.forEach((e, i) => assert.equal(l.add(peerKey(e, 0, 6), e, 0, id(i + 1), 1000 + i), i));
  assert.equal(l.count, 9);
  assert.deepEqual(l.bytes.subarray(0, 12), new Uint8Array([...entries[0]!, ...entries[1]!]));
  // Removing slot 2 moves the last (10.0.0.9) into it, with its id and expiry.
  assert.equal(l.removeAt(2), peerKey(entries[8]!, 0, 6));
  assert.deepEqual(l.bytes.subarray(12, 18), entries[8]);
  assert.deepEqual(l.ids.subarray(40, 60), id(9));
  assert.equal(l.expires[2], 1008);
  assert.equal(l.keyAt(2), peerKey(entries[8]!, 0, 6));
  // Removing the last entry moves nothing.
  assert.equal(l.removeAt(l.count - 1), undefined);
  while (l.count > 1) l.removeAt(0);
  assert.ok(l.expires.length <= 8, `capacity shrank with the list (${l.expires.length})`);
  const out = new Uint8Array(8);
  assert.equal(l.copyEntry(0, out, 2), 8);
  assert.deepEqual(out.subarray(2), l.bytes.subarray(0, 6));
});

test('peer keys: IPv4 as address * 65536 + port, IPv6 as 18 latin1 chars; distinct addresses and ports give distinct keys', () => {
  const cases: [Uint8Array, number | string][] = [
    [v4('0.0.0.0', 1), 1],
    [v4('10.0.0.1', 6881), (10 * 2 ** 24 + 1) * 65536 + 6881],
    [v4('255.255.255.255', 65535), 2 ** 48 - 1],
  ];
  for (const [c, k] of cases) assert.equal(peerKey(c, 0, 6), k);
  const six = encodeCompactV6('2001:db8::1', 6881)!;
  assert.equal(peerKey(six, 0, 18), Buffer.from(six).toString('latin1'));
  assert.notEqual(peerKey(v4('10.0.0.1', 1), 0, 6), peerKey(v4('10.0.1.1', 1), 0, 6));
  assert.notEqual(peerKey(v4('10.0.0.1', 1), 0, 6), peerKey(v4('10.0.0.1', 2), 0, 6));
});

test('IPv4 text: dotted quads only, each part 0-255 without leading zeros', () => {
  const out = new Uint8Array(4);
  const good: [string, number[]][] = [
    ['127.0.0.1', [127, 0, 0, 1]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['10.200.3.45', [10, 200, 3, 45]],
  ];
  for (const [text, bytes] of good) {
    assert.equal(writeIPv4(text, out, 0), true, text);
    assert.deepEqual([...out], bytes, text);
  }
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..3.4', '1.2.3.4.', '::1', '::ffff:1.2.3.4', 'a.b.c.d', '1.2.3.1000', ' 1.2.3.4']) {
    assert.equal(writeIPv4(bad, out, 0), false, bad);
  }
});

test('connection ids: the same for an address within its minute and the next, not for another address or later; 8 bytes written', () => {
  const ids = new ConnectionIds(new Uint8Array(16).fill(7), 2);
  const out = Buffer.alloc(10);
  ids.write('10.0.0.1', 100, out, 2);
  const hi = out.readUInt32BE(2);
  const lo = out.readUInt32BE(6);
  assert.equal(ids.valid('10.0.0.1', 100, hi, lo), true);
  assert.equal(ids.valid('10.0.0.1', 101, hi, lo), true, 'still valid in the next minute');
  assert.equal(ids.valid('10.0.0.1', 102, hi, lo), false, 'expired two minutes on');
  assert.equal(ids.valid('10.0.0.2', 100, hi, lo), false, 'another address');
  assert.equal(ids.valid('10.0.0.1', 100, hi, lo ^ 1), false);
  // Past its bound the memory is dropped; the ids stay the same (computed again from the secret).
  ids.valid('10.0.0.3', 100, 0, 0);
  ids.valid('10.0.0.4', 100, 0, 0);
  assert.equal(ids.valid('10.0.0.1', 100, hi, lo), true);
  const other = new ConnectionIds(new Uint8Array(16).fill(8), 2);
  assert.equal(other.valid('10.0.0.1', 100, hi, lo), false, 'another secret');
});

test('picks: numwant distinct peers, never the announcer; a seeder gets only leechers; UDP gets its own family; every peer equally likely', () => {
  const limits = { maxTorrents: 10, maxPeersPerTorrent: 1000, maxPeers: 1000, peerTtl: 60 };
  const t = new SwarmTable(limits, seeded(7));
  const IH = new Uint8Array(20).fill(1);
  const ann = (compact: Uint8Array, left: number, numwant: number, families: 'both' | 4 | 6 = 'both') =>
    t.announce({ infoHash: IH, peerId: id(1), compact, left, event: '', numwant, families }, 0);
  for (let n = 1; n <= 40; n++) ann(v4('10.0.0.1', n), n <= 10 ? 0 : 5, 0);
  ann(encodeCompactV6('2001:db8::1', 1)!, 5, 0);
  const cases: { name: string; compact: Uint8Array; left: number; numwant: number; families: 'both' | 4 | 6; count: number; check: (p: { host: string; port: number }) => boolean }[] = [
    { name: 'leecher, 10 of 41 others', compact: v4('10.0.0.1', 20), left: 5, numwant: 10, families: 'both', count: 10, check: (p) => p.port !== 20 || p.host !== '10.0.0.1' },
    { name: 'leecher, more than there are', compact: v4('10.0.0.1', 20), left: 5, numwant: 100, families: 'both', count: 40, check: (p) => p.port !== 20 || p.host !== '10.0.0.1' },
    { name: 'seeder: leechers only', compact: v4('10.0.0.1', 1), left: 0, numwant: 100, families: 'both', count: 31, check: (p) => p.host === '2001:db8::1' || p.port > 10 },
    { name: 'UDP over IPv4: no IPv6 peer', compact: v4('10.0.0.1', 20), left: 5, numwant: 100, families: 4, count: 39, check: (p) => p.host === '10.0.0.1' && p.port !== 20 },
    { name: 'UDP over IPv6: IPv6 peers only', compact: encodeCompactV6('2001:db8::2', 9)!, left: 5, numwant: 100, families: 6, count: 1, check: (p) => p.host === '2001:db8::1' },
    { name: 'numwant 0', compact: v4('10.0.0.1', 20), left: 5, numwant: 0, families: 'both', count: 0, check: () => true },
  ];
  for (const c of cases) {
    ann(c.compact, c.left, c.numwant, c.families);
    const peers = t.picked.peers();
    assert.equal(peers.length, c.count, c.name);
    assert.equal(new Set(peers.map((p) => `${p.host}:${p.port}`)).size, peers.length, `${c.name}: no duplicates`);
    assert.ok(peers.every(c.check), c.name);
  }
  // 2,000 picks of 5 from the 41 others of port 20 (the IPv6 announcer above included): each about 244 times (binomial sd ~15).
  const seen = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    ann(v4('10.0.0.1', 20), 5, 5);
    for (const p of t.picked.peers()) seen.set(`${p.host}:${p.port}`, (seen.get(`${p.host}:${p.port}`) ?? 0) + 1);
  }
  assert.equal(seen.size, 41);
  for (const [k, n] of seen) assert.ok(n > 150 && n < 350, `${k} picked ${n} times`);
});
