/**
 * The tracker of `isosync serve` and `isosync tracker`: HTTP announce and
 * scrape (BEP 3, BEP 23 compact peers, BEP 7 peers6, BEP 48 scrape) and
 * UDP (BEP 15), over one SwarmTable.
 *
 * `handle(req, res)` answers GET /announce and GET /scrape and returns
 * false for any other path, so it mounts inside any node:http server. A
 * malformed announce gets HTTP 200 with a bencoded `failure reason` (what
 * BitTorrent clients read); nothing a client sends can throw out of here.
 *
 * The peer's address is the socket's; the `ip` parameter is honoured only
 * from loopback (a local reverse proxy, or tests standing in for several
 * hosts). Expired peers are swept lazily and on an unref'd timer.
 */
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { parseAnnounceQuery, parseScrapeQuery } from './announce-query.js';
import { encodeCompactReply } from './announce-reply.js';
import { isLoopback, normalizeAddress } from './compact-peers.js';
import { SwarmTable, type StoredPeer, type SwarmStats } from './swarm-table.js';
import {
  decodeRequest,
  encodeAnnounceReply,
  encodeConnectReply,
  encodeErrorReply,
  encodeScrapeReply,
  type UdpRequest,
} from './udp-wire.js';
import { IsosyncError } from '../errors.js';

export interface TrackerOptions {
  /** Seconds between regular announces (default 1800, the common tracker value). */
  interval?: number;
  /** Seconds a client must wait at least between announces (default half the interval). */
  minInterval?: number;
  /** Most peers given per announce (default 200). */
  maxNumwant?: number;
  /** Seconds a peer counts after its last announce (default twice the interval: one missed announce is forgiven). */
  peerTtl?: number;
  /** Bounds on memory; see the constants below. */
  maxTorrents?: number;
  maxPeersPerTorrent?: number;
  maxPeers?: number;
  /** When given, only torrents it accepts (hex infohash) are tracked; others get a failure reason. */
  allow?: (infoHashHex: string) => boolean;
}

export const DEFAULT_INTERVAL_S = 1800;
/** libtorrent asks for 200 peers by default; no client connects to more per announce. */
export const DEFAULT_MAX_NUMWANT = 200;
/** BEP 3: "numwant ... defaults to 50". */
export const DEFAULT_NUMWANT = 50;
/** A server holds a few hundred images; 10,000 torrents leaves room for any archive and bounds memory against infohash spam. */
export const MAX_TORRENTS = 10_000;
/** A release's busiest day on a big mirror is a few thousand concurrent peers. */
export const MAX_PEERS_PER_TORRENT = 10_000;
/** About 300 bytes each, so at most ~60 MB of peers whatever clients send. */
export const MAX_PEERS = 200_000;
/** BEP 15: a connection id is valid for about one to two minutes. */
const CONNECTION_ID_SLOT_MS = 60_000;
/** Connection ids remembered at most (two per client address and minute): ~100 bytes each. */
const MAX_REMEMBERED_CONNECTION_IDS = 100_000;
/** Sweep timer period bound: often enough that /status counts stay honest. */
const MAX_SWEEP_MS = 60_000;

/** What the tracker paths accept. */
export const ALLOWED_METHODS = 'GET, HEAD';
const METHOD_NOT_ALLOWED = Buffer.from('method not allowed\n');

export interface TrackerAnswer {
  readonly status: 200 | 405;
  readonly body: Uint8Array;
}

export class Tracker {
  readonly interval: number;
  readonly minInterval: number;
  readonly maxNumwant: number;
  readonly peerTtl: number;
  private readonly table: SwarmTable;
  private readonly allow: ((h: string) => boolean) | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly udpSockets: dgram.Socket[] = [];
  private readonly secret = randomBytes(16);
  /** Connection ids already computed, by minute and address; dropped wholesale when full. */
  private readonly connectionIds = new Map<string, bigint>();
  /** Counters for /status and the bench. */
  readonly counters = { httpAnnounces: 0, udpAnnounces: 0, scrapes: 0, failures: 0 };

