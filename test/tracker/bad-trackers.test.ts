/**
 * Trackers that misbehave (HTTP and UDP servers on 127.0.0.1 written to
 * fail in one way each): every failure becomes one warning naming the
 * tracker, with the error behind it (its code and fields say what failed),
 * and the announce moves on to the next tracker.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { Announcer, type AnnouncedInfo } from '../../src/tracker/client.js';
import { TrackerRefusal } from '../../src/errors.js';
import type { Warning } from '../../src/core/warnings.js';
import { isError } from '../helpers/errors.js';
import { encodeCompactV4 } from '../../src/tracker/compact-peers.js';
import * as wire from '../../src/tracker/udp-wire.js';
import { waitFor } from './helpers.js';

/** One HTTP server, one failure per path; /good answers properly with one peer. */
const HTTP_MODES: Record<string, (res: http.ServerResponse) => void> = {
  '/garbage': (res) => res.end('<html><body>Welcome to nginx!</body></html>'),
  '/status500': (res) => res.writeHead(500).end('d14:failure reason4:oopse'),
  '/stall': () => {
    /* never answers */
  },
  '/failure': (res) => res.end(encodeBencode({ 'failure reason': 'torrent not registered' })),
  '/ragged': (res) => res.end(encodeBencode({ interval: 60, peers: Buffer.alloc(7) })),
  '/truncated': (res) => res.end('d8:intervali60e5:peers12:abc'),
  '/huge': (res) => {
    res.write('d8:intervali60e5:peers');
    res.end(Buffer.alloc(2 * 1024 * 1024));
  },
  '/good': (res) => res.end(encodeBencode({ interval: 60, peers: encodeCompactV4('10.9.8.7', 6881)! })),
};

type UdpMode = 'wrong-tid' | 'garbage' | 'error-action' | 'wrong-action' | 'ragged-peers';

let httpServer: http.Server;
let httpBase = '';
const udpServers: dgram.Socket[] = [];
const udpUrls = new Map<UdpMode, string>();

function udpTracker(mode: UdpMode): Promise<string> {
  const s = dgram.createSocket('udp4');
  udpServers.push(s);
  s.on('message', (msg, r) => {
    const d = wire.decodeRequest(msg);
    if (!d?.request) return;
    const tid = d.transactionId;
    const reply = (b: Uint8Array): void => void s.send(b, r.port, r.address);
    if (mode === 'wrong-tid') return reply(wire.encodeConnectReply((tid + 1) >>> 0, 1n));
    if (mode === 'garbage') return reply(Buffer.from('hello'));
    if (d.request.action === 'connect') return reply(wire.encodeConnectReply(tid, 77n));
    if (mode === 'error-action') return reply(wire.encodeErrorReply(tid, 'info_hash not found'));
    if (mode === 'wrong-action') return reply(wire.encodeScrapeReply(tid, [{ seeders: 1, completed: 1, leechers: 1 }]));
    const ok = wire.encodeAnnounceReply(tid, { interval: 60, leechers: 1, seeders: 1 }, []);
    return reply(Buffer.concat([ok, Buffer.alloc(5)]));
  });
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(`udp://127.0.0.1:${s.address().port}/announce`)));
}

