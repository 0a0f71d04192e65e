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
 * The peer's address is the socket's. The address a request names (HTTP
 * `ip`, BEP 15 "IP address") replaces it only when both are loopback, or
 * when the server is told to trust it (`trustIp`), as opentracker honours
 * `ip=` only when built with WANT_IP_FROM_QUERY_STRING: a client that names
 * an address it does not listen on would otherwise be handed out
 * unreachable. Expired peers are swept lazily and on an unref'd timer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { parseAnnounceQuery, QueryFault } from './announce-parse.js';
import { parseScrapeQuery } from './announce-query.js';
import { encodeCompactReply } from './announce-reply.js';
import { COMPACT_V4_BYTES, encodeCompactV6, isLoopback, normalizeAddress } from './compact-peers.js';
import { ConnectionIds } from './connection-ids.js';
import { writeIPv4 } from './peer-list.js';
import { SwarmTable, type SwarmStats } from './swarm-table.js';
import { bindUdp, type UdpEndpoint } from './udp-handles.js';
import { ACTION, decodeRequest, encodeErrorReply, encodeScrapeReply, type AnnounceEvent, type UdpRequest } from './udp-wire.js';
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
  /**
   * Hand out the address a request names (HTTP ip=, BEP 15 "IP address") instead of the socket's
   * (default false: only when both are loopback). For set-ups where the tracker sees every client
   * through one address it knows is not theirs (a NAT, tests standing in for several hosts).
   */
  trustIp?: boolean;
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
/** About 100 bytes each (packed entry, id, expiry, index entry: 95 measured), so at most ~20 MB of peers whatever clients send. */
export const MAX_PEERS = 200_000;
/** BEP 15: a connection id is valid for about one to two minutes. */
const CONNECTION_ID_SLOT_MS = 60_000;
/** Client addresses whose connection ids are remembered at most: ~150 bytes each. */
const MAX_REMEMBERED_CONNECTION_IDS = 100_000;
/** BEP 15 sizes: every request's header (connection id, action, transaction id), an announce request, replies. */
const UDP_HEADER_BYTES = 16;
const UDP_ANNOUNCE_BYTES = 98;
const UDP_CONNECT_REPLY_BYTES = 16;
const UDP_ANNOUNCE_REPLY_HEADER_BYTES = 20;
const UDP_AT = { action: 8, transactionId: 12 } as const;
/** BEP 15 event numbers. */
const UDP_EVENTS: readonly AnnounceEvent[] = ['', 'completed', 'started', 'stopped'];
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
  private readonly udpEndpoints: UdpEndpoint[] = [];
  private readonly trustIp: boolean;
  private readonly connectionIds = new ConnectionIds(randomBytes(16), MAX_REMEMBERED_CONNECTION_IDS);
  /** The announcer's IPv4 compact entry, rewritten per announce (the table copies it when it stores the peer). */
  private readonly self4 = new Uint8Array(COMPACT_V4_BYTES);
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
    }, Math.random);
    this.allow = opts.allow;
    this.trustIp = opts.trustIp === true;
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

  /** Binds BEP 15 on UDP; returns the bound port. `useDgram`: node:dgram rather than Node's UDP handle (udp-handles.ts). */
  async listenUdp(port: number, host: string, useDgram = false): Promise<number> {
    const endpoint: UdpEndpoint = await bindUdp(host, port, (msg, address, from) => {
      try {
        const reply = this.udpMessage(msg, address);
        if (reply) endpoint.send(reply, from, address);
      } catch {
        // A packet can never take the tracker down; a reply we cannot build is simply not sent.
      }
    }, useDgram);
    this.udpEndpoints.push(endpoint);
    return endpoint.port;
  }

  swarms(): SwarmStats[] {
    return this.table.stats();
  }

  get peerCount(): number {
    return this.table.peerCount;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all(this.udpEndpoints.splice(0).map((e) => e.close()));
  }

  // ---- HTTP ----

  private failure(reason: string): Uint8Array {
    this.counters.failures++;
    return encodeBencode({ 'failure reason': reason });
  }

  /**
   * The announcer's compact entry (address + port) as it is handed out: the socket's address, or
   * the one the request names (HTTP ip=, BEP 15 "IP address") when the tracker trusts it or both
   * are loopback. Undefined when the socket's address is unknown or not an IP address.
   */
  private selfEntry(socketAddress: string | undefined, named: string | undefined, port: number): Uint8Array | undefined {
    if (!socketAddress) return undefined;
    let host = normalizeAddress(socketAddress);
    if (named !== undefined && isIP(named) !== 0) {
      const claimed = normalizeAddress(named);
      if (this.trustIp || (isLoopback(host) && isLoopback(claimed))) host = claimed;
    }
    if (writeIPv4(host, this.self4, 0)) {
      this.self4[4] = port >> 8;
      this.self4[5] = port & 0xff;
      return this.self4;
    }
    return encodeCompactV6(host, port);
  }

  private httpAnnounce(query: string, remoteAddress: string | undefined): Uint8Array {
    const a = parseAnnounceQuery(query);
    if (a instanceof QueryFault) return this.failure(a.reason);
    if (this.allow) {
      const ih = a.infoHash.toString('hex');
      if (!this.allow(ih)) return this.failure(`torrent ${ih} is not tracked here`);
    }
    const compact = this.selfEntry(remoteAddress, a.ip, a.port);
    if (!compact) return this.failure('cannot tell your address');
    this.counters.httpAnnounces++;
    const out = this.table.announce(
      { infoHash: a.infoHash, peerId: a.peerId, compact, left: a.left, event: a.event, numwant: this.numwant(a.numwant), families: 'both' },
      Date.now(),
    );
    const picked = this.table.picked;
    if (a.compact) {
      return encodeCompactReply({ complete: out.seeders, incomplete: out.leechers, interval: this.interval, minInterval: this.minInterval, peers: picked, warning: out.notStored });
    }
    const reply: Record<string, unknown> = {
      complete: out.seeders,
      incomplete: out.leechers,
      interval: this.interval,
      'min interval': this.minInterval,
      peers: picked.peers().map((p) => (a.noPeerId ? { ip: p.host, port: p.port } : { ip: p.host, 'peer id': p.peerId, port: p.port })),
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

  private udpError(transactionId: number, message: string): Uint8Array {
    this.counters.failures++;
    return encodeErrorReply(transactionId, message);
  }

  /** One datagram in, at most one out. Packets too short to carry a transaction id get no answer. */
  private udpMessage(msg: Buffer, fromHost: string): Uint8Array | undefined {
    if (msg.length < UDP_HEADER_BYTES) return undefined;
    const action = msg.readUInt32BE(UDP_AT.action);
    const tid = msg.readUInt32BE(UDP_AT.transactionId);
    const host = normalizeAddress(fromHost);
    const slot = Math.floor(Date.now() / CONNECTION_ID_SLOT_MS);
    // Announces, the bulk of the traffic, are read in place; other requests go through the decoder.
    if (action === ACTION.announce && msg.length >= UDP_ANNOUNCE_BYTES) {
      if (!this.connectionIds.valid(host, slot, msg.readUInt32BE(0), msg.readUInt32BE(4))) return this.udpError(tid, 'connection id expired or invalid');
      return this.udpAnnounce(msg, tid, host);
    }
    const d = decodeRequest(msg);
    if (!d) return undefined;
    if (d.error || !d.request) return this.udpError(d.transactionId, d.error ?? 'bad request');
    const r: UdpRequest = d.request;
    if (r.action === 'connect') {
      const reply = Buffer.alloc(UDP_CONNECT_REPLY_BYTES);
      reply.writeUInt32BE(ACTION.connect, 0);
      reply.writeUInt32BE(tid, 4);
      this.connectionIds.write(host, slot, reply, 8);
      return reply;
    }
    const id = r.connectionId;
    if (!this.connectionIds.valid(host, slot, Number(id >> 32n), Number(id & 0xffffffffn))) return this.udpError(tid, 'connection id expired or invalid');
    if (r.action === 'scrape') {
      this.counters.scrapes++;
      const now = Date.now();
      return encodeScrapeReply(
        tid,
        r.infoHashes.map((h) => {
          const c = this.table.counts(h, now);
          return { seeders: c.seeders, completed: c.completed, leechers: c.leechers };
        }),
      );
    }
    return this.udpAnnounce(msg, tid, host);
  }

  /** A BEP 15 announce (98 bytes at least, connection id checked), its reply written straight from the swarm's lists. */
  private udpAnnounce(msg: Buffer, tid: number, host: string): Uint8Array {
    const infoHash = msg.subarray(16, 36);
    if (this.allow && !this.allow(infoHash.toString('hex'))) return this.udpError(tid, 'torrent not tracked here');
    const ev = msg.readUInt32BE(80);
    const event = UDP_EVENTS[ev];
    if (event === undefined) return this.udpError(tid, `unknown event ${ev}`);
    const port = msg.readUInt16BE(96);
    if (port === 0) return this.udpError(tid, 'invalid port 0');
    const ip = msg.readUInt32BE(84);
    const compact = this.selfEntry(host, ip === 0 ? undefined : `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`, port);
    if (!compact) return this.udpError(tid, 'cannot tell your address');
    const numWant = msg.readInt32BE(92);
    this.counters.udpAnnounces++;
    const family = compact.length === COMPACT_V4_BYTES ? 4 : 6;
    const out = this.table.announce(
      {
        infoHash,
        peerId: msg.subarray(36, 56),
        compact,
        // Only whether it is zero matters (a seeder): the high half alone tells when it is not.
        left: msg.readUInt32BE(64) * 0x1_0000_0000 + msg.readUInt32BE(68),
        event,
        numwant: this.numwant(numWant < 0 ? undefined : numWant),
        // BEP 15: over IPv4 the reply carries IPv4 peers, over IPv6 IPv6 peers.
        families: family,
      },
      Date.now(),
    );
    const picked = this.table.picked;
    const entry = compact.length;
    const reply = Buffer.allocUnsafe(UDP_ANNOUNCE_REPLY_HEADER_BYTES + entry * (family === 4 ? picked.v4 : picked.v6));
    reply.writeUInt32BE(ACTION.announce, 0);
    reply.writeUInt32BE(tid, 4);
    reply.writeUInt32BE(this.interval, 8);
    reply.writeUInt32BE(Math.min(out.leechers, 0xffffffff), 12);
    reply.writeUInt32BE(Math.min(out.seeders, 0xffffffff), 16);
    picked.copy(entry, reply, UDP_ANNOUNCE_REPLY_HEADER_BYTES);
    return reply;
  }
}

function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new IsosyncError('BAD_ARGUMENT', `Invalid tracker option ${name} ${JSON.stringify(v)}: not a positive number`, { field: name });
  return Math.floor(v);
}
