/**
 * Framing for SafeWire (safe-wire.ts), in and out, once the handshakes are
 * past.
 *
 * In (`takeChunk`): bittorrent-protocol joins the tail of the last socket
 * read with each new read (a copy and a fresh allocation of every read) and
 * cuts every message off the front of what is left (two views and an array
 * per message). Here a message cut by a read boundary is finished alone
 * (only its own bytes are copied), the rest of the read is parsed in place,
 * a length prefix is read where it lies, and a piece message goes straight
 * to `_onPiece` with a plain Uint8Array view of its block (no Buffer view of
 * the message first). Every other message takes the library's way, through
 * SafeWire's checks (`test/swarm/safe-wire-chunks.test.ts` checks every
 * framing gives the same messages).
 *
 * A read that lives only during the call (`transient`: PeerLink's one
 * reused read buffer per connection) gives up nothing it holds: a block is
 * copied out (the engine and the journal keep it), as is a message cut by
 * the read's end and every message whose handler may keep its bytes (all but
 * the fixed-size ones of numbers only: have, request, cancel, ...).
 *
 * Out (`OutBatch`): the small messages of one turn (requests, cancels, haves,
 * ...) are joined into one push: each push is a stream write, an event and a
 * socket write, once per 16 KiB block asked.
 */
import { messageFault, u32 } from './wire-checks.js';

/** What the framing reads and drives of a SafeWire (bittorrent-protocol's parser state and SafeWire's handlers). */
export interface FramedWire {
  _parserSize: number;
  _parser: ((buf: Uint8Array) => void) | null;
  _cryptoSyncPattern: Uint8Array | null;
  _pePending: boolean;
  _buffer: Uint8Array[];
  _bufferSize: number;
  _processBuffer(): void;
  _parse(size: number, parser: (buf: Uint8Array) => void): void;
  _onMessageLength(buf: Uint8Array): void;
  _onMessage(buf: Uint8Array): void;
  _onKeepAlive(): void;
  _onPiece(index: number, offset: number, block: Uint8Array): void;
  readonly pieceCount: number;
  readonly maxMessage: number;
  violation(reason: string): void;
}

const EMPTY = new Uint8Array(0);

/**
 * Message ids whose handlers read numbers only and keep nothing of the
 * message (choke, unchoke, interested, not interested, have, request, cancel,
 * port; BEP 6 suggest, have all, have none, reject, allowed fast): a
 * transient read hands them over without a copy.
 */
const KEEPS_NOTHING = new Uint8Array(256);
for (const id of [0, 1, 2, 3, 4, 6, 8, 9, 13, 14, 15, 16, 17]) KEEPS_NOTHING[id] = 1;

/** A copy of `v` (a Buffer, as the socket's own reads were). */
const copyOf = (v: Uint8Array): Buffer => Buffer.from(v);

/**
 * Blocks copied out of transient reads are cut from slabs of this size, one
 * after another (a fresh ArrayBuffer per block, zero-filled, took ~5 % of a
 * leecher's CPU). A slab is freed when the last block cut from it is: blocks
 * arrive in the order they are asked and are let go together (their piece
 * verified, their journal generation written), so a slab seldom outlives
 * its blocks by much; 16 blocks to a slab, as 4 to each 64 KiB read kept
 * whole before.
 */
export const BLOCK_SLAB_BYTES = 256 * 1024;
let slab = new Uint8Array(0);
let slabAt = 0;

/** A block's own copy of data[start, end), cut from the current slab. */
function blockCopy(data: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (slabAt + n > slab.length) {
    slab = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(BLOCK_SLAB_BYTES, n)).buffer);
    slabAt = 0;
  }
  const block = slab.subarray(slabAt, slabAt + n);
  slabAt += n;
  block.set(data.subarray(start, end));
  return block;
}

/**
 * Parses the peer's bytes `data` (plaintext, after any MSE handshake) on `w`.
 * `transient`: `data` is reused once this returns (see above).
 */
