/**
 * The link to one peer: the TCP socket, its SafeWire (safe-wire.ts), the
 * handshake deadline, and the byte counters the choker decides with. It owns
 * the socket's life: every path out (protocol violation, socket error,
 * timeout, close by the swarm) ends in one `close(reason)`, which destroys
 * socket and wire and calls `onClose` once. What the link says (handshake,
 * have, choke, request, ...) reaches the swarm as the wire's typed events.
 *
 * Handshake (BEP 3): the dialing side sends first. An incoming connection
 * may open with MSE/PE (libtorrent tries it first); the wire then reports a
 * hash of the infohash it asks for, which must be ours (`crypto-infohash`).
 */
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { SafeWire } from './safe-wire.js';
import { bitfieldOf } from './availability.js';
import { written } from './window-pool.js';

/** A fresh BEP 20 peer id: "-IS0100-" and 12 random bytes. */
export function newPeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(Buffer.from('-IS0100-'), 0);
  id.set(randomBytes(12), 8);
  return id;
}
import { IsosyncError } from '../errors.js';

/** A peer that does not finish the handshake in this time is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 15_000;
/** No byte at all for this long (keep-alives come every 55-120 s) means the peer is gone. */
export const IDLE_TIMEOUT_MS = 180_000;
/** Dialing gives up after this long. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface LinkSpec {
  readonly infoHash: Uint8Array;
  /** A hybrid's other infohash (BEP 52): an incoming peer may ask for either. */
  readonly altInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  /** Outgoing only: open with an MSE/PE handshake (for a peer that refuses plaintext). */
  readonly encrypt?: boolean;
}

/**
 * What a link needs of its connection: a TCP socket (node:net) or a uTP
 * connection (utp.ts), which has no Nagle to turn off.
 */
export interface PeerSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly destroyed: boolean;
  /** Bytes written and not yet handed to the kernel (or to uTP's send window). */
  readonly writableLength?: number;
  write(d: Uint8Array, done?: () => void): boolean;
  cork(): void;
  uncork(): void;
  destroy(): void;
  setTimeout(ms: number, ontimeout?: () => void): unknown;
  setNoDelay?(noDelay: boolean): unknown;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'error', fn: (e: NodeJS.ErrnoException) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'drain', fn: () => void): unknown;
}

export class PeerLink {
  readonly wire: SafeWire;
  /** `host:port` dialed, or the remote endpoint of an incoming connection. */
  readonly address: string;
  remotePeerId: string | undefined;
  /** Hex of the infohash the handshake named (a hybrid's links may use either of its two). */
  infoHashHex: string | undefined;
  handshaken = false;
  closed = false;
  closeReason: string | undefined;
  downloaded = 0;
  uploaded = 0;
  /** Bytes this choke round, for tit-for-tat. */
  roundDown = 0;
  roundUp = 0;
  /** When a block last arrived from it (snubbing). */
  lastBlockAt = Date.now();
  onClose: (reason: string) => void = () => undefined;
  /** The socket took everything written to it (it had been full). */
  onDrain: () => void = () => undefined;
  /** This outgoing connection opened with MSE/PE. */
  readonly encrypted: boolean;
  /** Bytes the peer sent on this connection. */
  bytesIn = 0;
  /** The piece that last made us interested in it: where Swarm.updateInterest's scan starts (it is often still wanted). */
  wantFrom = 0;

