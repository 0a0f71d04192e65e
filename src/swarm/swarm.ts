/**
 * The swarm of one torrent (BEP 3 with the BEP 6 fast extension): it routes
 * what each peer link says into the cores and applies what they decide.
 *
 *   peer-set.ts      listening, dialing, redialing, handshake checks, bans
 *   availability.ts  who has which piece (rarest first)
 *   bt-peer.ts       a peer as a source of the download engine (the engine
 *                    decides what to ask; a sync attaches one)
 *   uploads.ts       serving requests (upload-queue.ts: rarest sent first,
 *                    share first), through the choker's slots (choker.ts)
 *   super-seed.ts    BEP 16 offers
 *
 * Leeching goes through the engine (engine/engine.ts): every handshaken peer
 * becomes a BtPeer handle of it. Seeding serves verified pieces only (the
 * store's `have`), and `pieceVerified` tells every peer at once. A peer that
 * breaks the protocol, floods or stalls is dropped and the rest goes on.
 * Nothing here prints: warnings go to `onWarning`.
 */
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { ignoreWarnings, sourceOf, type WarningSink } from '../core/warnings.js';
import { Availability } from './availability.js';
import { BtPeer, type PeerContext } from './bt-peer.js';
import { CHOKE_ROUND_MS, ChokeRounds } from './choker.js';
import { Ledger, type PeerReport } from './ledger.js';
import { listenAddressOf, newPeerId, type PeerLink } from './peer-link.js';
import type { HashAsker } from './hash-extension.js';
import { MAX_PEERS, PeerSet } from './peer-set.js';
import { serveMetadata } from './metadata-extension.js';
import { pexExtension } from './pex-extension.js';
import { TokenBucket } from './rate-limit.js';
import { guarded } from './safe-wire.js';
import type { SuperSeed } from './super-seed.js';
import type { EnginePort, SwarmOptions } from './swarm-options.js';
import { MAX_PEER_REQUESTS, Uploader } from './uploads.js';

export { MAX_PEER_REQUESTS, newPeerId, type PeerReport };
export type { EnginePort, SwarmOptions, SwarmStore } from './swarm-options.js';

/**
 * Share-first wait of a publisher's seed (`isosync serve`): long enough for a
 * leecher on a LAN or loopback to verify a piece and announce it, short
 * enough that a leecher that cannot reach the others is only slowed.
 */
export const PUBLISHER_SHARE_WAIT_MS = 1500;
/** A peer that sent us nothing for this long while we asked it is snubbed: no regular upload slot. */
export const SNUB_MS = 60_000;

export class Swarm {
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  private readonly set: PeerSet;
  private readonly availability: Availability<PeerLink>;
  private readonly uploader: Uploader;
  private superSeed: SuperSeed<PeerLink> | undefined;
  private attachHashes: typeof import('./hash-extension.js').attachHashes | undefined; // BEP 52, a v2 or hybrid torrent's
  private readonly handles = new Map<PeerLink, BtPeer>();
  /** BEP 52 hash requests we make of each peer. */
  readonly askers = new Map<PeerLink, HashAsker>();
  private readonly ledger = new Ledger();
  /** Addresses of peers that serve aligned blocks only (remembered across reconnects). */
  private readonly alignedOnly = new Set<string>();
  private readonly down: TokenBucket;
  private readonly ctx: PeerContext;
  private readonly warn: WarningSink;
  private engine: EnginePort | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly choker: ChokeRounds<PeerLink>;
  /** ut_pex extensions to tell when our connected set changes. */
  private readonly pexPokes = new Set<() => void>();
  private closing = false;
  /** HAVEs owed to peers that have every piece: they leave together on the next tick (pieceVerified). */
  private readonly seedHaves = new Map<PeerLink, PieceIndex[]>();
  /** No piece before this one is missing (complete). */
  private firstMissing = 0;

