/**
 * Fetching a magnet link's info dictionary from peers (BEP 9 ut_metadata
 * over BEP 10), before any piece is known: the glue between peer wires and
 * the pure assembler of src/torrent/metadata-exchange.ts.
 *
 * Peers come from the caller (`addPeer`: --peer, the magnet's x.pe, its
 * trackers, the DHT) and from peers that dial our listener. The peer set
 * (peer-set.ts) dials, redials and checks handshakes as for a download; the
 * wires know no piece count yet (safe-wire.ts PIECE_COUNT_UNKNOWN) and
 * neither ask nor serve pieces.
 *
 * Each peer that advertises ut_metadata and a `metadata_size` is asked for
 * pieces, at most REQUESTS_PER_PEER at once; a piece unanswered for
 * REQUEST_TIMEOUT_MS, or rejected, may be asked of another peer. The first
 * size a peer declares sizes the assembler; peers declaring another size are
 * not asked. A peer that breaks the message rules is dropped and banned;
 * when the whole dictionary does not hash to the infohash, every peer that
 * sent a piece of it is banned, a warning says so, and the fetch starts over
 * with the others.
 *
 * `result` resolves with the verified bytes, or rejects once `timeoutMs`
 * passed without them (the error names the peers tried and what they did).
 * Nothing here prints: warnings go to `onWarning`.
 */
import type Wire from 'bittorrent-protocol';
import { IsosyncError } from '../errors.js';
import { ignoreWarnings, type WarningSink } from '../core/warnings.js';
import { decodeMetadataMessage, encodeMetadataMessage, MetadataAssembler, UT_METADATA, type ExpectedHashes } from '../torrent/metadata-exchange.js';
import { newPeerId, type PeerLink } from './peer-link.js';
import { PeerSet } from './peer-set.js';
import { guarded, PIECE_COUNT_UNKNOWN } from './safe-wire.js';

/** Metadata requests outstanding per peer: a 32 KiB-200 KiB dictionary comes in a few round trips. */
export const REQUESTS_PER_PEER = 4;
/** A metadata request unanswered this long may go to another peer. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Default deadline of a whole fetch. */
export const METADATA_TIMEOUT_MS = 90_000;

export interface MetadataFetchOptions {
  /** The infohash on the wire (v1, or v2 cut to 20 bytes). */
  readonly infoHash: Uint8Array;
  /** What the dictionary must hash to. */
  readonly expected: ExpectedHashes;
  readonly peerId?: Uint8Array;
  /** Listen address (default 127.0.0.1) and port (0: any free port). */
  readonly host?: string;
  readonly port?: number;
  readonly timeoutMs?: number;
  readonly encryption?: 'prefer-plaintext' | 'require';
  readonly onWarning?: WarningSink;
}

export interface FetchedMetadata {
  /** The info dictionary, verified against the infohash. */
  readonly rawInfo: Uint8Array;
  readonly version: 'v1' | 'v2';
  /** Where the peers that completed a handshake listen (to connect to again for the download). */
  readonly peers: readonly string[];
}

interface PeerState {
  /** metadata_size from its extended handshake; undefined until then, or when it has none. */
  size?: number;
  /** It rejected a request: it does not have the dictionary (BEP 9). */
  refused: boolean;
  readonly asked: Map<number, NodeJS.Timeout>;
  /** It sent a piece of the dictionary being assembled. */
  contributed: boolean;
}

export class MetadataFetch {
  readonly result: Promise<FetchedMetadata>;
  private readonly set: PeerSet;
  private readonly peers = new Map<PeerLink, PeerState>();
  private readonly warn: WarningSink;
  private readonly peerId: Uint8Array;
  private assembler: MetadataAssembler | undefined;
  private readonly reached = new Set<string>();
  private readonly outcomes = new Map<string, string>();
  private settle!: { resolve: (m: FetchedMetadata) => void; reject: (e: unknown) => void };
  private deadline: NodeJS.Timeout | undefined;
  private done = false;

  private constructor(private readonly o: MetadataFetchOptions) {
    this.warn = o.onWarning ?? ignoreWarnings;
    this.peerId = o.peerId ?? newPeerId();
    this.result = new Promise<FetchedMetadata>((resolve, reject) => (this.settle = { resolve, reject }));
    // The caller may stop waiting (an error elsewhere): a rejection nobody awaits must not crash the process.
    this.result.catch(() => undefined);
    this.set = new PeerSet({
      spec: { infoHash: o.infoHash, peerId: this.peerId, pieceCount: PIECE_COUNT_UNKNOWN },
      onLink: (l) => this.attach(l),
      warn: this.warn,
      ...(o.encryption ? { encryption: o.encryption } : {}),
    });
  }

