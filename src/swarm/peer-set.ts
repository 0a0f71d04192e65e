/**
 * The peer set of one swarm: the listening socket, outgoing dials (retried
 * while a peer refuses: peers started together may not listen yet), redials
 * of a dialed peer that hung up cleanly, the handshake checks (our torrent,
 * not ourselves, not banned, no second connection to the same peer) and the
 * bans. It makes PeerLinks and hands them to the swarm (`onLink`); what the
 * links say is the swarm's business.
 *
 * Duplicates: two connections between the same pair (both dialed) keep the
 * one dialed by the higher peer id, on both sides (`duplicateToDrop`): the
 * rule libtorrent keeps. With the opposite rule each side closed the
 * connection the other kept (isosync's peer id, "-IS", sorts below
 * libtorrent's, qBittorrent's, Transmission's and rtorrent's).
 *
 * The ways a peer is dialed (`dialWays`), tried in turn while it hangs up
 * before its handshake (`refusedBeforeHandshake`: a plaintext dial got not a
 * byte, an encrypted one never finished MSE/PE); the way that worked is kept
 * for its redials. A peer that refuses them all is reported in those words,
 * once.
 *
 * - Infohash: a hybrid torrent (BEP 52, `spec.altInfoHash`) is dialed with
 *   the primary infohash (the truncated v2 one, so that the link can carry
 *   hash requests), then with the other (a client that loads hybrids by
 *   their v1 half only hangs up on the v2 one).
 * - Encryption: plaintext first, then MSE/PE (libtorrent and Transmission can
 *   be set to refuse plaintext), each with both infohashes of a hybrid: the
 *   MSE/PE handshake is keyed by the infohash, so a v1-only peer that
 *   requires encryption takes only an encrypted dial with the v1 one. With
 *   `encryption: 'require'` every dial is encrypted, and a peer that dials
 *   us with a plaintext BitTorrent handshake is refused (an MSE/PE handshake
 *   that settles on a plaintext payload is accepted: libtorrent's "forced"
 *   means the same).
 * - Transport (utp.ts, unless `utp: false`): TCP, then uTP (libtorrent with
 *   incoming TCP off accepts and closes). The listener also accepts uTP on
 *   the same port number over UDP, and a peer whose TCP port keeps refusing
 *   is tried over uTP once, at the last attempt (a peer that is starting up
 *   refuses both, and a uTP try waits out its timeout). With `utp:
 *   'on-demand'` uTP starts (and listens) only when a dial first wants it.
 */
import { connectionWords } from '../core/net-words.js';
import net from 'node:net';
import { IsosyncError } from '../errors.js';
import { sourceOf, type WarningSink } from '../core/warnings.js';
import { adoptAccepted, dial, listenAddressOf, PeerLink, type LinkSpec, type PeerSocket } from './peer-link.js';
import type { UtpEndpoint } from './utp.js';

/** Times a peer that hung up is dialed again (it may have been busy checking its files). */
export const MAX_REDIALS = 5;
/** Connections kept at once. */
export const MAX_PEERS = 60;
/**
 * Dial attempts per address while it refuses: some 3 s in all (peers started
 * together may not listen yet), so a sync whose only peer refuses fails in
 * seconds, naming it.
 */
export const DIAL_ATTEMPTS = 5;
/** Backoff step between dial attempts and redials (ms, times the attempt number). */
export const DIAL_BACKOFF_MS = 300;
export const REDIAL_BACKOFF_MS = 500;
/**
 * The dial attempt, still refused over TCP, at which uTP is tried once: the
 * last. Peers started together refuse the first dials while they start up,
 * and a uTP try to one that is not listening waits out its timeout.
 */
export const UTP_DIAL_ATTEMPT = DIAL_ATTEMPTS;
/** A uTP dial that gets no answer in this time gives up (libutp retries its SYN meanwhile). */
export const UTP_DIAL_TIMEOUT_MS = 3000;

/** Close reasons after which a dialed peer is dialed again: it hung up, it did not misbehave. */
const CLEAN_HANGUPS: ReadonlySet<string> = new Set(['connection closed', 'wire closed', 'wire ended', 'ECONNRESET', 'EPIPE', 'UTP_ECONNRESET']);


function dialFailure(e: unknown): string {
  const errno = e instanceof IsosyncError ? e.fields['errno'] : (e as NodeJS.ErrnoException).code;
  if (typeof errno === 'string' && connectionWords(errno)) return connectionWords(errno)!;
  if (e instanceof IsosyncError && e.code === 'TIMEOUT') return 'no answer';
  return e instanceof Error ? e.message : String(e);
}