  private constructor(readonly opts: SwarmOptions) {
    this.peerId = opts.peerId ?? newPeerId();
    this.pieceCount = Math.ceil(opts.length / opts.pieceLength);
    this.warn = opts.onWarning ?? ignoreWarnings;
    this.choker = new ChokeRounds(Math.random, opts.uploadSlots);
    this.availability = new Availability(this.pieceCount, (p) => this.engine?.availabilityChanged(p));
    this.down = opts.downloadGate ?? new TokenBucket(opts.downloadLimit ?? 0);
    this.set = new PeerSet({
      spec: { infoHash: opts.infoHash, peerId: this.peerId, pieceCount: this.pieceCount, ...(opts.altInfoHash ? { altInfoHash: opts.altInfoHash } : {}) },
      onLink: (l) => this.attach(l),
      warn: this.warn,
      ...(opts.encryption ? { encryption: opts.encryption } : {}),
      ...(opts.utp !== undefined ? { utp: opts.utp } : {}),
    });
    this.uploader = new Uploader({
      have: opts.store.have,
      read: (o, n, into) => opts.store.read(o, n, into),
      ...(opts.store.readNow ? { readNow: opts.store.readNow.bind(opts.store) } : {}),
      pieceLength: opts.pieceLength,
      pieceSize: (p) => this.pieceSize(p),
      ...(opts.padLastPiece ? { askable: () => opts.pieceLength } : {}),
      up: new TokenBucket(opts.uploadLimit ?? 0),
      shareWaitMs: opts.shareWaitMs ?? 0,
      now: Date.now,
      sent: (link, n) => this.ledger.sent(link, n),
      warn: this.warn,
    });
    this.ctx = {
      availability: this.availability,
      down: this.down,
      pieceSize: (p) => this.pieceSize(p),
      received: (link, n) => this.ledger.received(link, n, Date.now()),
      alignedOnly: (link, how) => {
        this.alignedOnly.add(link.address);
        if (how !== 'hangs up on') this.warn({ code: 'PEER_ALIGNED_ONLY', source: sourceOf.peer(link.address), detail: `${how} requests of part of a 16 KiB block: asking it whole blocks` });
      },
      drop: (link, reason, ban) => {
        if (ban) this.set.ban(link);
        if (reason === 'banned') this.ledger.of(link.address).banned = true;
        link.close(reason);
      },
    };
  }

  /** Creates the swarm and, when `port` is given, starts listening. BEP 16 and BEP 52 load only for a swarm that uses them (a v1 sync: two modules fewer). */
  static async start(opts: SwarmOptions): Promise<Swarm> {
    const s = new Swarm(opts);
    if (opts.superSeed) s.superSeed = new (await import('./super-seed.js')).SuperSeed(s.pieceCount);
    if (opts.v2) s.attachHashes = (await import('./hash-extension.js')).attachHashes;
    if (opts.port !== undefined) await s.set.listen(opts.host ?? '127.0.0.1', opts.port);
    s.timers.push(setInterval(() => s.tick(), 1000), setInterval(() => s.rechoke(true), CHOKE_ROUND_MS));
    for (const t of s.timers) t.unref();
    return s;
  }

  get port(): number | undefined {
    return this.set.port;
  }

  get host(): string | undefined {
    return this.set.host;
  }

  pieceSize(p: PieceIndex): number {
    return Math.min(this.opts.pieceLength, this.opts.length - p * this.opts.pieceLength);
  }

  /** Every piece is here. Pieces only become verified: the first missing one is looked for from where the last look stopped. */
  get complete(): boolean {
    const have = this.opts.store.have;
    while (this.firstMissing < have.length && have[this.firstMissing]) this.firstMissing++;
    return this.firstMissing >= have.length;
  }

  /** Connects to a peer (`--peer HOST:PORT`, a tracker's list). */
  addPeer(host: string, port: number): void {
    this.set.addPeer(host, port);
  }

  /** Downloads go through `engine` from now on: every handshaken peer is one of its sources; `announcing`: trackers may still give peers. */
  attachEngine(engine: EnginePort, announcing: () => boolean = () => false, trackersTried: () => readonly string[] = () => []): void {
    this.engine = engine;
    const swarm = this;
    engine.attachPeers({
      availability: (p) => swarm.availability.count(p),
      get seeds() {
        return swarm.availability.seeds;
      },
      get connected() {
        return swarm.connectedPeers;
      },
      discovering: () => swarm.set.discovering() || announcing(),
      unreachable: () => [...swarm.set.unreachable, ...trackersTried()],
    });
    for (const h of this.handles.values()) engine.add(h);
  }

