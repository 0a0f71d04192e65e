/** Pure tracker message modules: compact peers, HTTP replies, query strings, BEP 15 packets, tiers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAnnounceUrl, decodeQuery, parseAnnounceQuery, parseScrapeQuery, percentEncodeBytes, QueryFault, scrapeUrlOf, type QueryFaultCode } from '../../src/tracker/announce-query.js';
import { decodeCompactPeers, encodeCompactV4, encodeCompactV6, isIPv4, isIPv6, normalizeAddress } from '../../src/tracker/compact-peers.js';
import { parseAnnounceReply, parseScrapeReply } from '../../src/tracker/http-reply.js';
import { IsosyncError, TrackerRefusal } from '../../src/errors.js';
import { isError } from '../helpers/errors.js';
import { TierList } from '../../src/tracker/tiers.js';
import * as udp from '../../src/tracker/udp-wire.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { mulberry32 } from '../helpers/random.js';

const IH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const PID = Buffer.from('-IS0100-abcdefghijkl', 'latin1');

test('compact peers: IPv4 and IPv6 round-trip, port 0 entries skipped, ragged lengths refused', () => {
  const v4 = Buffer.concat([encodeCompactV4('10.0.0.1', 6881)!, encodeCompactV4('192.168.1.200', 0)!, encodeCompactV4('1.2.3.4', 65535)!]);
  assert.deepEqual(decodeCompactPeers(v4, 4), [{ host: '10.0.0.1', port: 6881 }, { host: '1.2.3.4', port: 65535 }]);
  const v6 = Buffer.concat([encodeCompactV6('2001:db8::1', 51413)!, encodeCompactV6('::1', 80)!, encodeCompactV6('fe80:0:0:1:0:0:0:2', 1)!]);
  assert.deepEqual(decodeCompactPeers(v6, 6), [{ host: '2001:db8::1', port: 51413 }, { host: '::1', port: 80 }, { host: 'fe80:0:0:1::2', port: 1 }]);
  assert.throws(() => decodeCompactPeers(new Uint8Array(7), 4), isError('BAD_REPLY', { field: 'peers', bytes: 7 }));
  assert.throws(() => decodeCompactPeers(new Uint8Array(20), 6), isError('BAD_REPLY', { field: 'peers6', bytes: 20 }));
  assert.equal(encodeCompactV4('::1', 1), undefined);
  assert.equal(encodeCompactV6('1.2.3.4', 1), undefined);
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
});

test('address syntax: dotted quads and IPv6 text forms only', () => {
  for (const ok of ['0.0.0.0', '127.0.0.1', '255.255.255.255']) assert.ok(isIPv4(ok), ok);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'example.org', '']) assert.ok(!isIPv4(bad), bad);
  for (const ok of ['::1', '::', '2001:db8::8:800:200c:417a', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8']) assert.ok(isIPv6(ok), ok);
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '1.2.3.4', '::ffff:1.2.3.999']) assert.ok(!isIPv6(bad), bad);
});

test('HTTP announce reply: compact, dictionary model, peers6, optional fields', () => {
  const compact = parseAnnounceReply(
    encodeBencode({
      complete: 3, incomplete: 4, interval: 1800, 'min interval': 900, 'tracker id': 'T1', 'warning message': 'be nice',
      peers: Buffer.concat([encodeCompactV4('10.1.2.3', 1000)!]), peers6: encodeCompactV6('2001:db8::2', 2000)!,
      'external ip': Buffer.from([9, 8, 7, 6]),
    }),
  );
  assert.deepEqual(compact.peers, [{ host: '10.1.2.3', port: 1000 }, { host: '2001:db8::2', port: 2000 }]);
  assert.equal(compact.interval, 1800);
  assert.equal(compact.minInterval, 900);
  assert.equal(compact.seeders, 3);
  assert.equal(compact.leechers, 4);
  assert.equal(Buffer.from(compact.trackerId!).toString(), 'T1');
  assert.equal(compact.warning, 'be nice');
  assert.equal(compact.externalIp, '9.8.7.6');
  const dict = parseAnnounceReply(encodeBencode({ interval: 60, peers: [{ ip: '10.0.0.9', port: 7, 'peer id': PID }, { ip: '[::1]', port: 8 }] }));
  assert.deepEqual(dict.peers, [{ host: '10.0.0.9', port: 7 }, { host: '::1', port: 8 }]);
  assert.deepEqual(Buffer.from(dict.peerIds.get('10.0.0.9:7')!), PID);
});

test('HTTP announce reply: failure reason and every malformed shape are errors with a reason', () => {
  assert.throws(() => parseAnnounceReply(encodeBencode({ 'failure reason': 'unregistered torrent' })), (e: unknown) => e instanceof TrackerRefusal && e.reason === 'unregistered torrent');
  // Each defect names the field at fault ('' for the reply as a whole); a reply that is not bencode keeps the decoder's error as its cause.
  const cases: [Uint8Array, Record<string, unknown>][] = [
    [Buffer.from('<html>500</html>'), { field: '' }],
    [Buffer.from('d8:intervali5e'), { field: '' }],
    [encodeBencode([1, 2]), { field: '' }],
    [encodeBencode({ peers: '' }), { field: 'interval' }],
    [encodeBencode({ interval: -1, peers: '' }), { field: 'interval' }],
    [encodeBencode({ interval: 5, peers: Buffer.alloc(7) }), { field: 'peers', bytes: 7 }],
    [encodeBencode({ interval: 5, peers: 3 }), { field: 'peers' }],
    [encodeBencode({ interval: 5, peers: '', peers6: Buffer.alloc(6) }), { field: 'peers6', bytes: 6 }],
    [encodeBencode({ interval: 5, peers: '', complete: 'x' }), { field: 'complete' }],
  ];
  for (const [bytes, fields] of cases) assert.throws(() => parseAnnounceReply(bytes), isError('BAD_REPLY', fields), Buffer.from(bytes).toString('latin1'));
  assert.throws(() => parseAnnounceReply(Buffer.from('d8:intervali5e')), (e: unknown) => e instanceof IsosyncError && (e.cause as IsosyncError).code === 'BAD_BENCODE');
});

test('HTTP announce reply: random bytes only ever give the project\'s own error, never a crash of another kind', () => {
  const rnd = mulberry32(7);
  const base = encodeBencode({ interval: 30, peers: Buffer.concat([encodeCompactV4('1.2.3.4', 5)!]), complete: 1 });
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(base);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    const cut = b.subarray(0, rnd() < 0.3 ? Math.floor(rnd() * b.length) : b.length);
    try {
      parseAnnounceReply(cut);
    } catch (e) {
      assert.ok(e instanceof IsosyncError && e.message.length > 0, String(e));
    }
  }
});

test('scrape reply: the entry of our infohash, absent entries undefined', () => {
  const files = new Map([[IH.toString('latin1'), { complete: 2, downloaded: 5, incomplete: 1 }]]);
  assert.deepEqual(parseScrapeReply(encodeBencode({ files }), IH), { complete: 2, incomplete: 1, downloaded: 5 });
  assert.equal(parseScrapeReply(encodeBencode({ files: new Map() }), IH), undefined);
  assert.throws(() => parseScrapeReply(encodeBencode({ nofiles: 1 }), IH), isError('BAD_REPLY', { field: 'files' }));
});

test('announce URL: binary ids percent-encoded byte by byte, existing query kept, scrape URL by BEP 48', () => {
  const bin = Buffer.from([0x00, 0x41, 0x7e, 0x20, 0xff, 0x2b]);
  assert.equal(percentEncodeBytes(bin), '%00A~%20%FF%2B');
  const url = buildAnnounceUrl('http://t.example/announce?passkey=abc', {
    infoHash: IH, peerId: PID, port: 6881, uploaded: 1, downloaded: 2, left: 3, event: 'started', numwant: 50, key: '0a0b0c0d',
  });
  assert.match(url, /^http:\/\/t\.example\/announce\?passkey=abc&info_hash=%01%23Eg%89%AB%CD%EF/);
  assert.match(url, /&port=6881&uploaded=1&downloaded=2&left=3&compact=1&numwant=50&key=0a0b0c0d&event=started$/);
  const q = parseAnnounceQuery(url.slice(url.indexOf('?') + 1));
  assert.ok(!(q instanceof QueryFault));
  assert.deepEqual(q.infoHash, IH);
  assert.deepEqual(q.peerId, PID);
  assert.equal(scrapeUrlOf('http://t/x/announce.php?k=1', [IH]), `http://t/x/scrape.php?k=1&info_hash=${percentEncodeBytes(IH)}`);
  assert.equal(scrapeUrlOf('http://t/a', [IH]), undefined);
});

test('announce query: every bad value gives a failure reason naming it', () => {
  const ih = percentEncodeBytes(IH);
  const pid = percentEncodeBytes(PID);
  const good = `info_hash=${ih}&peer_id=${pid}&port=6881&left=0`;
  const ok = parseAnnounceQuery(`${good}&numwant=1000000000&compact=0&no_peer_id=1&event=completed`);
  assert.ok(!(ok instanceof QueryFault));
  assert.equal(ok.numwant, 1000000000);
  assert.equal(ok.compact, false);
  assert.equal(ok.event, 'completed');
  // Each defect: its code, the parameter at fault, and the failure reason the client reads.
  const cases: [string, QueryFaultCode, string, RegExp][] = [
    [`peer_id=${pid}&port=1`, 'MISSING', 'info_hash', /missing "info_hash"/],
    [`info_hash=${percentEncodeBytes(IH.subarray(0, 19))}&peer_id=${pid}&port=1`, 'BAD_LENGTH', 'info_hash', /"info_hash": 19 bytes, expected 20/],
    [`info_hash=${ih}%41&peer_id=${pid}&port=1`, 'BAD_LENGTH', 'info_hash', /"info_hash": 21 bytes/],
    [`info_hash=${ih}&info_hash=${ih}&peer_id=${pid}&port=1`, 'REPEATED', 'info_hash', /given 2 times/],
    [`info_hash=${ih}&peer_id=abc&port=1`, 'BAD_LENGTH', 'peer_id', /"peer_id": 3 bytes/],
    [`info_hash=${ih}&peer_id=${pid}`, 'MISSING', 'port', /missing "port"/],
    [`info_hash=${ih}&peer_id=${pid}&port=0`, 'OUT_OF_RANGE', 'port', /"port" 0/],
    [`info_hash=${ih}&peer_id=${pid}&port=65536`, 'OUT_OF_RANGE', 'port', /"port" 65536/],
    [`info_hash=${ih}&peer_id=${pid}&port=-5`, 'BAD_NUMBER', 'port', /invalid "port"/],
    [`info_hash=${ih}&peer_id=${pid}&port=http`, 'BAD_NUMBER', 'port', /invalid "port" "http"/],
    [`${good}&numwant=1e9`, 'BAD_NUMBER', 'numwant', /invalid "numwant" "1e9"/],
    [`${good}&numwant=99999999999`, 'BAD_NUMBER', 'numwant', /invalid "numwant"/],
    [`info_hash=${ih}&peer_id=${pid}&port=1&left=abc`, 'BAD_NUMBER', 'left', /invalid "left" "abc"/],
    [`${good}&uploaded=${'9'.repeat(25)}`, 'BAD_NUMBER', 'uploaded', /invalid "uploaded"/],
    [`${good}&left=1`, 'REPEATED', 'left', /"left" given 2 times/],
    [`${good}&event=exploded`, 'BAD_EVENT', 'event', /unknown "event" "exploded"/],
    [`${good}&event=started&event=stopped`, 'REPEATED', 'event', /given 2 times/],
    [`${good}&compact=yes`, 'BAD_FLAG', 'compact', /invalid "compact"/],
    [`${good}&compact`, 'BAD_FLAG', 'compact', /invalid "compact" ""/],
    [`${good}&no_peer_id=2`, 'BAD_FLAG', 'no_peer_id', /invalid "no_peer_id"/],
    [`info_hash=%zz&peer_id=${pid}&port=1`, 'BAD_ESCAPE', '', /malformed percent-encoding/],
    [`${good}&x=%4`, 'BAD_ESCAPE', '', /malformed percent-encoding in "x=%4"/],
    [`${good}&x=${'a'.repeat(300)}`, 'VALUE_TOO_LONG', '', /too long/],
    [Array.from({ length: 70 }, (_, i) => `k${i}=1`).join('&'), 'TOO_MANY_PARAMS', '', /too many parameters \(70, at most 64\)/],
    ['', 'MISSING', 'info_hash', /missing "info_hash"/],
  ];
  for (const [q, code, key, re] of cases) {
    const r = parseAnnounceQuery(q);
    assert.ok(r instanceof QueryFault, q);
    assert.equal(r.code, code, q);
    assert.equal(r.key, key, q);
    assert.match(r.reason, re, q);
  }
  assert.equal(decodeQuery('a=%41%42&a=c').toString(), '[object Map]');
  assert.match(parseScrapeQuery('') as string, /full scrape is not supported/);
  assert.match(parseScrapeQuery('info_hash=abc') as string, /3 bytes/);
  assert.equal((parseScrapeQuery(`info_hash=${ih}&info_hash=${ih}`) as Buffer[]).length, 2);
});

test('BEP 15 packets: requests and replies round-trip through the field tables', () => {
  const conn = udp.encodeConnect(0xdeadbeef);
  assert.equal(conn.length, 16);
  const dc = udp.decodeRequest(conn)!;
  assert.deepEqual(dc.request, { action: 'connect', transactionId: 0xdeadbeef });
  const ann = udp.encodeAnnounce({
    connectionId: 0x1122334455667788n, transactionId: 7, infoHash: IH, peerId: PID, downloaded: 10, left: 2 ** 40, uploaded: 30,
    event: 'stopped', ip: 0, key: 0xffffffff, numWant: -1, port: 51413,
  });
  assert.equal(ann.length, 98);
  const da = udp.decodeRequest(ann)!.request!;
  assert.equal(da.action, 'announce');
  if (da.action !== 'announce') return;
  assert.equal(da.connectionId, 0x1122334455667788n);
  assert.deepEqual(Buffer.from(da.infoHash), IH);
  assert.equal(da.left, 2 ** 40);
  assert.equal(da.event, 'stopped');
  assert.equal(da.numWant, -1);
  assert.equal(da.key, 0xffffffff);
  assert.equal(da.port, 51413);
  const reply = udp.encodeAnnounceReply(7, { interval: 120, leechers: 2, seeders: 1 }, [encodeCompactV4('10.0.0.1', 1)!, encodeCompactV4('10.0.0.2', 2)!]);
  assert.deepEqual(udp.replyHeader(reply), { action: 1, transactionId: 7 });
  assert.deepEqual(udp.decodeAnnounceReply(reply, 4), { interval: 120, leechers: 2, seeders: 1, peers: [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }] });
  const sc = udp.decodeRequest(udp.encodeScrape(5n, 9, [IH, IH]))!.request!;
  assert.equal(sc.action === 'scrape' && sc.infoHashes.length, 2);
  assert.deepEqual(udp.decodeScrapeReply(udp.encodeScrapeReply(9, [{ seeders: 1, completed: 2, leechers: 3 }]), 1), [{ seeders: 1, completed: 2, leechers: 3 }]);
  assert.equal(udp.decodeErrorReply(udp.encodeErrorReply(9, 'nope\nnope')), 'nope nope');
  assert.equal(udp.decodeConnectReply(udp.encodeConnectReply(1, 42n)), 42n);
});

test('BEP 15 packets: malformed requests are refused with a reason or ignored when too short', () => {
  assert.equal(udp.decodeRequest(new Uint8Array(15)), undefined);
  const badMagic = udp.encodeConnect(3);
  badMagic[0] = 1;
  assert.equal(udp.decodeRequest(badMagic)!.error, 'bad protocol id');
  const shortAnnounce = new Uint8Array(50);
  new DataView(shortAnnounce.buffer).setUint32(8, 1);
  assert.match(udp.decodeRequest(shortAnnounce)!.error!, /below 98/);
  const unknown = new Uint8Array(16);
  new DataView(unknown.buffer).setUint32(8, 9);
  assert.equal(udp.decodeRequest(unknown)!.error, 'unknown action 9');
  const ev = udp.encodeAnnounce({ connectionId: 1n, transactionId: 1, infoHash: IH, peerId: PID, downloaded: 0, left: 0, uploaded: 0, event: '', ip: 0, key: 0, numWant: 1, port: 1 });
  new DataView(ev.buffer).setUint32(80, 17);
  assert.equal(udp.decodeRequest(ev)!.error, 'unknown event 17');
  const ragged = new Uint8Array(16 + 30);
  new DataView(ragged.buffer).setUint32(8, 2);
  assert.match(udp.decodeRequest(ragged)!.error!, /whole 20-byte/);
  assert.throws(() => udp.decodeAnnounceReply(new Uint8Array(19), 4), isError('BAD_REPLY', { bytes: 19 }));
  assert.throws(() => udp.decodeAnnounceReply(new Uint8Array(20 + 5), 4), isError('BAD_REPLY', { field: 'peers', bytes: 5 }));
  assert.throws(() => udp.decodeScrapeReply(new Uint8Array(10), 1), isError('BAD_REPLY', { bytes: 10 }));
});

test('tiers: preferred first, shuffled within a tier, answering tracker promoted, duplicates and unknown schemes dropped', () => {
  const rnd = mulberry32(1);
  const t = new TierList([['http://a/announce', 'http://b/announce', 'udp://c:1'], ['http://d/announce', 'wss://e'], ['http://a/announce']], ['http://local/announce', 'http://b/announce'], rnd);
  const s = t.snapshot();
  assert.deepEqual(s[0], ['http://local/announce', 'http://b/announce']);
  assert.deepEqual([...s[1]!].sort(), ['http://a/announce', 'udp://c:1']);
  assert.deepEqual(s[2], ['http://d/announce']);
  assert.equal(s.length, 3, 'the third tier held only a duplicate');
  assert.deepEqual(t.unsupported, ['wss://e']);
  const second = s[1]![1]!;
  t.promote(second);
  assert.equal(t.snapshot()[1]![0], second);
  // Shuffling is real: over many seeds both orders of a two-tracker tier occur.
  const firsts = new Set<string>();
  for (let seed = 0; seed < 20; seed++) firsts.add(new TierList([['x://1', 'http://p', 'http://q']], [], mulberry32(seed)).order()[0]!);
  assert.deepEqual([...firsts].sort(), ['http://p', 'http://q']);
});