export function takeChunk(w: FramedWire, data: Uint8Array, transient = false): void {
  let at = 0;
  if (w._bufferSize > 0) {
    // Finish the message the last read cut: only its bytes are copied.
    const size = w._parserSize;
    const need = size - w._bufferSize;
    if (data.length < need) {
      w._buffer.push(transient ? copyOf(data) : data);
      w._bufferSize += data.length;
      return;
    }
    const message = Buffer.allocUnsafe(size);
    let o = 0;
    for (const b of w._buffer) {
      message.set(b, o);
      o += b.length;
    }
    message.set(data.subarray(0, need), o);
    w._buffer = [];
    w._bufferSize = 0;
    at = need;
    w._parser!.call(w, message);
  }
  const onLength = w._onMessageLength;
  const onMessage = w._onMessage;
  while (w._parser !== null && w._cryptoSyncPattern === null && !w._pePending && w._parserSize <= data.length - at) {
    const size = w._parserSize;
    const parser = w._parser;
    if (parser === onLength && size === 4) {
      const length = u32(data, at);
      at += 4;
      if (length > w.maxMessage) return w.violation(`sent a message of ${length} bytes (limit ${w.maxMessage})`);
      if (length === 0) w._onKeepAlive();
      else w._parse(length, onMessage);
      continue;
    }
    if (parser === onMessage && data[at] === 7) {
      const fault = messageFault(data, at, size, w.pieceCount);
      if (fault !== undefined) return w.violation(fault);
      const index = u32(data, at + 1);
      const offset = u32(data, at + 5);
      const block = transient ? blockCopy(data, at + 9, at + size) : new Uint8Array(data.buffer, data.byteOffset + at + 9, size - 9);
      at += size;
      w._parse(4, onLength);
      try {
        w._onPiece(index, offset, block);
      } catch (e) {
        w.violation(`sent message 7 that could not be handled (${(e as Error).message})`);
      }
      continue;
    }
    const kept = transient && !(parser === onMessage && KEEPS_NOTHING[data[at]!] === 1);
    const view = size === 0 ? EMPTY : kept ? copyOf(data.subarray(at, at + size)) : data.subarray(at, at + size);
    at += size;
    parser.call(w, view);
  }
  if (at < data.length) {
    // What remains waits for the next read (or for the library's own handling of a resynchronisation).
    w._buffer = [transient ? copyOf(data.subarray(at)) : data.subarray(at)];
    w._bufferSize = data.length - at;
    w._processBuffer();
  }
}

/** Messages up to this size wait for the end of the turn in an OutBatch; a larger one (a block) flushes the batch and goes alone. */
export const BATCHED_MESSAGE_BYTES = 1024;
/** An OutBatch's buffer: 16 KiB is some 960 requests. */
const OUT_BATCH_BYTES = 16 * 1024;

/** Small messages of one turn, joined into one push at the end of the turn (or when the buffer fills, or a large message follows). */
export class OutBatch {
  private buf: Uint8Array | undefined;
  private len = 0;
  private queued = false;

  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  add(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.buf!.set(bytes, at);
  }

  /** Room for `n` more bytes (n <= BATCHED_MESSAGE_BYTES) at the returned offset of `bytes`, to be filled now. */
  reserve(n: number): number {
    if (this.len + n > OUT_BATCH_BYTES) this.flush();
    this.buf ??= new Uint8Array(OUT_BATCH_BYTES);
    const at = this.len;
    this.len += n;
    if (!this.queued) {
      this.queued = true;
      process.nextTick(this.flush);
    }
    return at;
  }

  /** The batch's buffer (see reserve). */
  get bytes(): Uint8Array {
    return this.buf!;
  }

  readonly flush = (): void => {
    this.queued = false;
    if (this.len === 0) return;
    const bytes = this.buf!.slice(0, this.len);
    this.len = 0;
    this.send(bytes);
  };
}
