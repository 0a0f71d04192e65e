/**
 * The swarm of one torrent: a listening socket, outgoing dials, and for each
 * peer the BitTorrent conversation (BEP 3 with the BEP 6 fast extension).
 *
 * Leeching: `fetchRanges(piece ranges)` wants exactly the bytes of the
 * ranges, as requests of at most 16 KiB that never cross a 16 KiB boundary
 * (picker.ts requestsFor); the RequestBook hands them to unchoked peers that
 * have the piece, PIPELINE_DEPTH at a time; timed-out or rejected asks go
 * back to the book; endgame duplicates the last asks and cancels the losers.
 * A peer that rejects or ignores unaligned requests (UNALIGNED_STRIKES of
 * them while it does not choke us, or hangs up before answering one) is
 * asked whole aligned 16 KiB blocks from then on, each carrying every
 * request that falls in it. Requests are handed back with their sender, so a
 * failed piece hash convicts exactly the peers whose bytes were wrong
 * (`convict`); BAN_STRIKES convictions ban a peer for the life of the swarm.
 *
 * Leechers trade: a request is asked of another leecher that has its piece
 * before a seed (pump, `seedSpared`), and when a leecher announces a piece,
 * the requests of it still waiting at seeds move to that leecher
 * (`reclaimFromSeeds`), so a seed's upload goes to pieces nobody else has.
 *
 * Seeding: requests are served from the store, for verified pieces only (the
 * `have` array of the .part or of a verified image), through the upload slots
 * the choker (choker.ts) grants. `pieceVerified` tells every peer (`have`) at
 * once. With an upload limit, queued requests are served rarest-sent first:
 * the request whose piece went to the fewest other peers (as libtorrent's
 * seed mode spreads distinct pieces), so a capped seed puts out each piece
 * once before any piece twice, and the leechers pass the copies on.
 * Optional BEP 16 super-seeding reveals one piece at a time to each peer.
 *
 * A peer that breaks the protocol, floods requests or stalls is dropped and
 * the download goes on. Nothing here prints: warnings go to `onWarning`.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { asIsosyncError, IsosyncError } from '../errors.js';
import { ignoreWarnings, sourceOf, type WarningCode, type WarningSink } from '../core/warnings.js';
import { alignedBlockOf, isAlignedBlock, keyOf as key, requestsFor, RequestBook, type Block } from './picker.js';
import { CHOKE_ROUND_MS, DEFAULT_UPLOAD_SLOTS, OPTIMISTIC_ROUNDS, decideUnchoke } from './choker.js';
import { Connection, dial } from './connection.js';
import { guarded, MAX_BLOCK_BYTES } from './safe-wire.js';
import { TokenBucket } from './rate-limit.js';
import type { PieceIndex } from '../core/ids.js';
import type { Span } from '../core/span.js';

/** Block asks in flight per peer: enough to fill a loopback or LAN link (64 gave 140-200 MB/s in the stack probe). */
export const PIPELINE_DEPTH = 64;
/** Requests a peer may have queued with us; more is a flood (advertised as BEP 10 `reqq`). */
export const MAX_PEER_REQUESTS = 500;
/** A block ask unanswered this long is asked of another peer. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Asks timed out in a row, with no block between, before a peer counts as stalled and is dropped. */
export const MAX_TIMEOUTS = 2;
/** Convictions (blocks proved wrong by a piece hash) before a peer is banned. */
export const BAN_STRIKES = 2;
/** How long a fetch waits for any peer that has its piece before failing. */
export const NO_PEER_MS = 60_000;
/** Unaligned requests a peer rejects (while not choking us) or lets time out before it is asked aligned blocks only. */
export const UNALIGNED_STRIKES = 2;
/** Super-seeding: how long an offered piece may go unseen elsewhere before its peer is offered another. */
export const SUPER_SEED_PATIENCE_MS = 3_000;
/**
 * Share-first wait of a publisher's seed (`isosync serve`): long enough for a
 * leecher on a LAN or loopback to verify a piece and announce it, short
 * enough that a leecher that cannot reach the others is only slowed.
 */
export const PUBLISHER_SHARE_WAIT_MS = 1500;
/** A peer that completed and closed on us (both seeds) counts as holding its pieces this long (it may still serve others). */
export const SHARE_MEMORY_MS = 60_000;
/**
 * Served bytes are read from the store in aligned windows of this size and
 * kept for the next requests (a peer asks a piece's 16 KiB blocks one after
 * another): one read instead of 16 (each read was a thread-pool round trip,
 * the largest CPU cost of a loopback seed after socket writes).
 */
export const SERVE_WINDOW_BYTES = 256 * 1024;
/** Windows kept (8 MiB): the pieces a handful of unchoked peers are fetching at once. */
export const SERVE_WINDOWS = 32;
/** Times a peer that hung up is dialed again (it may have been busy checking its files). */
export const MAX_REDIALS = 5;
/** Connections kept at once. */
export const MAX_PEERS = 60;
/** Dial attempts per address while it refuses (peers started together may not listen yet). */
export const DIAL_ATTEMPTS = 10;