  private attach(link: PeerLink): void {
    this.ledger.of(link.address);
    const w = link.wire;
    w.extendedHandshake = { v: 'isosync', reqq: MAX_PEER_REQUESTS };
    if (this.port !== undefined) w.extendedHandshake['p'] = this.port;
    if (this.opts.metadata && this.opts.metadata.length > 0) w.use(serveMetadata(this.opts.metadata));
    if (this.opts.pex) {
      w.use(
        pexExtension({
          connected: () => [...this.set.links].filter((l) => l.handshaken && !l.closed).flatMap((l) => listenAddressOf(l) ?? []),
          onPeers: (peers) => {
            for (const p of peers) if (this.set.links.size < MAX_PEERS) this.addPeer(p.host, p.port);
          },
          subscribe: (poke) => {
            this.pexPokes.add(poke);
            return () => this.pexPokes.delete(poke);
          },
          peerAddress: () => listenAddressOf(link),
          now: () => Date.now(),
        }),
      );
    }
    link.onClose = (reason) => this.detach(link, reason);
    link.onDrain = () => this.uploader.drained(link);
    w.v2 = this.opts.v2 === true;
    if (this.attachHashes) this.askers.set(link, this.attachHashes(link, this.opts.hashes));
    w.on('handshake', guarded(w, (ih: string, pid: string, ext) => this.onHandshake(link, ih, pid, ext.fast === true)));
    w.on('bitfield', guarded(w, () => this.onBitfield(link, false)));
    w.on('have-all', guarded(w, () => this.onBitfield(link, true)));
    w.on('have-none', guarded(w, () => this.updateInterest(link)));
    w.on('have', guarded(w, (i: number) => this.onHave(link, pieceIndex(i))));
    w.on('unchoke', guarded(w, () => this.handles.get(link)?.changed()));
    w.on('choke', guarded(w, () => this.handles.get(link)?.changed()));
    w.on('interested', guarded(w, () => this.rechoke(false)));
    w.on('uninterested', guarded(w, () => this.rechoke(false)));
    w.on('request', guarded(w, (i: number, off: number, len: number, respond) => this.uploader.request(link, pieceIndex(i), off, len, respond)));
    w.on('cancel', guarded(w, (i: number, off: number, len: number) => this.uploader.cancel(link, i, off, len)));
  }

  private onHandshake(link: PeerLink, ihHex: string, pidHex: string, fast: boolean): void {
    if (!this.set.handshake(link, ihHex, pidHex)) return;
    link.infoHashHex = ihHex;
    if (!link.outgoing) {
      // A hybrid's peer is answered with the infohash it asked for, or the v2 one when it speaks v2 (BEP 52 upgrade).
      const alt = this.opts.altInfoHash;
      const v2 = alt && link.wire.peerV2 ? this.opts.v2InfoHash : undefined;
      const answer = v2 ?? (alt && ihHex === Buffer.from(alt).toString('hex') ? alt : this.opts.infoHash);
      link.infoHashHex = Buffer.from(answer).toString('hex');
      link.wire.handshake(answer, this.peerId, { fast: true, dht: false });
    }
    this.ledger.of(link.address).peerId = pidHex;
    for (const poke of this.pexPokes) poke();
    // A super-seed shows nothing at first (BEP 16), then one piece at a time.
    const hide = this.superSeed !== undefined && this.complete;
    link.announceHaves(this.opts.store.have, hide, fast);
    if (hide) this.offerNext(link);
    const h = new BtPeer(link, this.ctx, this.alignedOnly.has(link.address));
    this.handles.set(link, h);
    this.engine?.add(h);
    // A free upload slot unchokes it now, before it says interested (choker.ts).
    this.rechoke(false);
  }

  private detach(link: PeerLink, reason: string): void {
    this.ledger.closed(link, reason);
    const complete = this.availability.isComplete(link);
    this.availability.remove(link);
    // A redial (if any) is due before the engine looks for another source of this peer's pieces.
    this.set.removed(link, reason, !this.complete && !this.closing);
    this.handles.get(link)?.closed(reason);
    this.handles.delete(link);
    this.askers.delete(link);
    this.superSeed?.forget(link);
    this.seedHaves.delete(link);
    for (const poke of this.pexPokes) poke();
    // A peer that left complete still serves the others for a while: its pieces stay counted as passed on (share-first).
    this.uploader.left(link, reason === 'both sides are seeds' && complete);
    if (!this.closing) this.rechoke(false);
  }

  // ---- what peers have ----

  private onBitfield(link: PeerLink, all: boolean): void {
    this.availability.bitfield(link, (i) => link.wire.peerPieces.get(i), all || link.wire.peerPieces.get(-1) === true);
    this.afterPeerHas(link);
  }

  private onHave(link: PeerLink, p: PieceIndex): void {
    // A piece we hold changes neither the engine's work nor our interest, unless it made the peer a seed (DESIGN.md, swarm).
    const ours = this.opts.store.have[p] === true;
    // A leecher announced a piece: blocks of it waiting at seeds go to it (the engine's reclaim).
    if (this.availability.have(link, p) === 'new' && !ours) this.engine?.announced(p);
    this.uploader.announced(p);
    // BEP 16: a piece we offered shows up elsewhere: its first holder may get the next one.
    for (const peer of this.superSeed?.passedOn(link, p, this.set.links.size <= 1) ?? []) this.offerNext(peer);
    if (!ours || this.availability.isComplete(link)) this.afterPeerHas(link);
  }

  private afterPeerHas(link: PeerLink): void {
    // Two seeds have nothing to say to each other.
    if (this.complete && this.availability.isComplete(link)) return link.close('both sides are seeds');
    this.updateInterest(link);
    this.handles.get(link)?.changed();
  }