  constructor(
    readonly socket: PeerSocket,
    readonly outgoing: boolean,
    spec: LinkSpec,
    /** `host:port` dialed, or the remote endpoint of an incoming connection. */
    address?: string,
  ) {
    this.address = address ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.encrypted = outgoing && spec.encrypt === true;
    this.wire = new SafeWire(outgoing ? 'tcpOutgoing' : 'tcpIncoming', spec.pieceCount, this.encrypted);
    const wire = this.wire;
    wire.onViolation = (reason) => this.close(reason);
    socket.setNoDelay?.(true);
    const reused = takeReads(socket, (d) => {
      this.bytesIn += d.length;
      if (!this.closed) wire.takeRead(d);
    });
    if (!reused) {
      socket.on('data', (d: Buffer) => {
        this.bytesIn += d.length;
        if (!this.closed) wire.write(d);
      });
    }
    // Messages of one turn leave in one write (writev): with Nagle off, each request, header and block was its own syscall and segment.
    let corked = false;
    const tracked = socket instanceof net.Socket;
    const uncork = () => {
      corked = false;
      if (!socket.destroyed) socket.uncork();
    };
    wire.on('data', (d: Uint8Array) => {
      if (this.closed || socket.destroyed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      // A block sent from a pooled serve window returns to the pool once the kernel took it (window-pool.ts); uTP's writes are not tracked.
      socket.write(d, tracked ? written(d) : undefined);
    });
    socket.on('drain', () => this.onDrain());
    socket.on('error', (e: NodeJS.ErrnoException) => this.close(e.code ?? e.message));
    socket.on('close', () => this.close('connection closed'));
    wire.on('error', (e: Error) => this.close(e.message));
    wire.on('close', () => this.close('wire closed'));
    wire.on('finish', () => this.close('wire ended'));
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => this.close(this.handshaken ? 'idle too long' : 'no handshake in time'));
    if (!outgoing) {
      const hashes = [spec.infoHash, ...(spec.altInfoHash ? [spec.altInfoHash] : [])];
      const wants = hashes.map((ih) => createHash('sha1').update('req2').update(ih).digest('hex'));
      wire.on('crypto-infohash', (h: string) => {
        const i = wants.indexOf(String(h).toLowerCase());
        if (i >= 0) wire.setInfoHash(Buffer.from(hashes[i]!).toString('hex'));
        else wire.violation('asked for an unknown torrent (encrypted handshake)');
      });
    }
    wire.setKeepAlive(true);
  }

  /** Bytes written to this peer that the socket has not yet handed to the kernel. */
  get sendBacklog(): number {
    return this.socket.writableLength ?? 0;
  }

  /** Outgoing: sends the BitTorrent handshake, after the MSE/PE handshake when the connection is encrypted. */
  startHandshake(infoHash: Uint8Array, peerId: Uint8Array, extensions: { fast: boolean; dht: boolean }): void {
    if (!this.encrypted) return this.wire.handshake(infoHash, peerId, extensions);
    // bittorrent-protocol loses a BitTorrent handshake queued before the encryption is set up.
    this.wire.once('crypto-handshake', () => {
      if (!this.closed) this.wire.handshake(infoHash, peerId, extensions);
    });
    this.wire.startEncryption(Buffer.from(infoHash).toString('hex'));
  }

  /** Outgoing and encrypted: the MSE/PE handshake is through (the peer knew the infohash that keys it). */
  get cryptoDone(): boolean {
    return (this.wire as unknown as { _cryptoHandshakeDone: boolean })._cryptoHandshakeDone;
  }

  /** The swarm's handshake checks passed. */
  markHandshaken(remotePeerId: string): void {
    this.handshaken = true;
    this.remotePeerId = remotePeerId;
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
  }

  /**
   * Tells the peer what we have, right after the handshake: have-all or
   * have-none when both speak BEP 6 and it says as much, else a bitfield
   * (BEP 3). `hide` (a super-seed) shows nothing.
   */
  announceHaves(have: readonly boolean[], hide: boolean, fast: boolean): void {
    const complete = have.every(Boolean);
    if (hide) {
      if (fast && this.wire.hasFast) this.wire.haveNone();
      else this.wire.bitfield(new Uint8Array(Math.ceil(have.length / 8)));
    } else if (this.wire.hasFast && complete) this.wire.haveAll();
    else if (this.wire.hasFast && !have.some(Boolean)) this.wire.haveNone();
    else this.wire.bitfield(bitfieldOf(have));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.wire.setKeepAlive(false);
    try {
      this.wire.destroy();
    } catch {
      // a wire that fails to end is dropped with its socket anyway
    }
    this.socket.destroy();
    this.onClose(reason);
  }
}