export interface SwarmStore {
  /** have[i]: piece i is verified and may be served. */
  readonly have: readonly boolean[];
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface SwarmOptions {
  readonly infoHash: Uint8Array;
  readonly length: number;
  readonly pieceLength: number;
  readonly store: SwarmStore;
  readonly peerId?: Uint8Array;
  /** Listen address (default 127.0.0.1) and port (0: any free port; undefined: do not listen). */
  readonly host?: string;
  readonly port?: number;
  readonly uploadSlots?: number;
  /** Bytes per second; 0 or undefined: unlimited. */
  readonly uploadLimit?: number;
  readonly downloadLimit?: number;
  readonly superSeed?: boolean;
  readonly requestTimeoutMs?: number;
  readonly noPeerMs?: number;
  /**
   * Share first (a publisher's seed): a request for a piece already sent to
   * another connected peer waits up to this long (ms) while pieces sent to
   * nobody else go out, so the leechers trade the copies among themselves
   * (a leecher withdraws its request here once another leecher announces
   * the piece). 0 or undefined: requests are served as they come (or, with
   * an upload limit, rarest-sent first).
   */
  readonly shareWaitMs?: number;
  readonly onWarning?: WarningSink;
}

export interface PeerReport {
  address: string;
  peerId?: string;
  downloaded: number;
  uploaded: number;
  banned?: boolean;
  dropped?: string;
}

/** A request a peer queued with us, waiting for upload bandwidth. */
interface Upload {
  readonly c: Connection;
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
  readonly respond: (err: Error | null, block?: Uint8Array) => void;
  readonly seq: number;
  /** When it was queued (ms). */
  readonly at: number;
}

interface Waiter {
  deliver(bytes: Uint8Array, from: Connection): void;
}

/** A fresh BEP 20 peer id: "-IS0100-" and 12 random bytes. */
export function newPeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(Buffer.from('-IS0100-'), 0);
  id.set(randomBytes(12), 8);
  return id;
}

export class Swarm {
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  private readonly peers = new Set<Connection>();
  private readonly reports = new Map<string, PeerReport>();
  private readonly bannedIds = new Set<string>();
  private readonly bannedAddresses = new Set<string>();
  private readonly strikes = new Map<Connection, number>();
  private readonly book = new RequestBook<Connection>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly avoid = new Map<number, Set<Connection>>();
  /** Pieces whose blocks must all come from one peer (a whole copy after a failed hash: exact blame). */
  private readonly pinned = new Map<number, Connection>();
  private readonly counts: Uint16Array;
  private haveAllPeers = 0;
  private readonly up: TokenBucket;
  private readonly down: TokenBucket;
  private server: net.Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private round = 0;
  private optimistic: Connection | undefined;
  private closing = false;
  private readonly dialing = new Set<string>();
  /** Super-seeding: the piece offered to each peer, and how often each piece was offered. */
  private readonly offered = new Map<Connection, { piece: number; at: number }>();
  private readonly offerCount: Uint32Array;
  /** Requests waiting to be served (upload limit or share-first only), whether the serving loop runs, its wake-up timer. */
  private uploads: Upload[] = [];
  private uploadSeq = 0;
  private serving = false;
  private uploadWake: NodeJS.Timeout | undefined;
  /** The peers each piece was sent to (any of its bytes): a capped seed serves the piece sent to the fewest others first. */
  private readonly sentTo = new Map<number, Set<Connection>>();
  /** Peers that closed on us because both were seeds, with when: counted as holders for SHARE_MEMORY_MS. */
  private readonly departedSeeds = new Map<Connection, number>();
  /** Addresses of peers that serve aligned blocks only (remembered across reconnects). */
  private readonly alignedOnly = new Set<string>();
  /** Recently read serve windows by absolute offset, oldest first (LRU). */
  private readonly windows = new Map<number, Promise<Uint8Array>>();
  uploaded = 0;
  downloaded = 0;
  /**
   * Whether the fetch has pieces it has not started yet (the fetcher's
   * picker sets it). Endgame (asking a block of a second peer) waits until
   * it is false: with pieces left, an idle pipeline slot is better spent on
   * a new piece than on a copy that gets cancelled (in a 4-leecher loopback
   * swarm, always-on endgame had every peer upload ~1.3 x what was kept).
   */
  piecesToStart = false;

  private constructor(readonly opts: SwarmOptions) {
    this.peerId = opts.peerId ?? newPeerId();
    this.pieceCount = Math.ceil(opts.length / opts.pieceLength);
    this.counts = new Uint16Array(this.pieceCount);
    this.offerCount = new Uint32Array(this.pieceCount);
    this.up = new TokenBucket(opts.uploadLimit ?? 0);
    this.down = new TokenBucket(opts.downloadLimit ?? 0);
  }

  /** Creates the swarm and, when `port` is given, starts listening. */
  static async start(opts: SwarmOptions): Promise<Swarm> {
    const s = new Swarm(opts);
    if (opts.port !== undefined) await s.listen(opts.host ?? '127.0.0.1', opts.port);
    s.timers.push(setInterval(() => s.tick(), 1000));
    s.timers.push(setInterval(() => s.rechoke(true), CHOKE_ROUND_MS));
    for (const t of s.timers) t.unref();
    return s;
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  get host(): string | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.address : undefined;
  }