  private updateInterest(link: PeerLink): void {
    if (!link.handshaken || link.closed) return;
    const have = this.opts.store.have;
    // A seed has whatever we lack: no walk over the pieces once per piece verified.
    const seed = this.availability.isComplete(link);
    // From the piece that made us interested last (a walk from piece 0 per peer per piece verified: ~1.5 % of a serve client's CPU).
    const lacked = seed || this.complete ? -1 : this.availability.firstLacked(link, have, link.wantFrom);
    if (lacked >= 0) link.wantFrom = lacked;
    const wants = (seed && !this.complete) || lacked >= 0;
    if (wants && !link.wire.amInterested) link.wire.interested();
    else if (!wants && link.wire.amInterested) link.wire.uninterested();
  }

  /** How many connected peers have piece p. */
  availabilityOf(p: PieceIndex): number {
    return this.availability.count(p);
  }

  /**
   * A piece verified here: tell every peer, and re-check what we still want
   * from each. A peer with every piece hears it on the next tick, with the
   * others verified meanwhile, in one write: it asks us nothing, and a write
   * per piece woke a seed hundreds of times per delta sync (a super-seed
   * never shows a full bitfield, so it still hears each piece at once).
   */
  pieceVerified(p: PieceIndex): void {
    for (const link of this.set.links) {
      if (!link.handshaken) continue;
      const seed = this.availability.isComplete(link);
      if (this.superSeed) {
        /* BEP 16: pieces are offered one at a time (offerNext), not announced */
      } else if (seed) (this.seedHaves.get(link) ?? this.seedHaves.set(link, []).get(link)!).push(p);
      else link.wire.have(p);
      if (link.wire.amInterested) this.updateInterest(link); // a piece verified only takes wants away
      if (this.complete && seed) {
        this.sendSeedHaves();
        link.close('both sides are seeds');
      }
    }
  }

  /** The HAVEs owed to seeds leave (pieceVerified). */
  private sendSeedHaves(): void {
    for (const [link, pieces] of this.seedHaves) if (!link.closed) for (const p of pieces) link.wire.have(p);
    this.seedHaves.clear();
  }

  /** Whether a connected peer lacks pieces (it may ask for the ones we verify). */
  get peersLacking(): boolean {
    for (const l of this.set.links) if (l.handshaken && !l.closed && !this.availability.isComplete(l)) return true;
    return false;
  }

  /** Whether a connected peer wants something we have (it said `interested`). */
  get wanted(): boolean {
    for (const l of this.set.links) if (l.handshaken && !l.closed && l.wire.peerInterested) return true;
    return false;
  }

  get connectedPeers(): number {
    let n = 0;
    for (const l of this.set.links) if (l.handshaken) n++;
    return n;
  }

  // ---- uploading ----

  private rechoke(roundEnd: boolean): void {
    if (this.closing) return;
    const seeding = this.complete;
    const now = Date.now();
    this.choker.round(
      [...this.set.links].filter((l) => l.handshaken && !l.closed).map((l) => ({ peer: l, interested: l.wire.peerInterested, rate: seeding ? l.roundUp : l.roundDown, snubbed: !seeding && l.wire.requests.length > 0 && now - l.lastBlockAt > SNUB_MS })),
      roundEnd,
      (l, unchoke) => (unchoke ? l.wire.unchoke() : l.wire.choke()),
    );
    if (!roundEnd) return;
    for (const l of this.set.links) l.roundUp = l.roundDown = 0;
  }

  /** BEP 16: reveal to `link` the piece offered least so far that it lacks. */
  private offerNext(link: PeerLink): void {
    const p = this.superSeed?.offer(link, (i) => !this.availability.has(link, pieceIndex(i)), (i) => this.availability.count(pieceIndex(i)), Date.now());
    if (p !== undefined) link.wire.have(p);
  }

  /** Every second: share-first memory, super-seed patience. */
  private tick(): void {
    this.sendSeedHaves();
    this.uploader.tick();
    for (const link of this.superSeed?.due(Date.now()) ?? []) this.offerNext(link);
  }

  get uploaded(): number {
    return this.ledger.uploaded;
  }

  get downloaded(): number {
    return this.ledger.downloaded;
  }

  /** Uploaded/downloaded totals and each peer ever connected. */
  stats(): { uploaded: number; downloaded: number; peers: PeerReport[] } {
    return { uploaded: this.ledger.uploaded, downloaded: this.ledger.downloaded, peers: this.ledger.list() };
  }

  /** Peers may still come (dials, redials, handshakes under way). */
  discovering(): boolean {
    return this.set.discovering();
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.uploader.close();
    this.down.close();
    await this.set.close();
  }
}