/** Where a peer listens: the address we dialed, or its address with the port from its extended handshake (BEP 10 `p`). */
export function listenAddressOf(link: Pick<PeerLink, 'address' | 'outgoing'> & { readonly wire: { readonly peerExtendedHandshake?: unknown } }): { host: string; port: number } | undefined {
  const i = link.address.lastIndexOf(':');
  const host = link.address.slice(0, i).replace(/^::ffff:/, '');
  if (link.outgoing) return { host, port: Number(link.address.slice(i + 1)) };
  const p = (link.wire.peerExtendedHandshake as Record<string, unknown> | undefined)?.['p'];
  return typeof p === 'number' && p > 0 && p < 65536 ? { host, port: p } : undefined;
}

/**
 * Each socket read lands in this one buffer of its connection (node:net's
 * `onread`; dialed and accepted TCP connections alike), not in a fresh
 * allocation per read: the wire copies out
 * what it keeps (a block: wire-frames.ts). Fresh read buffers were most of
 * a leecher's ArrayBuffer churn, which drove V8 to a full collection every
 * ~10 MB received.
 */
export const READ_BUFFER_BYTES = 64 * 1024;

/** A dialed socket's reads: to the link once it exists, copied and kept until then. */
interface ReadSink {
  take: ((d: Uint8Array) => void) | undefined;
  readonly early: Uint8Array[];
}
const readers = new WeakMap<object, ReadSink>();

/** A socket's reads into one buffer of its own (node:net `onread`), to the ReadSink registered for it. */
function reusedReads(): { reader: ReadSink; onread: net.OnReadOpts } {
  const reader: ReadSink = { take: undefined, early: [] };
  const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  const callback = (n: number, buf: Uint8Array): boolean => {
    const d = buf.subarray(0, n);
    if (reader.take) reader.take(d);
    else reader.early.push(Uint8Array.from(d));
    return true;
  };
  return { reader, onread: { buffer, callback } };
}

/**
 * An accepted connection made to read into one reused buffer, as a dialed
 * one does: node:net's server has no `onread`, but a socket made on the
 * accepted handle takes one. `s` must come from a server made with
 * `pauseOnConnect` (nothing read yet); its shell is destroyed without its
 * handle (the server counts the connection closed; the new socket is not
 * counted, which no caller uses). Where node:net's internals differ, `s`
 * itself, resumed (its reads then take the stream's way).
 */
export function adoptAccepted(s: net.Socket): net.Socket {
  const shell = s as unknown as { _handle?: { readStart?: unknown } | null };
  const handle = shell._handle;
  if (!handle || typeof handle.readStart !== 'function') return s.resume();
  shell._handle = null;
  s.destroy();
  const { reader, onread } = reusedReads();
  const opts = { handle, readable: true, writable: true, onread } as net.SocketConstructorOpts;
  const adopted = new net.Socket(opts);
  readers.set(adopted, reader);
  return adopted;
}

/**
 * Hands every read of `socket` (dialed or adopted here) to `take`, in a
 * buffer reused once `take` returns, those read before now first; false
 * when its reads are not ours (a uTP connection, or a socket node:net
 * reads itself: they come as 'data').
 */
export function takeReads(socket: object, take: (d: Uint8Array) => void): boolean {
  const reader = readers.get(socket);
  if (!reader) return false;
  reader.take = take;
  for (const d of reader.early.splice(0)) take(d);
  return true;
}

/** Dials host:port; resolves with the connected socket or rejects with a one-word reason. */
export function dial(host: string, port: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { reader, onread } = reusedReads();
    const s = net.connect({ host, port, onread });
    readers.set(s, reader);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new IsosyncError('TIMEOUT', `Cannot connect to ${host}:${port}: no answer in ${timeoutMs / 1000} s`, { peer: `${host}:${port}`, timeoutMs }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      s.destroy();
      reject(new IsosyncError('NETWORK', `Cannot connect to ${host}:${port}: ${e.code ?? e.message}`, { peer: `${host}:${port}`, ...(e.code ? { errno: e.code } : {}) }, { cause: e }));
    });
  });
}
