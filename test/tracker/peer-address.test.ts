/**
 * Which address the tracker hands out for an announcer: the socket's,
 * unless the request names another (HTTP ip=, BEP 15 "IP address") and
 * both are loopback, or the tracker was told to trust it (trustIp). A
 * client on 127.0.0.1 that names 10.77.0.2, where it does not listen, must
 * be handed out as 127.0.0.1.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { percentEncodeBytes } from '../../src/tracker/announce-query.js';
import { decodeCompactPeers } from '../../src/tracker/compact-peers.js';
import { startTracker, type RunningTracker } from '../../src/tracker/http-server.js';
import * as wire from '../../src/tracker/udp-wire.js';

let plain: RunningTracker;
let trusting: RunningTracker;
const pid = (n: number): Buffer => Buffer.from(`-XX0000-${String(n).padStart(12, '0')}`, 'latin1');

before(async () => {
  plain = await startTracker({ host: '127.0.0.1', port: 0, udp: true });
  trusting = await startTracker({ host: '127.0.0.1', port: 0, udp: true, trustIp: true });
});
after(async () => {
  await plain.close();
  await trusting.close();
});

/** Announces over HTTP and returns the compact IPv4 peers as "host:port". */
function httpAnnounce(t: RunningTracker, ih: Buffer, n: number, port: number, ip?: string): Promise<string[]> {
  const q = `info_hash=${percentEncodeBytes(ih)}&peer_id=${percentEncodeBytes(pid(n))}&port=${port}&left=10&numwant=50${ip ? `&ip=${ip}` : ''}`;
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: t.httpPort, path: `/announce?${q}`, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const d = decodeBencode(Buffer.concat(chunks)).value as BDict;
          resolve(decodeCompactPeers(d.get('peers') as Uint8Array, 4).map((p) => `${p.host}:${p.port}`));
        });
      })
      .on('error', reject);
  });
}

/** Connects and announces over UDP with the given BEP 15 IP field; returns the peers as "host:port". */
async function udpAnnounce(t: RunningTracker, ih: Buffer, n: number, port: number, ip: number): Promise<string[]> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const exchange = (packet: Uint8Array): Promise<Buffer> =>
      new Promise((resolve) => {
        sock.once('message', (m) => resolve(m));
        sock.send(packet, t.udpPort!, '127.0.0.1');
      });
    const connectionId = wire.decodeConnectReply(await exchange(wire.encodeConnect(1)));
    const reply = await exchange(
      wire.encodeAnnounce({ connectionId, transactionId: 2, infoHash: ih, peerId: pid(n), downloaded: 0, left: 10, uploaded: 0, event: 'started', ip, key: 0, numWant: 50, port }),
    );
    return wire.decodeAnnounceReply(reply, 4).peers.map((p) => `${p.host}:${p.port}`);
  } finally {
    sock.close();
  }
}

const ipv4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

test('HTTP ip=: a non-loopback address from a loopback client is not believed; another loopback address is; trustIp believes any', async () => {
  const ih = Buffer.alloc(20, 0x61);
  await httpAnnounce(plain, ih, 1, 7001, '10.77.0.2');
  await httpAnnounce(plain, ih, 2, 7002, '127.0.0.9');
  await httpAnnounce(plain, ih, 3, 7003, 'not-an-address');
  assert.deepEqual((await httpAnnounce(plain, ih, 4, 7004)).sort(), ['127.0.0.1:7001', '127.0.0.1:7003', '127.0.0.9:7002']);
  await httpAnnounce(trusting, ih, 1, 7001, '10.77.0.2');
  assert.deepEqual(await httpAnnounce(trusting, ih, 4, 7004), ['10.77.0.2:7001']);
});

test('BEP 15 IP field: the same rule over UDP', async () => {
  const ih = Buffer.alloc(20, 0x62);
  await udpAnnounce(plain, ih, 1, 8001, ipv4(10, 77, 0, 2));
  await udpAnnounce(plain, ih, 2, 8002, ipv4(127, 0, 0, 9));
  assert.deepEqual((await udpAnnounce(plain, ih, 3, 8003, 0)).sort(), ['127.0.0.1:8001', '127.0.0.9:8002']);
  await udpAnnounce(trusting, ih, 1, 8001, ipv4(10, 77, 0, 2));
  assert.deepEqual(await udpAnnounce(trusting, ih, 3, 8003, 0), ['10.77.0.2:8001']);
});
