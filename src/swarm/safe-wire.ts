/**
 * The BitTorrent peer wire (BEP 3, BEP 6 fast extension, BEP 10 extension
 * protocol) from bittorrent-protocol, hardened against a hostile peer.
 *
 * bittorrent-protocol trusts the length prefix (read signed, unbounded) and
 * parses fixed-size messages without checking their size, and any throw in a
 * handler escapes into the stream and crashes the process. SafeWire:
 *   - reads the length prefix unsigned and refuses anything above
 *     MAX_MESSAGE_BYTES (a 16 KiB block plus header, or a bitfield of
 *     `pieceCount` bits, whichever is larger, never above 1 MiB);
 *   - checks the exact size of every fixed-size message (table below) and the
 *     range of every piece index before the library sees it;
 *   - counts control messages per second and refuses a flood;
 *   - checks the shape of the bencode of every extended message the library
 *     or an extension decodes (the handshake, and registered extensions)
 *     before it does: the `bencode` package loops forever on a negative
 *     string length, so one 92-byte message could hang the process;
 *   - catches anything thrown by the library or a listener while handling a
 *     message;
 * and in every case reports one `violation` and destroys itself. The owner
 * closes the socket.
 *
 * Message sizes and the checks: wire-checks.ts.
 *
 * BEP 52: a wire of a v2 or hybrid torrent (`v2`) sets bit 0x10 of the last
 * reserved byte in its handshake; hash messages reach the owner as the
 * library's `unknownmessage` and leave through `send`.
 */
import Wire, { type WireExtensions, type WireRequest } from 'bittorrent-protocol';
import { IsosyncError } from '../core/errors.js';
import { bencodeValueEnd } from '../torrent/bencode-decode.js';
import { mseKeyPair } from './mse-keys.js';
import { maxMessageBytes, messageFault, putU32, u32 } from './wire-checks.js';
import { BATCHED_MESSAGE_BYTES, OutBatch, takeChunk } from './wire-frames.js';
import { lend } from './window-pool.js';

export { guarded, MAX_BLOCK_BYTES, MAX_MESSAGE_BYTES, PIECE_COUNT_UNKNOWN } from './wire-checks.js';

/** Control messages (choke, interested, bitfield, extended, ...) a peer may send per second before it counts as flooding. */
export const MAX_CONTROL_MESSAGES_PER_SECOND = 2000;
/**
 * Request, cancel, reject and have messages a peer may send per second. They
 * scale with the transfer rate: a leecher asks one request per 16 KiB block,
 * so 2000 a second capped a fast loopback leecher at 33 MB/s and got it
 * dropped. 50,000 a second is 800 MB/s of 16 KiB blocks; the queue of
 * requests itself is capped separately (MAX_PEER_REQUESTS in swarm.ts).
 */
export const MAX_TRANSFER_MESSAGES_PER_SECOND = 50_000;
/** Message ids counted against MAX_TRANSFER_MESSAGES_PER_SECOND (BEP 3 have/request/cancel, BEP 6 reject). */
const TRANSFER_MESSAGES = new Set([4, 6, 8, 16]);

/** BEP 52: the v2 bit (0x10) of the handshake's last reserved byte (byte 27 of the 68-byte handshake). */
const V2_RESERVED_BIT = 0x10, HANDSHAKE_RESERVED_LAST = 27;

/** A request the peer queued with us, and the answer it waits for. */
interface Queued {
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
  readonly respond: (err: Error | null, block?: Uint8Array) => void;
}

/** The answer to a request: the block, or why not; `tag` is what `request` was given. */
export type Answer = (err: Error | null, block?: Uint8Array, tag?: unknown) => void;

const CANCELLED = new IsosyncError('CANCELLED', 'request was cancelled'); // SafeWire.cancel's one error for every cancel
const requestKey = (piece: number, offset: number, length: number) => `${piece}:${offset}:${length}`;