before(async () => {
  httpServer = http.createServer((req, res) => {
    const mode = HTTP_MODES[req.url!.split('?')[0]!];
    if (mode) mode(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
  httpBase = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  for (const m of ['wrong-tid', 'garbage', 'error-action', 'wrong-action', 'ragged-peers'] as const) udpUrls.set(m, await udpTracker(m));
});

after(async () => {
  httpServer.closeAllConnections();
  await new Promise((r) => httpServer.close(r));
  for (const s of udpServers) s.close();
});

function make(tiers: string[][], preferred: string[] = [], onWarning?: (w: Warning) => void): { a: Announcer; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const a = new Announcer({
    infoHash: new Uint8Array(20).fill(7),
    peerId: Buffer.from('-IS0100-badtrackers0', 'latin1'),
    port: 42000,
    tiers,
    preferred,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    timeoutMs: 700,
    onWarning: (w) => {
      warnings.push(w);
      onWarning?.(w);
    },
  });
  return { a, warnings };
}

test('every malformed reply is one warning naming the tracker, and the next tracker gives the peers', async () => {
  const bad = [
    ...['/garbage', '/status500', '/stall', '/failure', '/ragged', '/truncated', '/huge'].map((p) => `${httpBase}${p}`),
    ...[...udpUrls.values()],
  ];
  // Preferred trackers are tried in the given order (not shuffled), so each bad one is tried before the good one.
  const { a, warnings } = make([[`${httpBase}/good`]], bad);
  try {
    const peers = waitFor<{ host: string; port: number }[]>(a, 'peers', undefined, 20_000);
    a.start();
    assert.deepEqual(await peers, [{ host: '10.9.8.7', port: 6881 }]);
    const refused = (reason: string) => (e: unknown) => e instanceof TrackerRefusal && e.reason === reason;
    const expected: [string, (e: unknown) => boolean][] = [
      ['/garbage', isError('BAD_REPLY', { field: '' })],
      ['/status500', isError('HTTP_STATUS', { status: 500 })],
      ['/stall', isError('TIMEOUT', { timeoutMs: 700 })],
      ['/failure', refused('torrent not registered')],
      ['/ragged', isError('BAD_REPLY', { field: 'peers', bytes: 7 })],
      ['/truncated', isError('BAD_REPLY', { field: '' })],
      ['/huge', isError('BAD_REPLY', { limit: 1048576 })],
    ];
    for (const [path, is] of expected) {
      const w = warnings.find((x) => x.source === `tracker ${httpBase}${path}`);
      assert.ok(w, `a warning for ${path} in ${JSON.stringify(warnings)}`);
      assert.equal(w.code, 'TRACKER_FAILED');
      assert.ok(is(w.error), `${path}: ${JSON.stringify(w.error)}`);
    }
    const udpExpect: [UdpMode, (e: unknown) => boolean][] = [
      ['wrong-tid', isError('TIMEOUT', { timeoutMs: 700, ignored: 'unknown-transaction' })],
      ['garbage', isError('TIMEOUT', { timeoutMs: 700, ignored: 'malformed' })],
      ['error-action', refused('info_hash not found')],
      ['wrong-action', isError('BAD_REPLY', { action: 2, expected: 1 })],
      ['ragged-peers', isError('BAD_REPLY', { field: 'peers', bytes: 5 })],
    ];
    for (const [mode, is] of udpExpect) {
      const w = warnings.find((x) => x.source === `tracker ${udpUrls.get(mode)}`);
      assert.ok(w, `a warning for ${mode} in ${JSON.stringify(warnings)}`);
      assert.equal(w.code, 'TRACKER_FAILED');
      assert.ok(is(w.error), `${mode}: ${JSON.stringify(w.error)}`);
    }
    assert.equal(warnings.length, expected.length + udpExpect.length, 'one warning per failed tracker');
    assert.ok(warnings.every((w) => !w.detail.includes('\n')));
  } finally {
    await a.stop();
  }
});

test('a failing tier hands over to the next tier; the answering tracker moves to the front of its tier', async () => {
  const { a, warnings } = make([[`${httpBase}/status500`], [`${httpBase}/garbage`, `${httpBase}/good`]]);
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    assert.equal((await ok).url, `${httpBase}/good`);
    assert.equal(warnings[0]!.source, `tracker ${httpBase}/status500`);
    assert.ok(isError('HTTP_STATUS', { status: 500 })(warnings[0]!.error));
    assert.deepEqual(a.trackers()[1]![0], `${httpBase}/good`);
  } finally {
    await a.stop();
  }
});

test('when no tracker answers, one summary warning says when it retries, and nothing throws', async () => {
  let summary!: (w: Warning) => void;
  const last = new Promise<Warning>((r) => (summary = r));
  const { a, warnings } = make([[`${httpBase}/failure`], [udpUrls.get('error-action')!]], [], (w) => w.code === 'TRACKERS_UNREACHABLE' && summary(w));
  try {
    a.start();
    assert.equal((await last).source, 'trackers');
    assert.deepEqual(warnings.map((w) => w.code), ['TRACKER_FAILED', 'TRACKER_FAILED', 'TRACKERS_UNREACHABLE']);
  } finally {
    await a.stop();
  }
});

test('unsupported tracker schemes are reported once and skipped', async () => {
  const { a, warnings } = make([['wss://tracker.example/announce', `${httpBase}/good`]]);
  try {
    const ok = waitFor<AnnouncedInfo>(a, 'announced');
    a.start();
    await ok;
    assert.deepEqual(warnings.map((w) => [w.code, w.source]), [['TRACKER_UNSUPPORTED', 'tracker wss://tracker.example/announce']]);
  } finally {
    await a.stop();
  }
});
