/**
 * `isosync tracker` on both of its transports: Node's TCP and UDP handles
 * (tcp-links.ts, udp-handles.ts), and node:net and node:dgram, the
 * fallback. HTTP (lean-http.ts): keep-alive, pipelining, closing, bad
 * requests, the peer's address, listen errors; UDP (BEP 15): connect,
 * announce, scrape, the peer's address and a port in use. Real sockets on
 * 127.0.0.1 and ::1.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { percentEncodeBytes } from '../../src/tracker/announce-query.js';
import { decodeCompactPeers } from '../../src/tracker/compact-peers.js';
import { startTracker } from '../../src/tracker/http-server.js';
import { bindings } from '../../src/tracker/tcp-links.js';
import { udpBindings } from '../../src/tracker/udp-handles.js';
import * as wire from '../../src/tracker/udp-wire.js';

const IH = percentEncodeBytes(Buffer.from('5a'.repeat(20), 'hex'));
const pid = (n: number): string => percentEncodeBytes(Buffer.from(`-LH0000-${String(n).padStart(12, '0')}`, 'latin1'));
const get = (query: string, headers = ''): string => `GET /announce?${query} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

/**
 * Sends `chunks` (one write each, in order) and resolves with everything received, when the server
 * closes or after `idleMs` of silence. With `gapMs`, each chunk is written that long after the one
 * before, and nothing is read until all are written.
 */
function exchange(port: number, chunks: string[], idleMs = 0, gapMs = 0): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (closedByServer: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closedByServer });
    };
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      if (idleMs > 0) {
        clearTimeout(timer);
        timer = setTimeout(() => done(false), idleMs);
      }
    });
    s.on('end', () => done(true));
    s.on('error', () => done(true));
    s.on('connect', async () => {
      if (gapMs === 0) for (const c of chunks) s.write(c);
      else {
        s.pause();
        for (const c of chunks) {
          s.write(c);
          await new Promise((r) => setTimeout(r, gapMs));
        }
        s.resume();
      }
    });
  });
}

function replies(text: string): { status: number; body: Buffer }[] {
  const out: { status: number; body: Buffer }[] = [];
  let rest = Buffer.from(text, 'latin1');
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.subarray(0, end).toString('latin1');
    const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status: Number(head.slice(9, 12)), body: rest.subarray(end + 4, end + 4 + len) });
    rest = rest.subarray(end + 4 + len);
  }
  return out;
}

const transports = [
  { name: "Node's handles", nodeSockets: false },
  { name: 'node:net and node:dgram', nodeSockets: true },
];

test("Node's TCP and UDP handles are there on this Node (else the tracker silently serves through node:net and node:dgram)", () => {
  assert.ok(bindings());
  assert.ok(udpBindings());
});

/** One UDP exchange: sends `packet` from `sock` to host:port and resolves with the first reply. */
function udpAsk(sock: dgram.Socket, host: string, port: number, packet: Uint8Array): Promise<Buffer> {
  return new Promise((resolve) => {
    sock.once('message', (m: Buffer) => resolve(m));
    sock.send(packet, port, host);
  });
}