  /** Starts listening and the deadline; peers are added with addPeer. */
  static async start(o: MetadataFetchOptions): Promise<MetadataFetch> {
    const f = new MetadataFetch(o);
    await f.set.listen(o.host ?? '127.0.0.1', o.port ?? 0);
    const ms = o.timeoutMs ?? METADATA_TIMEOUT_MS;
    f.deadline = setTimeout(() => f.fail(ms), ms);
    f.deadline.unref();
    return f;
  }

  get port(): number | undefined {
    return this.set.port;
  }

  get host(): string | undefined {
    return this.set.host;
  }

  addPeer(host: string, port: number): void {
    if (!this.done) this.set.addPeer(host, port);
  }

  /** Peers connected so far (handshake done). */
  get connectedPeers(): number {
    let n = 0;
    for (const l of this.set.links) if (l.handshaken && !l.closed) n++;
    return n;
  }

  private attach(link: PeerLink): void {
    const w = link.wire;
    w.extendedHandshake = { v: 'isosync' };
    if (this.port !== undefined) w.extendedHandshake['p'] = this.port;
    const state: PeerState = { refused: false, asked: new Map(), contributed: false };
    w.use(
      fetchExtension({
        onSize: (size) => {
          state.size = size;
          this.pump(link);
        },
        onData: (piece, totalSize, data) => this.onData(link, piece, totalSize, data),
        onReject: (piece) => {
          state.refused = true;
          this.outcomes.set(link.address, 'rejected the metadata request');
          this.release(link, piece);
        },
      }),
    );
    link.onClose = (reason) => {
      for (const [piece, timer] of state.asked) {
        clearTimeout(timer);
        this.assembler?.release(piece);
      }
      state.asked.clear();
      this.peers.delete(link);
      if (!this.outcomes.has(link.address)) this.outcomes.set(link.address, reason);
      this.set.removed(link, reason, !this.done);
      if (!this.done) for (const l of this.peers.keys()) this.pump(l);
    };
    w.on(
      'handshake',
      guarded(w, (ih: string, pid: string, ext) => {
        if (!this.set.handshake(link, ih, pid)) return;
        if (!link.outgoing) w.handshake(this.o.infoHash, this.peerId, { fast: true, dht: false });
        if (ext.fast === true && w.hasFast) w.haveNone();
        this.peers.set(link, state);
        const at = listenAddress(link);
        if (at) this.reached.add(at);
        if (!(ext as { extended?: boolean }).extended) this.outcomes.set(link.address, 'does not speak the extension protocol (BEP 10)');
      }),
    );
    // Nothing is asked or served before the dictionary is known; a peer's extended handshake without ut_metadata says it cannot help.
    w.on(
      'extended',
      guarded(w, (name: string) => {
        if (name === 'handshake' && state.size === undefined && !this.outcomes.has(link.address)) this.outcomes.set(link.address, 'offers no ut_metadata');
      }),
    );
  }

  /** Asks `link` for pieces nobody has (or whose asks went unanswered), up to REQUESTS_PER_PEER. */
  private pump(link: PeerLink): void {
    const state = this.peers.get(link);
    if (this.done || !state || state.size === undefined || state.refused || link.closed) return;
    if (!this.assembler) {
      try {
        this.assembler = new MetadataAssembler(state.size, this.o.expected);
      } catch (e) {
        this.ban(link, (e as Error).message);
        return;
      }
    }
    const a = this.assembler;
    if (state.size !== a.size) return;
    while (state.asked.size < REQUESTS_PER_PEER) {
      const piece = a.nextPiece();
      if (piece === undefined || state.asked.has(piece)) return;
      state.asked.set(
        piece,
        setTimeout(() => this.release(link, piece), REQUEST_TIMEOUT_MS).unref(),
      );
      try {
        link.wire.extended(UT_METADATA, encodeMetadataMessage({ type: 'request', piece }));
      } catch {
        return link.close('cannot send a metadata request');
      }
    }
  }

  /** `link`'s ask of `piece` is over without data: another peer may be asked. */
  private release(link: PeerLink, piece: number): void {
    const state = this.peers.get(link);
    const timer = state?.asked.get(piece);
    if (timer === undefined) return;
    clearTimeout(timer);
    state!.asked.delete(piece);
    this.assembler?.release(piece);
    for (const l of this.peers.keys()) if (l !== link) this.pump(l);
  }

