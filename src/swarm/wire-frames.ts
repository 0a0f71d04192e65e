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
  /** Where a block the peer sent may be received in place (see SafeWire.blockInto); else a slab. */
  blockInto: ((index: number, offset: number, length: number) => Uint8Array | undefined) | undefined;
  /** A message cut by a transient read's end waits here (CARRY_BYTES). */
  _carry: Uint8Array | undefined;
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

/**
 * A block's own copy of data[start, end): where the wire's owner receives it
 * in place (`blockInto`: the buffer of the piece it is fetched for), else cut
 * from the current slab.
 */
function blockCopy(w: FramedWire, data: Uint8Array, start: number, end: number, index: number, offset: number): Uint8Array {
  const n = end - start;
  let block = w.blockInto?.(index, offset, n);
  if (block === undefined || block.length !== n) {
    if (slabAt + n > slab.length) {
      slab = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(BLOCK_SLAB_BYTES, n)).buffer);
      slabAt = 0;
    }
    block = slab.subarray(slabAt, slabAt + n);
    slabAt += n;
  }
  block.set(data.subarray(start, end));
  return block;
}

/**
 * A message cut by the end of a transient read waits in this buffer, one
 * per wire, up to this size (a 16 KiB block with its header): the next read
 * finishes it there, and a block is then copied out like any other (no
 * fresh buffer for the head and another for the whole message, as a quarter
 * of the blocks of 64 KiB reads had). Larger messages take the copying way.
 */
export const CARRY_BYTES = 16 * 1024 + 16;

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
    const carry = transient && size <= CARRY_BYTES ? carried(w) : undefined;
    if (carry) {
      carry.set(data.subarray(0, need), w._bufferSize);
      if (data.length < need) {
        w._bufferSize += data.length;
        w._buffer = [carry.subarray(0, w._bufferSize)];
        return;
      }
      w._buffer = [];
      w._bufferSize = 0;
      if (!frame(w, carry, 0, size, true)) return;
      at = need;
    } else {
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
  }
  while (w._parser !== null && w._cryptoSyncPattern === null && !w._pePending && w._parserSize <= data.length - at) {
    const size = w._parserSize;
    if (!frame(w, data, at, size, transient)) return;
    at += size;
  }
  if (at >= data.length) return;
  const rest = data.length - at;
  if (transient && w._parser !== null && w._cryptoSyncPattern === null && !w._pePending && w._parserSize <= CARRY_BYTES) {
    // The head of a message the next read finishes (see CARRY_BYTES).
    w._carry ??= new Uint8Array(Buffer.allocUnsafeSlow(CARRY_BYTES).buffer, 0, CARRY_BYTES);
    w._carry.set(data.subarray(at));
    w._buffer = [w._carry.subarray(0, rest)];
    w._bufferSize = rest;
    return;
  }
  // What remains waits for the next read (or for the library's own handling of a resynchronisation).
  w._buffer = [transient ? copyOf(data.subarray(at)) : data.subarray(at)];
  w._bufferSize = rest;
  w._processBuffer();
}

/** The wire's carry buffer when what waits for the next read is all in it (takeChunk put it there). */
function carried(w: FramedWire): Uint8Array | undefined {
  const c = w._carry;
  const b = w._buffer;
  return c !== undefined && b.length === 1 && b[0]!.buffer === c.buffer && b[0]!.byteOffset === c.byteOffset ? c : undefined;
}

/**
 * Hands the `size` bytes at `at` of `data` to the parser waiting for them (a
 * length prefix, or a message); false when the peer broke the protocol.
 */
function frame(w: FramedWire, data: Uint8Array, at: number, size: number, transient: boolean): boolean {
  const parser = w._parser!;
  if (parser === w._onMessageLength && size === 4) {
    const length = u32(data, at);
    if (length > w.maxMessage) {
      w.violation(`sent a message of ${length} bytes (limit ${w.maxMessage})`);
      return false;
    }
    if (length === 0) w._onKeepAlive();
    else w._parse(length, w._onMessage);
    return true;
  }
  if (parser === w._onMessage && data[at] === 7) {
    const fault = messageFault(data, at, size, w.pieceCount);
    if (fault !== undefined) {
      w.violation(fault);
      return false;
    }
    const index = u32(data, at + 1);
    const offset = u32(data, at + 5);
    const block = transient ? blockCopy(w, data, at + 9, at + size, index, offset) : new Uint8Array(data.buffer, data.byteOffset + at + 9, size - 9);
    w._parse(4, w._onMessageLength);
    try {
      w._onPiece(index, offset, block);
    } catch (e) {
      w.violation(`sent message 7 that could not be handled (${(e as Error).message})`);
    }
    return true;
  }
  const kept = transient && !(parser === w._onMessage && KEEPS_NOTHING[data[at]!] === 1);
  const view = size === 0 ? EMPTY : kept ? copyOf(data.subarray(at, at + size)) : data.subarray(at, at + size);
  parser.call(w, view);
  return true;
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