export class SafeWire extends Wire {
  /** Called once with the reason when the peer broke the protocol. */
  onViolation: (reason: string) => void = () => undefined;
  /**
   * True while the callback of a request the peer rejected (BEP 6) runs: it
   * tells a reject from the other ways a request fails without reading the
   * library's error text.
   */
  rejecting = false;
  /** BEP 52: say in the handshake that we speak v2 (set before it is sent). */
  v2 = false;
  /** BEP 52: the peer's handshake set the v2 bit (known when the 'handshake' event fires). */
  peerV2 = false;
  /**
   * Where a block the peer sends may be received in place, read off a
   * transient read (takeRead): set by the wire's owner (bt-peer.ts: a view
   * of the buffer its piece is assembled in, engine/wants.ts `slot`). The
   * bytes written there go to `_onPiece` in the same call.
   */
  blockInto: ((index: number, offset: number, length: number) => Uint8Array | undefined) | undefined = undefined;
  /** A message cut by the end of a transient read (wire-frames.ts CARRY_BYTES). */
  _carry: Uint8Array | undefined = undefined;
  private violated = false;
  /**
   * The peer's requests we have not answered, by piece:offset:length (the
   * same bytes asked again wait behind the first ask). The
   * library keeps them in an array it scans on every reply and cancel and
   * reorders on every removal: with a deep queue (2000 a peer, uploads.ts)
   * answering cost a seed time quadratic in the queue.
   */
  private readonly queued = new Map<string, Queued[]>();
  /** Requests in `queued`, the same bytes asked twice counting twice (a flood is counted in full). */
  private queuedCount = 0;
  private windowStart = Date.now();
  private windowCount = 0;
  private transferCount = 0;

  constructor(
    type: 'tcpIncoming' | 'tcpOutgoing',
    readonly pieceCount: number,
    /** Outgoing: open with an MSE/PE handshake (RC4 or plaintext payload, whichever the peer picks). */
    encrypt = false,
  ) {
    super(type, type === 'tcpIncoming' || encrypt ? 1 : 0);
    this.maxMessage = maxMessageBytes(pieceCount);
    // The library's encryptor would make (and prime-check) a DiffieHellman of its own: it gets a cheap key pair instead.
    const encryptor = (this as unknown as { _encryptor: { _dh: unknown } | null })._encryptor;
    if (encryptor) encryptor._dh = mseKeyPair();
  }

  /** The largest message this peer may send (computed once: it is checked on every message). */
  readonly maxMessage: number;

  /** Drops the peer: reports once, then ends the wire. */
  violation(reason: string): void {
    if (this.violated) return;
    this.violated = true;
    try {
      this.onViolation(reason);
    } catch {
      // the owner's handler must not keep a bad peer alive
    }
    this._parse(Number.MAX_SAFE_INTEGER, () => undefined); // read nothing more
    this.destroy();
  }

  override handshake(infoHash: Uint8Array | string, peerId: Uint8Array, extensions?: WireExtensions): void {
    if (!this.v2) return super.handshake(infoHash, peerId, extensions);
    // The library writes the reserved bytes itself: set the v2 bit in the one push that carries them.
    const push = this._push;
    this._push = (d: Uint8Array) => {
      this._push = push;
      const out = d.slice();
      if (out.length > HANDSHAKE_RESERVED_LAST) out[HANDSHAKE_RESERVED_LAST]! |= V2_RESERVED_BIT;
      return push.call(this, out);
    };
    try {
      super.handshake(infoHash, peerId, extensions);
    } finally {
      this._push = push;
    }
  }

  override _onHandshakeBuffer(handshake: Uint8Array): void {
    // This buffer starts after the length byte.
    this.peerV2 = ((handshake[HANDSHAKE_RESERVED_LAST - 1] ?? 0) & V2_RESERVED_BIT) !== 0;
    super._onHandshakeBuffer(handshake);
  }

  /** Requests the peer queued with us and we have not answered (its queue with us). */
  get queuedRequests(): number {
    return this.queuedCount;
  }

  /** The peer still waits for these bytes (neither answered nor cancelled, nor dropped by a choke). */
  isQueued(piece: number, offset: number, length: number): boolean {
    return this.queued.has(requestKey(piece, offset, length));
  }

  override _onRequest(index: number, offset: number, length: number): void {
    if (this.amChoking && !(this.hasFast && this.allowedFastSet.includes(index))) {
      // BEP 6: a request while we choke is rejected (unless allowed fast).
      if (this.hasFast) this.reject(index, offset, length);
      return;
    }
    const key = requestKey(index, offset, length);
    const q: Queued = {
      piece: index,
      offset,
      length,
      respond: (err, block) => {
        if (!this.unqueue(key, q)) return; // cancelled, or dropped by a choke
        if (err || !block) {
          if (this.hasFast) this.reject(index, offset, length);
        } else this.piece(index, offset, block);
      },
    };
    const same = this.queued.get(key);
    if (same) same.push(q);
    else this.queued.set(key, [q]);
    this.queuedCount++;
    this.emit('request', index, offset, length, q.respond);
  }

