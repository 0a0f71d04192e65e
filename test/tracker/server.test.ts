/**
 * isosync's tracker server (startTracker, as `isosync tracker` runs it) on
 * 127.0.0.1: announce and scrape replies, and every kind of bad request
 * getting a failure reason or a 4xx while the server stays up.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { percentEncodeBytes } from '../../src/tracker/announce-query.js';
import { decodeCompactPeers } from '../../src/tracker/compact-peers.js';
import { startTracker, type RunningTracker } from '../../src/tracker/http-server.js';
import * as wire from '../../src/tracker/udp-wire.js';

let t: RunningTracker;
const IH = Buffer.from('44'.repeat(20), 'hex');
const ih = percentEncodeBytes(IH);
const pid = (n: number): string => percentEncodeBytes(Buffer.from(`-XX0000-${String(n).padStart(12, '0')}`, 'latin1'));

before(async () => {
  t = await startTracker({ host: '127.0.0.1', port: 0, udp: true, interval: 120, minInterval: 30, maxNumwant: 5, headersTimeoutMs: 800, trustIp: true });
});
after(async () => {
  await t.close();
});

function get(path: string, method = 'GET'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: t.httpPort, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function announce(query: string): Promise<BDict> {
  const r = await get(`/announce?${query}`);
  assert.equal(r.status, 200);
  return decodeBencode(r.body).value as BDict;
}

function failure(d: BDict): string | undefined {
  const f = d.get('failure reason');
  return f instanceof Uint8Array ? Buffer.from(f).toString() : undefined;
}

test('announce: compact peers4 and peers6, interval and min interval, numwant capped at maxNumwant', async () => {
  // ip= is trusted (trustIp), so one test process stands in for many hosts.
  for (let n = 1; n <= 8; n++) assert.equal(failure(await announce(`info_hash=${ih}&peer_id=${pid(n)}&port=${6000 + n}&left=10&ip=10.0.0.${n}`)), undefined);
  await announce(`info_hash=${ih}&peer_id=${pid(9)}&port=7000&left=0&ip=2001:db8::9`);
  const d = await announce(`info_hash=${ih}&peer_id=${pid(10)}&port=7001&left=10&numwant=1000000000&ip=10.0.0.99`);
  assert.equal(d.get('interval'), 120);
  assert.equal(d.get('min interval'), 30);
  assert.equal(d.get('complete'), 1);
  assert.equal(d.get('incomplete'), 9);
  const v4 = decodeCompactPeers(d.get('peers') as Uint8Array, 4);
  const v6 = d.has('peers6') ? decodeCompactPeers(d.get('peers6') as Uint8Array, 6) : [];
  assert.equal(v4.length + v6.length, 5, 'numwant=1000000000 is capped at 5');
  assert.ok(v4.every((p) => /^10\.0\.0\.[1-8]$/.test(p.host) && p.port === 6000 + Number(p.host.split('.')[3])));
  assert.ok(v6.every((p) => p.host === '2001:db8::9' && p.port === 7000));
});

test('announce: the dictionary model on compact=0, without peer ids on no_peer_id=1', async () => {
  const d = await announce(`info_hash=${ih}&peer_id=${pid(11)}&port=7002&left=10&compact=0&numwant=200&ip=10.0.1.1`);
  const peers = d.get('peers') as BDict[];
  assert.equal(peers.length, 5);
  for (const p of peers) {
    assert.ok(p.get('ip') instanceof Uint8Array);
    assert.equal(typeof p.get('port'), 'number');
    assert.equal((p.get('peer id') as Uint8Array).length, 20);
  }
  const n = await announce(`info_hash=${ih}&peer_id=${pid(11)}&port=7002&left=10&compact=0&no_peer_id=1&ip=10.0.1.1`);
  assert.ok((n.get('peers') as BDict[]).every((p) => !p.has('peer id')));
});

test('scrape counts completed, seeders and leechers; stopped removes the peer', async () => {
  const other = percentEncodeBytes(Buffer.from('55'.repeat(20), 'hex'));
  await announce(`info_hash=${other}&peer_id=${pid(1)}&port=8001&left=10&event=started&ip=10.0.2.1`);
  await announce(`info_hash=${other}&peer_id=${pid(2)}&port=8002&left=10&event=started&ip=10.0.2.2`);
  await announce(`info_hash=${other}&peer_id=${pid(1)}&port=8001&left=0&event=completed&ip=10.0.2.1`);
  await announce(`info_hash=${other}&peer_id=${pid(2)}&port=8002&left=10&event=stopped&ip=10.0.2.2`);
  const r = await get(`/scrape?info_hash=${other}&info_hash=${percentEncodeBytes(Buffer.alloc(20))}`);
  const files = (decodeBencode(r.body).value as BDict).get('files') as BDict;
  assert.deepEqual(Object.fromEntries(files.get(Buffer.from('55'.repeat(20), 'hex').toString('latin1')) as BDict), { complete: 1, downloaded: 0 + 1, incomplete: 0 });
  assert.deepEqual(Object.fromEntries(files.get(Buffer.alloc(20).toString('latin1')) as BDict), { complete: 0, downloaded: 0, incomplete: 0 });
  const s = t.tracker.swarms().find((x) => x.infoHash === '55'.repeat(20));
  assert.deepEqual(s, { infoHash: '55'.repeat(20), seeders: 1, leechers: 0, completed: 1 });
});

test('bad announces get HTTP 200 with a failure reason naming the problem', async () => {
  const cases: [string, RegExp][] = [
    [`info_hash=${ih.slice(0, 9)}&peer_id=${pid(1)}&port=1`, /"info_hash": \d+ bytes, expected 20/],
    [`info_hash=${ih}AAAA&peer_id=${pid(1)}&port=1`, /"info_hash": 24 bytes, expected 20/],
    [`info_hash=${ih}&peer_id=${pid(1)}`, /missing "port"/],
    [`info_hash=${ih}&peer_id=${pid(1)}&port=abc`, /invalid "port" "abc"/],
    [`info_hash=${ih}&peer_id=${pid(1)}&port=1&numwant=1e9`, /invalid "numwant" "1e9"/],
    [`info_hash=${ih}&peer_id=${pid(1)}&port=1&uploaded=-1`, /invalid "uploaded"/],
    [`info_hash=${ih}&peer_id=${pid(1)}&port=1&event=hacked`, /unknown "event"/],
    [`info_hash=${ih}&peer_id=%ZZ&port=1`, /malformed percent-encoding/],
    ['', /missing "info_hash"/],
  ];
  for (const [q, re] of cases) assert.match(failure(await announce(q)) ?? '(no failure)', re, q);
  assert.match(failure(decodeBencode((await get('/scrape')).body).value as BDict)!, /full scrape is not supported/);
});

test('paths that are not exactly /announce or /scrape are not the tracker: 404; other methods 405', async () => {
  for (const p of ['/announce/../../etc/passwd', '/../announce', '/%2e%2e/announce', '/announce%00', '/announce.php', '/scrape/x', '//announce']) {
    assert.equal((await get(`${p}?info_hash=${ih}`)).status, 404, p);
  }
  assert.equal((await get(`/announce?info_hash=${ih}`, 'POST')).status, 405);
  const head = await get(`/announce?info_hash=${ih}&peer_id=${pid(1)}&port=1`, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('a huge request line gets 431 and a slow half-sent request is dropped, while others are served', async () => {
  assert.equal((await get(`/announce?x=${'a'.repeat(20_000)}`)).status, 431);
  const slow = net.connect(t.httpPort, '127.0.0.1');
  slow.write(`GET /announce?info_hash=${ih}&peer_id=`);
  const closed = new Promise<string>((resolve) => {
    let got = '';
    slow.setEncoding('utf8').on('data', (d: string) => (got += d));
    slow.on('close', () => resolve(got));
    slow.on('error', () => resolve(got));
  });
  // The server answers others meanwhile ...
  const d = await announce(`info_hash=${ih}&peer_id=${pid(1)}&port=1&left=3`);
  assert.equal(failure(d), undefined);
  // ... and drops the slow one after its headers timeout (800 ms here).
  const t0 = Date.now();
  const reply = await closed;
  assert.ok(Date.now() - t0 < 5000);
  assert.ok(reply === '' || /^HTTP\/1\.1 408/.test(reply), JSON.stringify(reply));
});

test('UDP: malformed packets are ignored or answered with an error action, and the tracker keeps serving', async () => {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const replies: Buffer[] = [];
  s.on('message', (m) => replies.push(m));
  const send = async (b: Uint8Array): Promise<Buffer | undefined> => {
    const before = replies.length;
    s.send(b, t.udpPort!, '127.0.0.1');
    for (let i = 0; i < 40 && replies.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    return replies[before];
  };
  try {
    assert.equal(await send(Buffer.from('short')), undefined, 'too short to carry a transaction id: no reply');
    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(9, 8);
    unknown.writeUInt32BE(1234, 12);
    let r = (await send(unknown))!;
    assert.deepEqual(wire.replyHeader(r), { action: 3, transactionId: 1234 });
    assert.equal(wire.decodeErrorReply(r), 'unknown action 9');
    const stale = wire.encodeAnnounce({ connectionId: 0xbadn, transactionId: 5, infoHash: IH, peerId: new Uint8Array(20), downloaded: 0, left: 0, uploaded: 0, event: '', ip: 0, key: 0, numWant: 5, port: 1 });
    r = (await send(stale))!;
    assert.equal(wire.decodeErrorReply(r), 'connection id expired or invalid');
    const conn = (await send(wire.encodeConnect(77)))!;
    assert.deepEqual(wire.replyHeader(conn), { action: 0, transactionId: 77 });
    const cid = wire.decodeConnectReply(conn);
    r = (await send(wire.encodeAnnounce({ connectionId: cid, transactionId: 78, infoHash: IH, peerId: new Uint8Array(20), downloaded: 0, left: 0, uploaded: 0, event: '', ip: 0, key: 0, numWant: 5, port: 0 })))!;
    assert.equal(wire.decodeErrorReply(r), 'invalid port 0');
    r = (await send(wire.encodeAnnounce({ connectionId: cid, transactionId: 79, infoHash: IH, peerId: new Uint8Array(20), downloaded: 0, left: 0, uploaded: 0, event: 'started', ip: 0, key: 0, numWant: 500, port: 9999 })))!;
    assert.deepEqual(wire.replyHeader(r), { action: 1, transactionId: 79 });
    const a = wire.decodeAnnounceReply(r, 4);
    assert.equal(a.interval, 120);
    assert.ok(a.peers.length <= 5 && a.peers.length > 0, 'capped at maxNumwant, only IPv4 peers over IPv4');
    const sc = (await send(wire.encodeScrape(cid, 80, [IH])))!;
    assert.equal(wire.decodeScrapeReply(sc, 1)[0]!.seeders, 2);
  } finally {
    s.close();
  }
});