  private listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      server.once('error', (e: NodeJS.ErrnoException) => reject(new IsosyncError('NETWORK', `Cannot listen for peers on ${host}:${port}: ${e.code ?? e.message}`)));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.warn('PEER_LISTENER', `${host}:${port}`, `peer listener: ${e.message}`));
        this.server = server;
        resolve();
      });
    });
  }

  private get complete(): boolean {
    return this.opts.store.have.every(Boolean);
  }

  pieceSize(p: number): number {
    return Math.min(this.opts.pieceLength, this.opts.length - p * this.opts.pieceLength);
  }

  // ---- connections -------------------------------------------------------

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.closing || this.peers.size >= MAX_PEERS) return void socket.destroy();
    const c = new Connection(socket, false, { infoHash: this.opts.infoHash, peerId: this.peerId, pieceCount: this.pieceCount });
    this.attach(c, remote);
  }

  /** Connects to a peer (`--peer HOST:PORT`, a tracker's list); retries while it refuses; reconnects after a clean drop. */
  addPeer(host: string, port: number): void {
    const address = `${host}:${port}`;
    if (this.closing || this.dialing.has(address) || this.bannedAddresses.has(address)) return;
    if ([...this.peers].some((p) => p.address === address)) return;
    if (port === this.port && (host === this.host || host === '127.0.0.1')) return; // ourselves
    this.dialing.add(address);
    void (async () => {
      for (let attempt = 1; attempt <= DIAL_ATTEMPTS && !this.closing; attempt++) {
        try {
          const socket = await dial(host, port);
          this.dialing.delete(address);
          if (this.closing) return void socket.destroy();
          const c = new Connection(socket, true, { infoHash: this.opts.infoHash, peerId: this.peerId, pieceCount: this.pieceCount });
          this.attach(c, address);
          c.wire.handshake(this.opts.infoHash, this.peerId, { fast: true, dht: false });
          return;
        } catch (e) {
          if (attempt === DIAL_ATTEMPTS) this.warn('PEER_UNREACHABLE', sourceOf.peer(address), `cannot connect: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 300 * attempt).unref());
        }
      }
      this.dialing.delete(address);
    })();
  }

  private attach(c: Connection, address: string): void {
    Object.defineProperty(c, 'address', { value: address });
    if (this.alignedOnly.has(address)) c.alignedOnly = true;
    this.peers.add(c);
    const report: PeerReport = this.reports.get(address) ?? { address, downloaded: 0, uploaded: 0 };
    this.reports.set(address, report);
    const w = c.wire;
    w.extendedHandshake = { v: 'isosync', reqq: MAX_PEER_REQUESTS };
    c.onClose = (reason) => this.detach(c, reason);
    w.on('handshake', guarded(w, (ih: string, pid: string, ext) => this.onHandshake(c, ih, pid, ext.fast === true)));
    w.on('bitfield', guarded(w, () => this.onBitfield(c)));
    w.on('have-all', guarded(w, () => this.onBitfield(c)));
    w.on('have-none', guarded(w, () => this.updateInterest(c)));
    w.on('have', guarded(w, (i: number) => this.onHave(c, i)));
    w.on('unchoke', guarded(w, () => this.pump()));
    w.on('choke', guarded(w, () => this.pump()));
    w.on('interested', guarded(w, () => this.rechoke(false)));
    w.on('uninterested', guarded(w, () => this.rechoke(false)));
    w.on('request', guarded(w, (i: number, off: number, len: number, respond) => this.onRequest(c, i, off, len, respond)));
    w.on('cancel', guarded(w, (i: number, off: number, len: number) => this.onCancel(c, i, off, len)));
  }

  private onHandshake(c: Connection, ihHex: string, pidHex: string, fast: boolean): void {
    if (ihHex !== Buffer.from(this.opts.infoHash).toString('hex')) return c.close('asked for another torrent');
    if (pidHex === Buffer.from(this.peerId).toString('hex')) return c.close('connected to itself');
    if (this.bannedIds.has(pidHex)) return c.close('banned');
    // Two connections between the same pair (both dialed): keep the one dialed by the lower peer id, on both sides.
    const twin = [...this.peers].find((p) => p !== c && p.remotePeerId === pidHex && !p.closed);
    if (twin) {
      const ours = Buffer.from(this.peerId).toString('hex');
      const keepOutgoing = ours < pidHex;
      const drop = c.outgoing === keepOutgoing ? twin : c;
      drop.close('duplicate connection');
      if (drop === c) return;
    }
    if (!c.outgoing) c.wire.handshake(this.opts.infoHash, this.peerId, { fast: true, dht: false });
    c.markHandshaken(pidHex);
    const report = this.reports.get(c.address);
    if (report) report.peerId = pidHex;
    const have = this.opts.store.have;
    if (this.opts.superSeed && this.complete) {
      if (fast && c.wire.hasFast) c.wire.haveNone();
      else c.wire.bitfield(new Uint8Array(Math.ceil(this.pieceCount / 8)));
      this.offerNext(c);
    } else if (c.wire.hasFast && this.complete) c.wire.haveAll();
    else if (c.wire.hasFast && !have.some(Boolean)) c.wire.haveNone();
    else c.wire.bitfield(bitfieldOf(have));
  }

  private detach(c: Connection, reason: string): void {
    this.peers.delete(c);
    const report = this.reports.get(c.address);
    if (report && !report.banned && reason !== 'duplicate connection') report.dropped = reason;
    if (c.counted === 'all') this.haveAllPeers--;
    else for (const p of c.counted) this.counts[p] = this.counts[p]! - 1;
    c.counted = new Set();
    // Hung up with unaligned requests pending and none ever answered: it may not take them (next time, aligned blocks).
    if (!c.alignedOnly && c.unalignedAnswered === 0 && [...c.inflight.values()].some((b) => !isAlignedBlock(b, this.pieceSize(b.piece)))) this.alignedOnly.add(c.address);
    for (const b of c.inflight.values()) this.book.release(b, c);
    c.inflight.clear();
    c.alignedAsks.clear();
    this.book.releasePeer(c);
    this.offered.delete(c);
    // A peer that left complete still serves the others for a while: its pieces stay counted as passed on (share-first).
    if (reason === 'both sides are seeds') this.departedSeeds.set(c, Date.now());
    else for (const sent of this.sentTo.values()) sent.delete(c);
    if (this.optimistic === c) this.optimistic = undefined;
    if (!this.closing) {
      this.rechoke(false);
      this.pump();
      this.maybeRedial(c, reason);
    }
  }

  private readonly redials = new Map<string, number>();

  /** A peer we dialed that hung up (not for misbehaving) is dialed again while we still need pieces, a few times. */
  private maybeRedial(c: Connection, reason: string): void {
    if (!c.outgoing || this.complete || this.bannedAddresses.has(c.address)) return;
    if (!['connection closed', 'wire closed', 'wire ended', 'ECONNRESET', 'EPIPE'].includes(reason)) return;
    const n = (this.redials.get(c.address) ?? 0) + 1;
    if (n > MAX_REDIALS) return;
    this.redials.set(c.address, n);
    const i = c.address.lastIndexOf(':');
    setTimeout(() => this.addPeer(c.address.slice(0, i), Number(c.address.slice(i + 1))), 500 * n).unref();
  }

  // ---- what peers have ---------------------------------------------------

  private onBitfield(c: Connection): void {
    if (c.counted === 'all') return;
    if (c.wire.peerPieces.get(-1) === true || everyPiece(c.wire.peerPieces, this.pieceCount)) {
      for (const p of c.counted) this.counts[p] = this.counts[p]! - 1;
      c.counted = 'all';
      this.haveAllPeers++;
    } else {
      for (let p = 0; p < this.pieceCount; p++) {
        if (c.wire.peerPieces.get(p) && !c.counted.has(p)) {
          c.counted.add(p);
          this.counts[p] = this.counts[p]! + 1;
        }
      }
    }
    this.afterPeerHas(c);
  }

  private onHave(c: Connection, p: number): void {
    if (c.counted !== 'all' && !c.counted.has(p)) {
      c.counted.add(p);
      this.counts[p] = this.counts[p]! + 1;
      if (c.counted.size === this.pieceCount) this.onBitfield(c);
      else this.reclaimFromSeeds(p);
    }
    if (this.opts.superSeed) {
      // BEP 16: a piece we offered shows up elsewhere: its first holder may get the next one.
      for (const [peer, offered] of this.offered) if (offered.piece === p && (peer !== c || this.peers.size <= 1)) this.offerNext(peer);
    }
    this.afterPeerHas(c);
  }

  private afterPeerHas(c: Connection): void {
    // Two seeds have nothing to say to each other.
    if (this.complete && c.counted === 'all') return c.close('both sides are seeds');
    this.updateInterest(c);
    this.pump();
  }

  /** How many connected peers have piece p. */
  availability(p: number): number {
    return this.counts[p]! + this.haveAllPeers;
  }

  private peerHas(c: Connection, p: number): boolean {
    return c.counted === 'all' || c.counted.has(p);
  }

  private updateInterest(c: Connection): void {
    if (!c.handshaken || c.closed) return;
    const have = this.opts.store.have;
    let wants = false;
    if (!this.complete) for (let p = 0; p < this.pieceCount && !wants; p++) wants = !have[p] && this.peerHas(c, p);
    if (wants && !c.wire.amInterested) c.wire.interested();
    else if (!wants && c.wire.amInterested) c.wire.uninterested();
  }

  /** A piece verified here: tell every peer, and re-check what we still want from each. */
  pieceVerified(p: PieceIndex): void {
    for (const c of this.peers) {
      if (!c.handshaken) continue;
      if (!this.opts.superSeed) c.wire.have(p);
      this.updateInterest(c);
      if (this.complete && c.counted === 'all') c.close('both sides are seeds');
    }
  }

  // ---- serving -----------------------------------------------------------

  private onRequest(c: Connection, p: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void): void {
    if (length <= 0 || length > MAX_BLOCK_BYTES || offset + length > this.pieceSize(p)) {
      return c.wire.violation(`asked for ${length} bytes at ${offset} of piece ${p}`);
    }
    if (c.wire.peerRequests.length > MAX_PEER_REQUESTS) return c.wire.violation(`queued more than ${MAX_PEER_REQUESTS} requests`);
    if (!this.opts.store.have[p]) return respond(new IsosyncError('NOT_FOUND', `Cannot serve piece ${p}: it is not verified here`, { piece: p }));
    const u: Upload = { c, piece: p, offset, length, respond, seq: this.uploadSeq++, at: Date.now() };
    if (this.up.unlimited && !this.opts.shareWaitMs) {
      this.markSent(u);
      return void this.serve(u);
    }
    this.uploads.push(u);
    void this.drainUploads();
  }

  private onCancel(c: Connection, p: number, offset: number, length: number): void {
    const i = this.uploads.findIndex((u) => u.c === c && u.piece === p && u.offset === offset && u.length === length);
    if (i >= 0) this.uploads.splice(i, 1);
  }

  /**
   * Serves queued requests, choosing each time the best one (nextUpload):
   * one at a time as the upload limit allows, or, unlimited, all that may go
   * now. Requests held back by share-first wake the loop when their wait ends.
   */
  private async drainUploads(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let u = this.nextUpload(); u && !this.closing; u = this.nextUpload()) {
        if (this.up.unlimited) void this.serve(u);
        else {
          await this.up.take(u.length);
          await this.serve(u);
        }
      }
    } finally {
      this.serving = false;
    }
    const wait = this.opts.shareWaitMs ?? 0;
    if (this.closing || this.uploads.length === 0 || wait <= 0 || this.uploadWake) return;
    const due = this.uploads.reduce((m, u) => Math.min(m, u.at + wait), Infinity);
    this.uploadWake = setTimeout(() => {
      this.uploadWake = undefined;
      void this.drainUploads();
    }, Math.max(1, due - Date.now()));
    this.uploadWake.unref();
  }

  /**
   * Takes from the queue the request whose piece went to the fewest other
   * peers (then the oldest), skipping, with share-first, pieces another
   * connected peer got until their wait ends; drops dead requests.
   */
  private nextUpload(): Upload | undefined {
    this.uploads = this.uploads.filter((u) => !u.c.closed && !u.c.wire.amChoking);
    const wait = this.opts.shareWaitMs ?? 0;
    const now = Date.now();
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < this.uploads.length; i++) {
      const u = this.uploads[i]!;
      let others = 0;
      for (const o of this.sentTo.get(u.piece) ?? []) if (o !== u.c && (!o.closed || this.departedSeeds.has(o))) others++;
      if (others > 0 && now - u.at < wait) continue;
      const score = others * 2 ** 32 + u.seq;
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best < 0) return undefined;
    const u = this.uploads.splice(best, 1)[0]!;
    this.markSent(u);
    return u;
  }

  /** Records that `u.c` is being sent bytes of `u.piece` (chosen, so later choices see it at once). */
  private markSent(u: Upload): void {
    let sent = this.sentTo.get(u.piece);
    if (!sent) this.sentTo.set(u.piece, (sent = new Set()));
    sent.add(u.c);
  }

  private async serve(u: Upload): Promise<void> {
    const { c, piece: p, offset, length } = u;
    try {
      const bytes = await this.readServed(p, offset, length);
      if (c.closed || c.wire.amChoking || !c.wire.peerRequests.some((r) => r.piece === p && r.offset === offset && r.length === length)) return;
      u.respond(null, bytes);
      c.uploaded += length;
      c.roundUp += length;
      this.uploaded += length;
      this.reports.get(c.address)!.uploaded += length;
    } catch (e) {
      const error = asIsosyncError(e, 'IO', { piece: p });
      this.warn('SERVE_FAILED', sourceOf.peer(c.address), `cannot serve piece ${p}: ${error.message}`, error);
      try {
        u.respond(e as Error);
      } catch (e2) {
        c.wire.violation(`caused an internal error (${(e2 as Error).message})`);
      }
    }
  }

  /** Bytes of verified piece p for a peer, through the window cache (a request that crosses a window is read alone). */
  private async readServed(p: number, offset: number, length: number): Promise<Uint8Array> {
    const pieceStart = p * this.opts.pieceLength;
    const wStart = Math.floor(offset / SERVE_WINDOW_BYTES) * SERVE_WINDOW_BYTES;
    const wEnd = Math.min(this.pieceSize(p), wStart + SERVE_WINDOW_BYTES);
    if (offset + length > wEnd) return this.opts.store.read(pieceStart + offset, length);
    const at = pieceStart + wStart;
    let w = this.windows.get(at);
    if (w) this.windows.delete(at);
    else {
      w = this.opts.store.read(at, wEnd - wStart);
      const mine = w;
      w.catch(() => this.windows.get(at) === mine && this.windows.delete(at));
    }
    this.windows.set(at, w);
    while (this.windows.size > SERVE_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    const bytes = await w;
    return bytes.subarray(offset - wStart, offset - wStart + length);
  }

  private rechoke(roundEnd: boolean): void {
    if (this.closing) return;
    if (roundEnd) this.round++;
    const seeding = this.complete;
    const candidates = [...this.peers]
      .filter((c) => c.handshaken && !c.closed)
      .map((c) => ({ peer: c, interested: c.wire.peerInterested, rate: seeding ? c.roundUp : c.roundDown, snubbed: !seeding && c.inflight.size > 0 && Date.now() - c.lastBlockAt > 60_000 }));
    const rotate = roundEnd && this.round % OPTIMISTIC_ROUNDS === 0;
    const { unchoke, optimistic } = decideUnchoke(candidates, this.opts.uploadSlots ?? DEFAULT_UPLOAD_SLOTS, this.optimistic, rotate);
    this.optimistic = optimistic;
    for (const { peer } of candidates) {
      if (unchoke.has(peer)) peer.wire.unchoke();
      else peer.wire.choke();
      if (roundEnd) {
        peer.roundUp = 0;
        peer.roundDown = 0;
      }
    }
  }

  /** BEP 16: reveal to `c` the piece offered least so far that it lacks. */
  private offerNext(c: Connection): void {
    let best = -1;
    for (let p = 0; p < this.pieceCount; p++) {
      if (this.peerHas(c, p)) continue;
      if (best < 0 || this.offerCount[p]! + this.availability(p) < this.offerCount[best]! + this.availability(best)) best = p;
    }
    if (best < 0) return;
    this.offered.set(c, { piece: best, at: Date.now() });
    this.offerCount[best] = this.offerCount[best]! + 1;
    c.wire.have(best);
  }

  // ---- fetching ----------------------------------------------------------

  /** Whether some connected peer (not in `avoid`) has piece p. */
  canServe(p: number, avoid: ReadonlySet<unknown> = new Set()): boolean {
    for (const c of this.peers) if (c.handshaken && !avoid.has(c) && this.peerHas(c, p)) return true;
    return false;
  }

  /**
   * The peer to ask a whole copy of piece p from: one that has it, not in
   * `avoid` if possible, with the fewest convictions.
   */
  pickPeerFor(p: number, avoid: ReadonlySet<unknown>): Connection | undefined {
    const having = [...this.peers].filter((c) => c.handshaken && !c.closed && this.peerHas(c, p));
    const fresh = having.filter((c) => !avoid.has(c));
    const pool = fresh.length > 0 ? fresh : having;
    pool.sort((a, b) => (this.strikes.get(a) ?? 0) - (this.strikes.get(b) ?? 0) || Math.random() - 0.5);
    return pool[0];
  }

  /** Whether a connected peer wants something we have (it said `interested`). */
  get wanted(): boolean {
    for (const c of this.peers) if (c.handshaken && !c.closed && c.wire.peerInterested) return true;
    return false;
  }

  /** Blocks wanted and not yet received. */
  get pendingBlocks(): number {
    return this.book.size;
  }

  get connectedPeers(): number {
    let n = 0;
    for (const c of this.peers) if (c.handshaken) n++;
    return n;
  }

  /**
   * Fetches absolute byte ranges, all inside piece p, from peers, exactly
   * (requests of at most 16 KiB). Resolves with the bytes of each range and,
   * for exact blame, who sent each request's bytes. Peers in `avoid` are used
   * only when no other peer has the piece; `pin` alone serves the piece while
   * it is connected.
   */
  fetchRanges(p: number, ranges: readonly Span[], avoid: ReadonlySet<unknown> = new Set(), pin?: Connection): Promise<{ parts: Uint8Array[]; blame: { start: number; end: number; who: Connection }[] }> {
    const base = p * this.opts.pieceLength;
    const blocks = requestsFor(p, this.pieceSize(p), ranges.map((r) => ({ start: r.start - base, end: r.end - base })));
    const av = this.avoid.get(p) ?? new Set<Connection>();
    for (const a of avoid) if (a instanceof Connection) av.add(a);
    this.avoid.set(p, av);
    if (pin) this.pinned.set(p, pin);
    return new Promise((resolve, reject) => {
      const got = new Map<string, { bytes: Uint8Array; from: Connection }>();
      const perBlock = new Map<string, Waiter>();
      let lastProgress = Date.now();
      const noPeerMs = this.opts.noPeerMs ?? NO_PEER_MS;
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearInterval(watch);
        for (const b of blocks) {
          const set = this.waiters.get(key(b));
          set?.delete(perBlock.get(key(b))!);
          if (set && set.size === 0) {
            // Nobody else waits for this request: stop asking for it.
            this.waiters.delete(key(b));
            for (const c of this.book.drop(b)) this.unask(c, b);
          }
        }
        this.avoid.delete(p);
        this.pinned.delete(p);
        if (err) return reject(err);
        // Requests never straddle two ranges (requestsFor cuts each range on its own): copy each into its range.
        const parts = ranges.map((r) => new Uint8Array(r.end - r.start));
        let ri = 0;
        for (const b of blocks) {
          const at = base + b.offset;
          while (ranges[ri]!.end <= at) ri++;
          parts[ri]!.set(got.get(key(b))!.bytes, at - ranges[ri]!.start);
        }
        resolve({ parts, blame: blocks.map((b) => ({ start: base + b.offset, end: base + b.offset + b.length, who: got.get(key(b))!.from })) });
      };
      for (const b of blocks) {
        perBlock.set(key(b), {
          deliver: (bytes, from) => {
            got.set(key(b), { bytes, from });
            lastProgress = Date.now();
            if (got.size === perBlock.size) finish();
          },
        });
      }
      const watch = setInterval(() => {
        if (this.closing) return finish(new IsosyncError('NETWORK', `Cannot fetch piece ${p}: the swarm was closed`, { piece: p }));
        if (this.pinned.get(p)?.closed) this.pinned.delete(p); // the pinned peer left: anyone may finish the copy
        // Waiting is fine while some peer has the piece (slow, or choking us for now).
        if (this.canServe(p)) lastProgress = Math.max(lastProgress, Date.now() - 1);
        if (Date.now() - lastProgress > noPeerMs) {
          finish(new IsosyncError('NETWORK', `Cannot fetch piece ${p}: no peer sent it in ${Math.round(noPeerMs / 1000)} s`, { piece: p }));
        }
      }, 500);
      watch.unref();
      for (const b of blocks) {
        let set = this.waiters.get(key(b));
        if (!set) this.waiters.set(key(b), (set = new Set()));
        set.add(perBlock.get(key(b))!);
        this.book.want(b);
      }
      this.pump();
    });
  }

  /** Hands free pipeline slots of unchoked peers the blocks they can serve. */
  private pump(): void {
    if (this.closing || this.book.size === 0) return;
    const now = Date.now();
    // Leechers first: a block another leecher can give is not asked of a seed, which keeps the seeds' upload for rare pieces.
    const order = [...this.peers].sort((a, b) => Number(a.counted === 'all') - Number(b.counted === 'all'));
    for (const c of order) {
      if (!c.handshaken || c.closed || c.wire.peerChoking) continue;
      const slots = PIPELINE_DEPTH - c.inflight.size;
      if (slots <= 0) continue;
      const avoided = (p: number) =>
        (this.pinned.has(p) && this.pinned.get(p) !== c) ||
        ((this.avoid.get(p)?.has(c) ?? false) && [...this.peers].some((o) => o !== c && o.handshaken && this.peerHas(o, p) && !this.avoid.get(p)?.has(o))) ||
        (c.counted === 'all' && !this.pinned.has(p) && this.seedSpared(p));
      const blocks = this.book.assign(c, (p) => this.peerHas(c, p), slots, now, avoided, !this.piecesToStart);
      for (const b of blocks) this.ask(c, b);
    }
  }

  /**
   * Asks `c` for request `b`: as it is, or, from a peer that serves aligned
   * blocks only, as the aligned block holding it (one wire request carries
   * every request of that block asked of the peer).
   */
  /** Whether a leecher that unchokes us and keeps up has piece p (then seeds are not asked for it). */
  private seedSpared(p: number): boolean {
    for (const o of this.peers) if (o.counted !== 'all' && o.handshaken && !o.closed && !o.wire.peerChoking && o.timeouts === 0 && o.counted.has(p) && !this.avoid.get(p)?.has(o)) return true;
    return false;
  }

  /** A leecher announced piece p: requests of it waiting at seeds only are withdrawn there and asked of leechers (pump). */
  private reclaimFromSeeds(p: number): void {
    if (this.pinned.has(p) || !this.seedSpared(p)) return;
    let moved = 0;
    for (const [b, askedOf] of this.book.askedFor(p)) {
      if (askedOf.length === 0 || askedOf.some((x) => x.counted !== 'all')) continue;
      for (const s of askedOf) {
        this.unask(s, b);
        this.book.release(b, s);
      }
      moved++;
    }
    if (moved > 0) this.pump();
  }

  private ask(c: Connection, b: Block): void {
    c.inflight.set(key(b), b);
    let onWire = b;
    if (c.alignedOnly) {
      onWire = alignedBlockOf(b, this.pieceSize(b.piece));
      const group = c.alignedAsks.get(key(onWire));
      if (group) return void group.set(key(b), b);
      c.alignedAsks.set(key(onWire), new Map([[key(b), b]]));
    }
    const grouped = c.alignedOnly;
    const parts = (): Block[] => (grouped ? [...(c.alignedAsks.get(key(onWire))?.values() ?? [])] : c.inflight.has(key(b)) ? [b] : []);
    void this.down.take(onWire.length).then(() => {
      if (c.closed || parts().length === 0) return void (grouped && c.alignedAsks.delete(key(onWire)));
      c.wire.request(onWire.piece, onWire.offset, onWire.length, (err, bytes) => {
        try {
          const asked = parts();
          if (grouped) c.alignedAsks.delete(key(onWire));
          if (err || !bytes) {
            if (!grouped && !c.closed && err?.message === 'request was rejected' && !c.wire.peerChoking && !isAlignedBlock(b, this.pieceSize(b.piece))) this.unalignedStrike(c, 'rejects');
            for (const x of asked) this.answered(c, x, undefined);
            return;
          }
          if (bytes.length !== onWire.length) return c.wire.violation(`sent ${bytes.length} bytes for a ${onWire.length}-byte request of piece ${onWire.piece}`);
          c.lastBlockAt = Date.now();
          c.timeouts = 0;
          if (!grouped && !isAlignedBlock(b, this.pieceSize(b.piece))) c.unalignedAnswered++;
          c.downloaded += bytes.length;
          c.roundDown += bytes.length;
          this.downloaded += bytes.length;
          this.reports.get(c.address)!.downloaded += bytes.length;
          for (const x of asked) this.answered(c, x, bytes.subarray(x.offset - onWire.offset, x.offset - onWire.offset + x.length));
        } catch (e) {
          c.wire.violation(`caused an internal error (${(e as Error).message})`);
        }
      });
    });
  }

  /** Withdraws the ask of `c` for `b` (another peer sent it, or nobody wants it now); false if it was not asked. */
  private unask(c: Connection, b: Block): boolean {
    if (!c.inflight.delete(key(b))) return false;
    const onWire = alignedBlockOf(b, this.pieceSize(b.piece));
    const group = c.alignedAsks.get(key(onWire));
    if (group?.has(key(b))) {
      group.delete(key(b));
      if (group.size > 0) return true;
      c.alignedAsks.delete(key(onWire));
      c.wire.cancel(onWire.piece, onWire.offset, onWire.length);
    } else c.wire.cancel(b.piece, b.offset, b.length);
    return true;
  }

  /**
   * `c` rejected or ignored an unaligned request: UNALIGNED_STRIKES of them,
   * and it is asked aligned blocks only. A peer that ever served one takes
   * them (its rejects have other causes: a piece it cannot read just now).
   */
  private unalignedStrike(c: Connection, how: string): void {
    if (c.alignedOnly || c.unalignedAnswered > 0 || ++c.unalignedStrikes < UNALIGNED_STRIKES) return;
    c.alignedOnly = true;
    this.alignedOnly.add(c.address);
    this.warn('PEER_ALIGNED_ONLY', sourceOf.peer(c.address), `${how} requests of part of a 16 KiB block: asking it whole blocks`);
  }

  /** The ask of `c` for `b` ended: with its bytes, or without (rejected, cancelled, choked, closed: it goes back to the book). */
  private answered(c: Connection, b: Block, bytes: Uint8Array | undefined): void {
    const k = key(b);
    c.inflight.delete(k);
    if (!bytes) {
      this.book.release(b, c);
      if (!c.closed) setImmediate(() => this.pump());
      return;
    }
    const set = this.waiters.get(k);
    if (set && this.book.isWanted(b)) {
      for (const other of this.book.drop(b)) if (other !== c) this.unask(other, b);
      this.waiters.delete(k);
      const copy = Uint8Array.from(bytes);
      for (const w of set) w.deliver(copy, c);
    }
    this.pump();
  }

  /** Every second: time out old asks, drop stalled peers. */
  private tick(): void {
    const timeout = this.opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const now = Date.now();
    const stalled = new Set<Connection>();
    for (const [b, c] of this.book.expired(now - timeout)) {
      const grouped = c.alignedAsks.get(key(alignedBlockOf(b, this.pieceSize(b.piece))))?.has(key(b)) ?? false;
      if (!this.unask(c, b)) continue;
      this.book.release(b, c);
      if (!grouped && !isAlignedBlock(b, this.pieceSize(b.piece))) this.unalignedStrike(c, 'ignores');
      stalled.add(c);
    }
    for (const c of stalled) {
      c.timeouts++;
      if (c.timeouts >= MAX_TIMEOUTS && now - c.lastBlockAt > timeout) {
        this.warn('PEER_STALLED', sourceOf.peer(c.address), `dropped: it stalls (no block in ${Math.round((now - c.lastBlockAt) / 1000)} s)`);
        this.bannedAddresses.add(c.address);
        c.close('stalled');
      }
    }
    if (stalled.size > 0) this.pump();
    for (const [c, at] of this.departedSeeds) {
      if (now - at < SHARE_MEMORY_MS) continue;
      this.departedSeeds.delete(c);
      for (const sent of this.sentTo.values()) sent.delete(c);
    }
    // Super-seeding: a peer whose offered piece was not passed on in time gets one more (no peer waits forever).
    for (const [c, o] of this.offered) if (now - o.at > SUPER_SEED_PATIENCE_MS) this.offerNext(c);
  }

  // ---- integrity ---------------------------------------------------------

  /** `who` sent bytes a piece hash proved wrong; BAN_STRIKES times bans it. */
  convict(who: unknown, why: string): void {
    if (!(who instanceof Connection)) return;
    const n = (this.strikes.get(who) ?? 0) + 1;
    this.strikes.set(who, n);
    if (n < BAN_STRIKES) {
      this.warn('PEER_STRIKE', sourceOf.peer(who.address), why);
      return;
    }
    this.warn('PEER_BANNED', sourceOf.peer(who.address), `banned: it ${why} (${n} bad pieces)`);
    this.bannedAddresses.add(who.address);
    if (who.remotePeerId) this.bannedIds.add(who.remotePeerId);
    const report = this.reports.get(who.address);
    if (report) report.banned = true;
    who.close('banned');
  }

  private warn(code: WarningCode, source: string, detail: string, error?: IsosyncError): void {
    (this.opts.onWarning ?? ignoreWarnings)({ code, source, detail, ...(error ? { error } : {}) });
  }

  /** Uploaded/downloaded totals and each peer ever connected. */
  stats(): { uploaded: number; downloaded: number; peers: PeerReport[] } {
    return { uploaded: this.uploaded, downloaded: this.downloaded, peers: [...this.reports.values()].map((r) => ({ ...r })) };
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    if (this.uploadWake) clearTimeout(this.uploadWake);
    this.up.close();
    this.down.close();
    for (const c of [...this.peers]) c.close('shutting down');
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

function bitfieldOf(have: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(have.length / 8));
  have.forEach((h, i) => {
    if (h) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

function everyPiece(bits: { get(i: number): boolean }, n: number): boolean {
  for (let i = 0; i < n; i++) if (!bits.get(i)) return false;
  return true;
}