  /** Takes `q` out of the queue; false if it was no longer there. */
  private unqueue(key: string, q: Queued): boolean {
    const same = this.queued.get(key);
    const i = same ? same.indexOf(q) : -1;
    if (i < 0) return false;
    same!.splice(i, 1);
    if (same!.length === 0) this.queued.delete(key);
    this.queuedCount--;
    return true;
  }

  override _onCancel(index: number, offset: number, length: number): void {
    // A cancel takes the oldest request for exactly these bytes, as the library's did.
    const key = requestKey(index, offset, length);
    const oldest = this.queued.get(key)?.[0];
    if (oldest) this.unqueue(key, oldest);
    this.emit('cancel', index, offset, length);
  }

  override choke(): void {
    if (this.amChoking) return;
    super.choke(); // the library's own list is empty: the queued requests are ours
    // BEP 6: a choke rejects every queued request but those of the allowed-fast set; without BEP 6 they are dropped.
    for (const [key, same] of [...this.queued]) {
      for (const q of [...same]) {
        if (this.hasFast && this.allowedFastSet.includes(q.piece)) continue;
        this.unqueue(key, q);
        if (this.hasFast) this.reject(q.piece, q.offset, q.length);
      }
    }
  }

  /** A block out: the library's version also feeds a speed meter and an event per block, neither used. */
  override piece(index: number, offset: number, block: Uint8Array): void {
    // A block pushed as it is (a view of a serve window) stays lent until the socket took it (window-pool.ts).
    if (block.length > BATCHED_MESSAGE_BYTES) lend(block);
    const enc = this._encryptor;
    if (this._finished || (enc !== null && enc._isEncrypted)) this._message(7, [index, offset], block);
    else {
      // In plaintext the header is written into the turn's batch itself (no header buffer per block).
      const at = this.out.reserve(13);
      const m = this.out.bytes;
      putU32(m, at, 9 + block.length);
      m[at + 4] = 7;
      putU32(m, at + 5, index);
      putU32(m, at + 9, offset);
      this._push(block);
    }
    this.uploaded += block.length;
  }

  /** A block in (see piece). */
  override _onPiece(index: number, offset: number, block: Uint8Array): void {
    this._callback(this._pull(this.requests, index, offset, block.length), null, block);
    this.downloaded += block.length;
  }

  override _onFinish(): void {
    super._onFinish();
    this.queued.clear();
    this.queuedCount = 0;
  }

  /** Sends message `id` with `payload` (BEP 52 hash messages). */
  send(id: number, payload: Uint8Array): void {
    if (!this.violated && !this.destroyed) this._message(id, [], payload);
  }

  /** The name of our extension that extended message id `id` is for (BEP 10: the ids we announced), if any. */
  private extensionOf(id: number): string | undefined {
    return (this as unknown as { extendedMapping: Record<number, string | undefined> }).extendedMapping[id];
  }

  /** The peer's bytes: framed by takeChunk (wire-frames.ts) once any MSE handshake is past; the library's own path runs while it is under way. */
  override _write(data: Uint8Array, cb: (err: Error | null) => void): void {
    const enc = this._encryptor;
    if (this._cryptoSyncPattern || this._pePending || (enc !== null && enc.state !== 'done' && enc.state !== 'idle')) return super._write(data, cb);
    takeChunk(this, enc ? enc.decrypt(data) : data);
    cb(null);
  }

  /**
   * The peer's bytes in a buffer the caller reuses once this returns
   * (PeerLink's read buffer): framed at once when nothing waits before them,
   * keeping copies of only what outlives the call (wire-frames.ts); else
   * (MSE handshake under way, a write still queued) a copy takes the
   * stream's way.
   */
  takeRead(data: Uint8Array): void {
    const enc = this._encryptor;
    const direct = !this._cryptoSyncPattern && !this._pePending && (enc === null || enc.state === 'done' || enc.state === 'idle');
    // streamx's own queue (a write() is framed in a later microtask) must be empty, or these bytes would overtake it.
    const queued = (this as unknown as { _writableState: { buffered: number } })._writableState.buffered;
    if (direct && queued === 0 && !this.destroyed) {
      takeChunk(this, enc ? enc.decrypt(data) : data, true);
    } else if (!this.destroyed) this.write(Buffer.from(data));
  }