  constructor(opts: TrackerOptions = {}) {
    this.interval = positive(opts.interval, DEFAULT_INTERVAL_S, 'interval');
    this.minInterval = Math.min(this.interval, positive(opts.minInterval, Math.max(1, Math.floor(this.interval / 2)), 'minInterval'));
    this.maxNumwant = positive(opts.maxNumwant, DEFAULT_MAX_NUMWANT, 'maxNumwant');
    this.peerTtl = positive(opts.peerTtl, this.interval * 2, 'peerTtl');
    this.table = new SwarmTable({
      maxTorrents: positive(opts.maxTorrents, MAX_TORRENTS, 'maxTorrents'),
      maxPeersPerTorrent: positive(opts.maxPeersPerTorrent, MAX_PEERS_PER_TORRENT, 'maxPeersPerTorrent'),
      maxPeers: positive(opts.maxPeers, MAX_PEERS, 'maxPeers'),
      peerTtl: this.peerTtl,
    });
    this.allow = opts.allow;
    this.sweepTimer = setInterval(() => this.table.sweep(Date.now()), Math.min(MAX_SWEEP_MS, (this.peerTtl * 1000) / 2));
    this.sweepTimer.unref();
  }

  /** Answers GET /announce and /scrape; returns false (and touches nothing) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const a = this.answer(req.method ?? 'GET', req.url ?? '', req.socket.remoteAddress);
    if (!a) return false;
    if (a.status === 405) {
      res.writeHead(405, { Allow: ALLOWED_METHODS, 'Content-Type': 'text/plain' }).end(a.body);
      return true;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': a.body.length, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : a.body);
    return true;
  }

  /**
   * The answer to one HTTP request, for any front end (node:http above, the lean server of
   * `isosync tracker`): undefined for a path that is not the tracker's, 405 for a method
   * other than GET and HEAD, else 200 with a bencoded body (a failure reason when the request
   * is bad). Never throws.
   */
  answer(method: string, url: string, remoteAddress: string | undefined): TrackerAnswer | undefined {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/announce' && path !== '/scrape') return undefined;
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: METHOD_NOT_ALLOWED };
    const query = q < 0 ? '' : url.slice(q + 1);
    try {
      return { status: 200, body: path === '/announce' ? this.httpAnnounce(query, remoteAddress) : this.httpScrape(query) };
    } catch (e) {
      // A bug here must not take the server down; the client gets a failure like any other.
      return { status: 200, body: this.failure(`internal error: ${(e as Error).message}`) };
    }
  }

  /** Binds BEP 15 on UDP; returns the bound port. */
  listenUdp(port: number, host: string): Promise<number> {
    const sock = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    this.udpSockets.push(sock);
    sock.on('message', (msg, rinfo) => {
      try {
        const reply = this.udpMessage(msg, rinfo.address, rinfo.port);
        if (reply) sock.send(reply, rinfo.port, rinfo.address);
      } catch {
        // A packet can never take the tracker down; a reply we cannot build is simply not sent.
      }
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        sock.on('error', () => {
          /* send errors (unreachable peers) are per packet; keep serving */
        });
        resolve(sock.address().port);
      });
    });
  }

  swarms(): SwarmStats[] {
    return this.table.stats();
  }

  get peerCount(): number {
    return this.table.peerCount;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all(this.udpSockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  // ---- HTTP ----

  private failure(reason: string): Uint8Array {
    this.counters.failures++;
    return encodeBencode({ 'failure reason': reason });
  }

  private peerHost(socketAddress: string | undefined, ipParam: string | undefined): string | undefined {
    if (!socketAddress) return undefined;
    const host = normalizeAddress(socketAddress);
    if (ipParam !== undefined && isLoopback(host) && isIP(ipParam) !== 0) return normalizeAddress(ipParam);
    return host;
  }

  private httpAnnounce(query: string, remoteAddress: string | undefined): Uint8Array {
    const a = parseAnnounceQuery(query);
    if (typeof a === 'string') return this.failure(a);
    if (this.allow) {
      const ih = a.infoHash.toString('hex');
      if (!this.allow(ih)) return this.failure(`torrent ${ih} is not tracked here`);
    }
    const host = this.peerHost(remoteAddress, a.ip);
    if (!host) return this.failure('cannot tell your address');
    this.counters.httpAnnounces++;
    const out = this.table.announce(
      { infoHash: a.infoHash, peerId: a.peerId, host, port: a.port, left: a.left, event: a.event, numwant: this.numwant(a.numwant) },
      Date.now(),
    );
    if (a.compact) {
      return encodeCompactReply({ complete: out.seeders, incomplete: out.leechers, interval: this.interval, minInterval: this.minInterval, peers: out.peers, warning: out.notStored });
    }
    const reply: Record<string, unknown> = {
      complete: out.seeders,
      incomplete: out.leechers,
      interval: this.interval,
      'min interval': this.minInterval,
      peers: out.peers.map((p: StoredPeer) => (a.noPeerId ? { ip: p.host, port: p.port } : { ip: p.host, 'peer id': p.peerId, port: p.port })),
    };
    if (out.notStored) reply['warning message'] = out.notStored;
    return encodeBencode(reply);
  }

  private numwant(asked: number | undefined): number {
    return Math.min(asked ?? DEFAULT_NUMWANT, this.maxNumwant);
  }

  private httpScrape(query: string): Uint8Array {
    const hashes = parseScrapeQuery(query);
    if (typeof hashes === 'string') return this.failure(hashes);
    this.counters.scrapes++;
    const now = Date.now();
    const files = new Map<string, unknown>();
    for (const h of hashes) {
      const c = this.table.counts(h, now);
      files.set(h.toString('latin1'), { complete: c.seeders, downloaded: c.completed, incomplete: c.leechers });
    }
    return encodeBencode({ files });
  }

  // ---- UDP ----

  /**
   * Stateless connection ids (BEP 15 leaves their making to the tracker): a MAC of the client's address and the
   * minute. Not of its port: libtorrent reuses one connection id across the sockets it announces from.
   */
  private connectionId(host: string, slot: number): bigint {
    // The MAC is most of the cost of a UDP announce, and a client announces with one id for a minute: remembered.
    const key = `${slot}|${host}`;
    const known = this.connectionIds.get(key);
    if (known !== undefined) return known;
    if (this.connectionIds.size >= MAX_REMEMBERED_CONNECTION_IDS) this.connectionIds.clear();
    const mac = createHmac('sha1', this.secret).update(`${host}|${slot}`).digest();
    const id = mac.readBigUInt64BE(0);
    this.connectionIds.set(key, id);
    return id;
  }

  private validConnection(id: bigint, host: string): boolean {
    const slot = Math.floor(Date.now() / CONNECTION_ID_SLOT_MS);
    return id === this.connectionId(host, slot) || id === this.connectionId(host, slot - 1);
  }

  /** One datagram in, at most one out. Packets too short to carry a transaction id get no answer. */
  private udpMessage(msg: Buffer, fromHost: string, fromPort: number): Uint8Array | undefined {
    const d = decodeRequest(msg);
    if (!d) return undefined;
    if (d.error || !d.request) {
      this.counters.failures++;
      return encodeErrorReply(d.transactionId, d.error ?? 'bad request');
    }
    const r: UdpRequest = d.request;
    const host = normalizeAddress(fromHost);
    if (r.action === 'connect') {
      return encodeConnectReply(r.transactionId, this.connectionId(host, Math.floor(Date.now() / CONNECTION_ID_SLOT_MS)));
    }
    if (!this.validConnection(r.connectionId, host)) {
      this.counters.failures++;
      return encodeErrorReply(r.transactionId, 'connection id expired or invalid');
    }
    if (r.action === 'scrape') {
      this.counters.scrapes++;
      const now = Date.now();
      return encodeScrapeReply(
        r.transactionId,
        r.infoHashes.map((h) => {
          const c = this.table.counts(h, now);
          return { seeders: c.seeders, completed: c.completed, leechers: c.leechers };
        }),
      );
    }
    if (this.allow && !this.allow(Buffer.from(r.infoHash).toString('hex'))) {
      this.counters.failures++;
      return encodeErrorReply(r.transactionId, 'torrent not tracked here');
    }
    if (r.port === 0) {
      this.counters.failures++;
      return encodeErrorReply(r.transactionId, 'invalid port 0');
    }
    // BEP 15 "IP address": honoured only from loopback, like HTTP's ip=.
    let peerHost = host;
    if (r.ip !== 0 && isLoopback(host)) peerHost = `${r.ip >>> 24}.${(r.ip >>> 16) & 0xff}.${(r.ip >>> 8) & 0xff}.${r.ip & 0xff}`;
    this.counters.udpAnnounces++;
    const family = peerHost.includes(':') ? 6 : 4;
    const out = this.table.announce(
      {
        infoHash: r.infoHash,
        peerId: r.peerId,
        host: peerHost,
        port: r.port,
        left: r.left,
        event: r.event,
        numwant: this.numwant(r.numWant < 0 ? undefined : r.numWant),
      },
      Date.now(),
    );
    // BEP 15: over IPv4 the reply carries IPv4 peers, over IPv6 IPv6 peers.
    const peers = out.peers.filter((p) => p.family === family).map((p) => p.compact);
    return encodeAnnounceReply(r.transactionId, { interval: this.interval, leechers: out.leechers, seeders: out.seeders }, peers);
  }
}

function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new IsosyncError('BAD_ARGUMENT', `Invalid tracker option ${name} ${JSON.stringify(v)}: not a positive number`, { field: name });
  return Math.floor(v);
}