  private onData(link: PeerLink, piece: number, totalSize: number, data: Uint8Array): void {
    const state = this.peers.get(link);
    const a = this.assembler;
    if (this.done || !state || !a) return;
    const timer = state.asked.get(piece);
    if (timer === undefined) return; // not asked of this peer (or it came after its timeout): ignored
    clearTimeout(timer);
    state.asked.delete(piece);
    const r = a.accept(piece, totalSize, data);
    if (r.kind === 'bad-piece') return this.ban(link, `sent a bad metadata piece: ${r.why}`);
    state.contributed = true;
    if (r.kind === 'need-more') return this.pump(link);
    if (r.kind === 'hash-mismatch') {
      // Some peer lied; we cannot tell which one, so none of them is asked again.
      this.warn({ code: 'PEER_BANNED', source: 'metadata', detail: `the info dictionary from ${[...this.peers].filter(([, s]) => s.contributed).map(([l]) => l.address).join(', ')} does not hash to the infohash: fetching it again from other peers` });
      this.assembler = undefined;
      for (const [l, s] of [...this.peers]) if (s.contributed) this.ban(l, 'sent metadata that does not hash to the infohash');
      for (const l of this.peers.keys()) this.pump(l);
      return;
    }
    this.finish({ rawInfo: new Uint8Array(r.rawInfo), version: r.version, peers: [...this.reached] });
  }

  private ban(link: PeerLink, why: string): void {
    this.outcomes.set(link.address, why);
    this.set.ban(link);
    link.close(why);
  }

  private finish(m: FetchedMetadata): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadline);
    this.settle.resolve(m);
  }

  private fail(ms: number): void {
    if (this.done) return;
    this.done = true;
    const tried = [...this.outcomes].map(([a, why]) => `${a}: ${why}`);
    for (const [l, s] of this.peers) if (!this.outcomes.has(l.address)) tried.push(`${l.address}: ${s.size === undefined ? 'connected, sent no metadata_size' : 'connected, did not send every piece'}`);
    const hex = Buffer.from(this.o.infoHash).toString('hex');
    const why = tried.length === 0 ? 'no peer was found' : `peers tried: ${tried.slice(0, 10).join('; ')}${tried.length > 10 ? ` (and ${tried.length - 10} more)` : ''}`;
    this.settle.reject(new IsosyncError('NETWORK', `Cannot fetch the info dictionary of ${hex}: no peer sent it in ${Math.round(ms / 1000)} s; ${why}`, { infoHash: hex, timeoutMs: ms }));
  }

  /** Stops: every connection and the listener close; an unsettled result rejects. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      clearTimeout(this.deadline);
      this.settle.reject(new IsosyncError('CANCELLED', 'Cannot fetch the info dictionary: stopped'));
    }
    for (const s of this.peers.values()) for (const t of s.asked.values()) clearTimeout(t);
    await this.set.close();
  }
}

/** Where a peer listens: the address dialed, or its address with the port of its extended handshake (BEP 10 `p`). */
function listenAddress(link: PeerLink): string | undefined {
  if (link.outgoing) return link.address;
  const i = link.address.lastIndexOf(':');
  const p = (link.wire.peerExtendedHandshake as Record<string, unknown> | undefined)?.['p'];
  return typeof p === 'number' && p > 0 && p < 65536 ? `${link.address.slice(0, i).replace(/^::ffff:/, '')}:${p}` : undefined;
}

interface FetchHooks {
  onSize(size: number): void;
  onData(piece: number, totalSize: number, data: Uint8Array): void;
  onReject(piece: number): void;
}

interface MetadataExtensionClass {
  new (wire: Wire): { onExtendedHandshake(h: unknown): void; onMessage(buf: Uint8Array): void };
  prototype: { name: string };
}

/** The asking side of ut_metadata, as a bittorrent-protocol extension; nothing here throws into the wire's parser. */
function fetchExtension(hooks: FetchHooks): MetadataExtensionClass {
  class UtMetadataFetch {
    get name(): string {
      return UT_METADATA;
    }

    /** Called by bittorrent-protocol when the peer advertises ut_metadata too. */
    onExtendedHandshake(h: unknown): void {
      const size = (h as Record<string, unknown> | undefined)?.['metadata_size'];
      if (typeof size === 'number' && Number.isSafeInteger(size) && size > 0) hooks.onSize(size);
    }

    onMessage(buf: Uint8Array): void {
      let m;
      try {
        m = decodeMetadataMessage(buf);
      } catch {
        return;
      }
      if (m.type === 'data') hooks.onData(m.piece, m.totalSize, m.data);
      else if (m.type === 'reject') hooks.onReject(m.piece);
    }
  }
  // bittorrent-protocol reads `name` from the prototype: the getter above puts it there.
  return UtMetadataFetch as unknown as MetadataExtensionClass;
}