  /**
   * Asks for a block: the library's request without its debug line per request, `tag` kept with it for
   * the answer (`_callback`: the callback gets it back, so one callback serves every request of a peer).
   */
  override request(index: number, offset: number, length: number, cb: Answer, tag?: unknown): void {
    if (this._finished || (this.peerChoking && !(this.hasFast && this.peerAllowedFastSet.includes(index)))) return super.request(index, offset, length, (err, block) => cb(err, block, tag));
    this.requests.push({ piece: index, offset, length, callback: cb, tag } as WireRequest);
    this.blockMessage(6, index, offset, length);
  }

  /** A request (6) or cancel (8) message: in plaintext written into the turn's batch itself (no message object per block). */
  private blockMessage(id: number, index: number, offset: number, length: number): void {
    const enc = this._encryptor;
    const plain = enc === null || !enc._isEncrypted;
    const at = plain ? this.out.reserve(17) : 0;
    const m = plain ? this.out.bytes : new Uint8Array(17);
    putU32(m, at, 13);
    m[at + 4] = id;
    putU32(m, at + 5, index);
    putU32(m, at + 9, offset);
    putU32(m, at + 13, length);
    if (!plain) this._push(m);
  }

  /** The library's cancel without an Error (and stack trace) per cancel: the callback gets CANCELLED (bt-peer.ts let go of the ask first). */
  override cancel(index: number, offset: number, length: number): void {
    this._callback(this._pull(this.requests, index, offset, length), CANCELLED, null);
    if (!this._finished) this.blockMessage(8, index, offset, length);
  }

  override _callback(request: WireRequest | null, err: Error | null, block: Uint8Array | null): void {
    if (!request) return;
    this._resetTimeout(!this.peerChoking && !this._finished);
    const r = request as WireRequest & { callback: Answer; tag?: unknown };
    r.callback(err, block ?? undefined, r.tag);
  }

  /** Bytes out: small messages wait for the end of the turn in one batch (OutBatch, wire-frames.ts), encrypted as they come. */
  override _push(data: Uint8Array): boolean | undefined {
    if (this._finished) return undefined;
    if (data.length > BATCHED_MESSAGE_BYTES) {
      this.out.flush();
      return super._push(data);
    }
    const enc = this._encryptor;
    this.out.add(enc ? enc.encrypt(data) : data);
    return true;
  }

  private readonly out = new OutBatch((bytes) => {
    if (!this._finished && !this.destroyed) this.push(bytes);
  });

  override _onReject(index: number, offset: number, length: number): void {
    this.rejecting = true;
    try {
      super._onReject(index, offset, length);
    } finally {
      this.rejecting = false;
    }
  }

  override _onMessageLength(buf: Uint8Array): void {
    if (this.violated) return;
    const length = u32(buf, 0);
    if (length > this.maxMessage) return this.violation(`sent a message of ${length} bytes (limit ${this.maxMessage})`);
    try {
      super._onMessageLength(buf);
    } catch (e) {
      this.violation(`broke the wire protocol (${(e as Error).message})`);
    }
  }

  override _onMessage(buf: Uint8Array): void {
    if (this.violated) return;
    const id = buf[0]!;
    const fault = messageFault(buf, 0, buf.length, this.pieceCount);
    if (fault !== undefined) return this.violation(fault);
    if (id === 20 && (buf[1] === 0 || this.extensionOf(buf[1]!) !== undefined)) {
      try {
        bencodeValueEnd(buf, 2);
      } catch (e) {
        return this.violation(`sent extended message ${buf[1]} that is not bencode (${(e as Error).message})`);
      }
    }
    if (id !== 7) {
      const now = Date.now();
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.windowCount = 0;
        this.transferCount = 0;
      }
      if (TRANSFER_MESSAGES.has(id)) {
        if (++this.transferCount > MAX_TRANSFER_MESSAGES_PER_SECOND) return this.violation(`sent more than ${MAX_TRANSFER_MESSAGES_PER_SECOND} requests, cancels or haves in a second`);
      } else if (++this.windowCount > MAX_CONTROL_MESSAGES_PER_SECOND) {
        return this.violation(`sent more than ${MAX_CONTROL_MESSAGES_PER_SECOND} control messages in a second`);
      }
    }
    try {
      super._onMessage(buf);
    } catch (e) {
      this.violation(`sent message ${id} that could not be handled (${(e as Error).message})`);
    }
  }
}

// bittorrent-protocol traces every message it reads or sends: with DEBUG unset each built its line (a template string and two
// argument arrays) for a trace nobody reads, ~8 MB of the ~370 MB a client of the serve bench allocates. With DEBUG set, as before.
if (!process.env['DEBUG']) SafeWire.prototype._debug = () => undefined;