/** Of two connections to one peer, the one to close: both sides keep the one dialed by the higher peer id (libtorrent's rule). */
export function duplicateToDrop(ourId: string, theirId: string, newIsOutgoing: boolean): 'new' | 'old' {
  const keepOutgoing = ourId > theirId;
  return newIsOutgoing === keepOutgoing ? 'old' : 'new';
}

/**
 * Whether a live link reaches the peer that listens at `address`: one we
 * dialed there, or one it dialed us from, whose extended handshake named
 * that port (BEP 10 `p`). Such a peer is not dialed (a tracker's list, a
 * redial): the second connection is closed as a duplicate by one side, and
 * when the peer closes ours before its handshake, that looked like a
 * refusal, answered with an encrypted dial and redials. Eight clients of one
 * `isosync serve` made ~300 dials among themselves for 56 links, most of
 * them closed so (`npm run bench -- serve`).
 */
export function linkedAt(links: Iterable<Parameters<typeof listenAddressOf>[0] & { readonly closed: boolean }>, address: string): boolean {
  for (const l of links) {
    if (l.closed) continue;
    if (l.address === address) return true;
    const at = listenAddressOf(l);
    if (at && `${at.host}:${at.port}` === address) return true;
  }
  return false;
}

/** One way of dialing a peer: with the other infohash of a hybrid, with MSE/PE, over uTP. */
export interface DialWay {
  readonly alt: boolean;
  readonly encrypt: boolean;
  readonly utp: boolean;
}

/** The ways a peer is dialed, in the order they are tried (see the module comment). */
export function dialWays(o: { hybrid: boolean; encryption: 'prefer-plaintext' | 'require'; utp: boolean }): DialWay[] {
  const ways: DialWay[] = [];
  for (const utp of o.utp ? [false, true] : [false]) {
    for (const encrypt of o.encryption === 'require' ? [true] : [false, true]) {
      for (const alt of o.hybrid ? [false, true] : [false]) ways.push({ alt, encrypt, utp });
    }
  }
  return ways;
}

/**
 * Whether a dialed link that closed with `reason` was refused before its
 * handshake, so that the next way is worth a try: a peer that refuses our
 * plaintext handshake (or its infohash) hangs up without a byte; one that
 * cannot take our MSE/PE handshake (its infohash keys it) sends its own key
 * and hangs up before the handshake is through. One that sent its own
 * handshake, or misbehaved, is something else.
 */
export function refusedBeforeHandshake(link: { outgoing: boolean; handshaken: boolean; bytesIn: number; encrypted: boolean; cryptoDone: boolean }, reason: string): boolean {
  if (!link.outgoing || link.handshaken || !CLEAN_HANGUPS.has(reason)) return false;
  return link.encrypted ? !link.cryptoDone : link.bytesIn === 0;
}

/** Close reasons after which a dialed peer is dialed again though it did not hang up: its uTP link or handshake timed out (a loaded peer). */
const TIMEOUTS: ReadonlySet<string> = new Set(['UTP_ETIMEDOUT', 'no handshake in time']);

/** Close reasons of our own that say nothing about the peer. */
const OURS: ReadonlySet<string> = new Set(['duplicate connection', 'connected to itself', 'shutting down']);

/** Whether a link that closed with `reason` after `redials` redials is dialed again. */
export function shouldRedial(reason: string, outgoing: boolean, redials: number): boolean {
  return outgoing && (CLEAN_HANGUPS.has(reason) || TIMEOUTS.has(reason)) && redials < MAX_REDIALS;
}

export interface PeerSetOptions {
  readonly spec: LinkSpec;
  /** A new link (handshake not done yet): the swarm attaches its handlers. */
  onLink(link: PeerLink): void;
  readonly warn: WarningSink;
  /** See the module comment; default 'prefer-plaintext'. */
  readonly encryption?: 'prefer-plaintext' | 'require';
  /** Accept and dial uTP too (default true); 'on-demand': only once a dial wants uTP (loading utp-native costs some 60 ms of CPU). */
  readonly utp?: boolean | 'on-demand';
}

export class PeerSet {
  readonly links = new Set<PeerLink>();
  private readonly bannedIds = new Set<string>();
  private readonly bannedAddresses = new Set<string>();
  private readonly dialing = new Set<string>();
  private readonly redials = new Map<string, number>();
  /** The way each peer is dialed with now (an index into `ways`; absent: the first). */
  private readonly wayOf = new Map<string, number>();
  private readonly refusalWarned = new Set<string>();
  private redialsDue = 0;
  /** Peers that could not be reached, as a failed fetch names them: "peer 10.0.0.1:6881 (cannot connect: connection refused)". */
  readonly unreachable: string[] = [];
  private server: net.Server | undefined;
  private utp: UtpEndpoint | undefined;
  /** uTP's start, once begun (startUtp). */
  private utpStart: Promise<void> | undefined;
  private listenHost = '127.0.0.1';
  private closing = false;
  private readonly ourId: string;