for (const { name, nodeSockets } of transports) {
  test(`${name}: keep-alive, pipelined requests answered in order, Connection: close honoured`, async () => {
    const t = await startTracker({ host: '127.0.0.1', port: 0, nodeSockets, interval: 120 });
    try {
      // Two pipelined requests in one write, then one more: all three on one connection, the last closes it.
      const r = await exchange(t.httpPort, [get(`info_hash=${IH}&peer_id=${pid(1)}&port=6001&left=1`) + get(`info_hash=${IH}&peer_id=${pid(2)}&port=6002&left=1`), get(`info_hash=${IH}&peer_id=${pid(3)}&port=6003&left=0&compact=1`, 'Connection: close\r\n')]);
      assert.equal(r.closedByServer, true);
      const rs = replies(r.text);
      assert.deepEqual(rs.map((x) => x.status), [200, 200, 200]);
      const last = decodeBencode(rs[2]!.body).value as BDict;
      assert.equal(last.get('incomplete'), 2);
      assert.equal(last.get('complete'), 1);
      // The peers handed out carry the socket's address (getpeername), not a stored or made-up one.
      const peers = decodeCompactPeers(last.get('peers') as Uint8Array, 4);
      assert.deepEqual(peers.map((p) => `${p.host}:${p.port}`).sort(), ['127.0.0.1:6001', '127.0.0.1:6002']);
      // HTTP/1.1 without Connection: close stays open (the client ends it here, after 300 ms of silence).
      const open = await exchange(t.httpPort, [get(`info_hash=${IH}&peer_id=${pid(4)}&port=6004&left=1`)], 300);
      assert.equal(open.closedByServer, false);
      assert.equal(replies(open.text).length, 1);
      // HTTP/1.0 closes unless asked to keep alive.
      const old = await exchange(t.httpPort, [`GET /announce?info_hash=${IH}&peer_id=${pid(5)}&port=6005 HTTP/1.0\r\n\r\n`]);
      assert.equal(old.closedByServer, true);
      assert.equal(replies(old.text)[0]!.status, 200);
    } finally {
      await t.close();
    }
  });

  test(`${name}: bad requests get 400, 404, 405 or 431 and the server keeps serving`, async () => {
    const t = await startTracker({ host: '127.0.0.1', port: 0, nodeSockets });
    try {
      const bad = await exchange(t.httpPort, ['NOT HTTP AT ALL\r\n\r\n']);
      assert.equal(replies(bad.text)[0]!.status, 400);
      assert.equal(bad.closedByServer, true);
      const notFound = await exchange(t.httpPort, ['GET /index.html HTTP/1.1\r\nConnection: close\r\n\r\n']);
      assert.equal(replies(notFound.text)[0]!.status, 404);
      const post = await exchange(t.httpPort, ['POST /announce HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc']);
      assert.equal(replies(post.text)[0]!.status, 405);
      // A head far over the limit, still being sent after the server answered it (and read only then): the 431 arrives,
      // as the server lingers rather than closing outright (which would answer the late bytes with a reset).
      const huge = await exchange(t.httpPort, [`GET /announce?x=${'a'.repeat(20_000)}`, 'a'.repeat(10_000), ' HTTP/1.1\r\n\r\n'], 0, 100);
      assert.equal(replies(huge.text)[0]!.status, 431);
      const ok = await exchange(t.httpPort, [get(`info_hash=${IH}&peer_id=${pid(1)}&port=6001`, 'Connection: close\r\n')]);
      assert.equal(replies(ok.text)[0]!.status, 200);
    } finally {
      await t.close();
    }
  });

  test(`${name}: a port in use is refused with EADDRINUSE; a host name listens`, async () => {
    const t = await startTracker({ host: '127.0.0.1', port: 0, nodeSockets });
    try {
      await assert.rejects(startTracker({ host: '127.0.0.1', port: t.httpPort, nodeSockets }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
      const named = await startTracker({ host: 'localhost', port: 0, nodeSockets });
      await named.close();
    } finally {
      await t.close();
    }
  });

  for (const host of ['127.0.0.1', '::1']) {
    test(`${name}: UDP on ${host}: connect, announces that see each other at the socket's address and port, scrape`, async () => {
      const t = await startTracker({ host, port: 0, udp: true, nodeSockets, interval: 120 });
      const socks = [dgram.createSocket(host === '::1' ? 'udp6' : 'udp4'), dgram.createSocket(host === '::1' ? 'udp6' : 'udp4')];
      try {
        await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, host, () => r()))));
        const ih = Buffer.from('6b'.repeat(20), 'hex');
        const announce = async (s: dgram.Socket, n: number, left: number): Promise<wire.UdpAnnounceReply> => {
          const cid = wire.decodeConnectReply(await udpAsk(s, host, t.udpPort!, wire.encodeConnect(n)));
          const r = await udpAsk(s, host, t.udpPort!, wire.encodeAnnounce({ connectionId: cid, transactionId: n + 1, infoHash: ih, peerId: Buffer.alloc(20, n), downloaded: 0, left, uploaded: 0, event: 'started', ip: 0, key: n, numWant: 10, port: 7000 + n }));
          assert.deepEqual(wire.replyHeader(r), { action: wire.ACTION.announce, transactionId: n + 1 });
          return wire.decodeAnnounceReply(r, host === '::1' ? 6 : 4);
        };
        assert.equal((await announce(socks[0]!, 10, 0)).peers.length, 0);
        const second = await announce(socks[1]!, 20, 5);
        assert.equal(second.seeders, 1);
        assert.equal(second.leechers, 1);
        assert.deepEqual(second.peers.map((p) => `${p.host}:${p.port}`), [`${host}:7010`]);
        const cid = wire.decodeConnectReply(await udpAsk(socks[0]!, host, t.udpPort!, wire.encodeConnect(30)));
        const sc = wire.decodeScrapeReply(await udpAsk(socks[0]!, host, t.udpPort!, wire.encodeScrape(cid, 31, [ih])), 1);
        assert.deepEqual(sc, [{ seeders: 1, completed: 0, leechers: 1 }]);
        // The UDP port is the HTTP port's number: taken already, the tracker does not start.
        const busy = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
        await new Promise<void>((r) => busy.bind(0, host, () => r()));
        await assert.rejects(startTracker({ host, port: busy.address().port, udp: true, nodeSockets }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
        busy.close();
      } finally {
        for (const s of socks) s.close();
        await t.close();
      }
    });
  }
}