  constructor(private readonly o: PeerSetOptions) {
    this.ourId = Buffer.from(o.spec.peerId).toString('hex');
  }

  /** The ways a peer is dialed (uTP ones once the uTP endpoint listens). */
  private get ways(): readonly DialWay[] {
    return dialWays({ hybrid: this.o.spec.altInfoHash !== undefined, encryption: this.o.encryption ?? 'prefer-plaintext', utp: this.utp !== undefined || this.o.utp === 'on-demand' });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(adoptAccepted(socket)));
      server.once('error', (e: NodeJS.ErrnoException) => reject(new IsosyncError('NETWORK', `Cannot listen for peers on ${host}:${port}: ${e.code ?? e.message}`, { errno: e.code })));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.o.warn({ code: 'PEER_LISTENER', source: `${host}:${port}`, detail: `peer listener: ${e.message}` }));
        this.server = server;
        this.listenHost = host;
        resolve();
      });
    }).then(() => (this.o.utp === 'on-demand' ? undefined : this.startUtp()));
  }

  /** Starts uTP once (see listenUtp); resolves when it listens or cannot. */
  private startUtp(): Promise<void> {
    return (this.utpStart ??= this.listenUtp(this.listenHost));
  }

  /** uTP on the TCP port's number; when it cannot start (the UDP port is taken, no native build), TCP alone, with a warning. */
  private async listenUtp(host: string): Promise<void> {
    if (this.o.utp === false || this.closing || this.port === undefined) return;
    // utp.ts (and node:module for the native addon) loads only when uTP starts: with 'on-demand', a sync that dials over TCP never loads it.
    const { UtpEndpoint, utpAvailable } = await import('./utp.js');
    if (!utpAvailable() || this.closing || this.port === undefined) return;
    try {
      this.utp = await UtpEndpoint.listen(host, this.port, (c) => this.accept(c));
    } catch (e) {
      this.o.warn({ code: 'PEER_LISTENER', source: `${host}:${this.port}`, detail: `no uTP, TCP only: ${(e as Error).message}` });
    }
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  get host(): string | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.address : undefined;
  }

  private accept(socket: PeerSocket & { on(event: 'error', fn: () => void): unknown }): void {
    socket.on('error', () => undefined);
    if (this.closing || this.links.size >= MAX_PEERS) return void socket.destroy();
    this.add(new PeerLink(socket, false, this.o.spec));
  }

  private add(link: PeerLink): void {
    this.links.add(link);
    this.o.onLink(link);
  }

  /** Connects to a peer (`--peer HOST:PORT`, a tracker's list); retries while it refuses. */
  addPeer(host: string, port: number): void {
    const address = `${host}:${port}`;
    if (this.closing || this.dialing.has(address) || this.bannedAddresses.has(address)) return;
    if (linkedAt(this.links, address)) return;
    if (port === this.port && (host === this.host || host === '127.0.0.1')) return; // ourselves
    this.dialing.add(address);
    void (async () => {
      for (let attempt = 1; attempt <= DIAL_ATTEMPTS && !this.closing; attempt++) {
        try {
          const way = this.ways[this.wayOf.get(address) ?? 0]!;
          if (way.utp) await this.startUtp();
          const socket = way.utp && this.utp ? await this.utp.dial(host, port, UTP_DIAL_TIMEOUT_MS) : await this.connect(host, port, attempt);
          this.dialing.delete(address);
          if (this.closing) return void socket.destroy();
          const infoHash = way.alt && this.o.spec.altInfoHash ? this.o.spec.altInfoHash : this.o.spec.infoHash;
          const link = new PeerLink(socket, true, { ...this.o.spec, infoHash, encrypt: way.encrypt }, address);
          this.add(link);
          link.startHandshake(infoHash, this.o.spec.peerId, { fast: true, dht: false });
          return;
        } catch (e) {
          if (attempt === DIAL_ATTEMPTS) {
            const why = `cannot connect: ${dialFailure(e)}`;
            this.unreachable.push(`${sourceOf.peer(address)} (${why})`);
            this.o.warn({ code: 'PEER_UNREACHABLE', source: sourceOf.peer(address), detail: why });
          } else await new Promise((r) => setTimeout(r, DIAL_BACKOFF_MS * attempt).unref());
        }
      }
      this.dialing.delete(address);
    })();
  }

  /** TCP; at UTP_DIAL_ATTEMPT, a TCP refusal is followed by one uTP try. */
  private async connect(host: string, port: number, attempt: number): Promise<PeerSocket> {
    try {
      return await dial(host, port);
    } catch (e) {
      if (attempt !== UTP_DIAL_ATTEMPT || (e as IsosyncError).fields?.['errno'] !== 'ECONNREFUSED') throw e;
      await this.startUtp();
      if (!this.utp) throw e;
      // A peer that refuses TCP and does not answer uTP either is named by the refusal: it says more than a uTP timeout.
      return await this.utp.dial(host, port, UTP_DIAL_TIMEOUT_MS).catch(() => {
        throw e;
      });
    }
  }

  /**
   * The handshake's checks: our torrent, not ourselves, not banned, not a
   * second connection to a peer (one of the two closes). False when `link`
   * was closed.
   */
  handshake(link: PeerLink, infoHashHex: string, peerIdHex: string): boolean {
    const refused =
      infoHashHex !== Buffer.from(this.o.spec.infoHash).toString('hex') && infoHashHex !== Buffer.from(this.o.spec.altInfoHash ?? []).toString('hex')
        ? 'asked for another torrent'
        : peerIdHex === this.ourId
          ? 'connected to itself'
          : this.bannedIds.has(peerIdHex)
            ? 'banned'
            : this.o.encryption === 'require' && !link.outgoing && !(link.wire as unknown as { _cryptoHandshakeDone: boolean })._cryptoHandshakeDone
              ? 'sent a plaintext handshake (encryption is required)'
              : undefined;
    if (refused) {
      link.close(refused);
      return false;
    }
    const twin = [...this.links].find((l) => l !== link && l.remotePeerId === peerIdHex && !l.closed);
    if (twin) {
      const drop = duplicateToDrop(this.ourId, peerIdHex, link.outgoing) === 'new' ? link : twin;
      drop.close('duplicate connection');
      if (drop === link) return false;
    }
    link.markHandshaken(peerIdHex);
    return true;
  }

  /** Keeps `link`'s peer out for the life of the swarm (its address and its peer id). */
  ban(link: PeerLink): void {
    this.bannedAddresses.add(link.address);
    if (link.remotePeerId) this.bannedIds.add(link.remotePeerId);
  }

  /** `link` closed; a dialed peer that hung up cleanly is dialed again while `wanted`. */
  removed(link: PeerLink, reason: string, wanted: boolean): void {
    this.links.delete(link);
    if (this.closing || this.bannedAddresses.has(link.address)) return;
    // Closed before its handshake while another link reaches the peer: it kept that one (linkedAt), no refusal.
    if (link.outgoing && !link.handshaken && linkedAt(this.links, link.address)) return;
    const i = link.address.lastIndexOf(':');
    if (refusedBeforeHandshake(link, reason)) {
      const next = (this.wayOf.get(link.address) ?? 0) + 1;
      if (next < this.ways.length) {
        this.wayOf.set(link.address, next);
        return this.addPeer(link.address.slice(0, i), Number(link.address.slice(i + 1)));
      }
      if (!this.refusalWarned.has(link.address)) this.warnRefused(link.address);
    }
    const n = this.redials.get(link.address) ?? 0;
    if (!wanted || !shouldRedial(reason, link.outgoing, n)) {
      // A dialed peer given up on before its handshake is named when a piece has no source, like one that refused the dial.
      if (link.outgoing && !link.handshaken && !OURS.has(reason) && !this.refusalWarned.has(link.address)) this.unreachable.push(`${sourceOf.peer(link.address)} (closed before its handshake: ${connectionWords(reason) ?? reason})`);
      return;
    }
    this.redials.set(link.address, n + 1);
    this.redialsDue++;
    setTimeout(() => {
      this.redialsDue--;
      this.addPeer(link.address.slice(0, i), Number(link.address.slice(i + 1)));
    }, REDIAL_BACKOFF_MS * (n + 1)).unref();
  }

  /** `address` hung up before its handshake however it was dialed: said once, in words that name what it may need. */
  private warnRefused(address: string): void {
    this.refusalWarned.add(address);
    const over = this.ways.some((w) => w.utp) ? ', over TCP and over uTP' : '';
    const hashes = this.o.spec.altInfoHash ? ', with the v2 and the v1 infohash' : '';
    const detail =
      this.o.encryption === 'require'
        ? `it hung up on our MSE/PE handshake before its own${over}${hashes}; with --encryption require isosync speaks no plaintext, which this peer may need`
        : `it hung up before its handshake both in plaintext and with MSE/PE encryption${over}${hashes}`;
    this.unreachable.push(`${sourceOf.peer(address)} (it hung up before its handshake)`);
    this.o.warn({ code: 'PEER_UNREACHABLE', source: sourceOf.peer(address), detail });
  }

  /** A peer may still come: dials or redials under way, or handshakes not done. */
  discovering(): boolean {
    return this.dialing.size > 0 || this.redialsDue > 0 || [...this.links].some((l) => !l.handshaken && !l.closed);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const l of [...this.links]) l.close('shutting down');
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await this.utpStart;
    await this.utp?.close();
  }
}
