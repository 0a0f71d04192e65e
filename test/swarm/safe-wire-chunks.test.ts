/**
 * SafeWire frames what a peer sends the same way however the socket cuts it
 * into reads: one read, single bytes, odd sizes, or 64 KiB reads that split
 * 16 KiB piece messages. The peer's bytes are a handshake followed by a mix of
 * messages; each framing must hand the library the same messages in the same
 * order, byte for byte. The same holds for reads into one buffer reused for
 * every read (`takeRead`, as PeerLink reads a dialed socket), with the bytes
 * a handler may keep (blocks, the bitfield) still right once that buffer has
 * been overwritten, and blocks the wire's owner gives a place to (its
 * piece's buffer) received there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SafeWire } from '../../src/swarm/safe-wire.js';
import { Rng } from '../helpers/random.js';
import { handshake, message } from './raw-peer.js';

const PIECES = 64;
const BLOCK = 16 * 1024;

/** Records a digest of every message the library is given to parse (piece messages as they reach `_onPiece`: SafeWire hands them there itself). */
class RecordingWire extends SafeWire {
  readonly seen: string[] = [];
  /** Blocks as given to `_onPiece`, kept (a digest of each is taken again at the end). */
  readonly blocks: Uint8Array[] = [];
  override _onMessage(buf: Uint8Array): void {
    if (buf[0] !== 7) this.record(buf);
    super._onMessage(buf);
  }
  override _onPiece(index: number, offset: number, block: Uint8Array): void {
    const head = Buffer.alloc(9);
    head[0] = 7;
    head.writeUInt32BE(index, 1);
    head.writeUInt32BE(offset, 5);
    this.record(Buffer.concat([head, block]));
    this.blocks.push(block);
    super._onPiece(index, offset, block);
  }
  private record(buf: Uint8Array): void {
    this.seen.push(`${buf[0]}:${buf.length}:${createHash('sha1').update(buf).digest('hex')}`);
  }
}

function pieceMessage(rng: Rng, index: number, begin: number, length: number): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32BE(9 + length, 0);
  head[4] = 7;
  head.writeUInt32BE(index, 5);
  head.writeUInt32BE(begin, 9);
  return Buffer.concat([head, rng.bytes(length)]);
}

/** A peer's side of a session: its handshake, a bitfield, haves, keep-alives, and piece messages of several sizes. */
function session(rng: Rng): Buffer {
  const parts: Buffer[] = [handshake(new Uint8Array(20).fill(7), '-TT0001-chunkedpeer1', false), Buffer.concat([message(5), Buffer.alloc(PIECES / 8, 0xff)])];
  parts[1]!.writeUInt32BE(1 + PIECES / 8, 0);
  for (let i = 0; i < 40; i++) {
    const kind = rng.int(4);
    if (kind === 0) parts.push(message(4, rng.int(PIECES)));
    else if (kind === 1) parts.push(Buffer.alloc(4)); // keep-alive
    else parts.push(pieceMessage(rng, rng.int(PIECES), BLOCK * rng.int(4), kind === 2 ? BLOCK : 1 + rng.int(BLOCK)));
  }
  return Buffer.concat(parts);
}

/** Feeds `bytes` to a fresh wire in reads of the sizes `cut` gives; returns what it parsed. */
function parse(bytes: Buffer, cut: (at: number) => number): string[] {
  const wire = new RecordingWire('tcpOutgoing', PIECES);
  let violation: string | undefined;
  wire.onViolation = (r) => (violation = r);
  wire.on('error', () => undefined);
  for (let at = 0; at < bytes.length; ) {
    const n = Math.max(1, cut(at));
    // Each read is a copy, as a socket hands over fresh memory.
    wire._write(Uint8Array.from(bytes.subarray(at, at + n)), () => undefined);
    at += n;
  }
  assert.equal(violation, undefined);
  wire.destroy();
  return wire.seen;
}

const digest = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/**
 * Feeds `bytes` to a fresh wire through `takeRead`, every read in the same
 * buffer, overwritten after each; returns what it parsed, the digests of its
 * blocks and of the peer's bitfield, both taken at the end.
 */
function parseReused(bytes: Buffer, cut: (at: number) => number, blockInto?: SafeWire['blockInto']): { seen: string[]; blocks: string[]; have: boolean[]; given: Uint8Array[] } {
  const wire = new RecordingWire('tcpOutgoing', PIECES);
  wire.blockInto = blockInto;
  let violation: string | undefined;
  wire.onViolation = (r) => (violation = r);
  wire.on('error', () => undefined);
  const buf = Buffer.alloc(65536);
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(buf.length, Math.max(1, cut(at)), bytes.length - at);
    bytes.copy(buf, 0, at, at + n);
    wire.takeRead(buf.subarray(0, n));
    buf.fill(0xee);
    at += n;
  }
  assert.equal(violation, undefined);
  const have = Array.from({ length: PIECES }, (_, i) => wire.peerPieces.get(i));
  wire.destroy();
  return { seen: wire.seen, blocks: wire.blocks.map(digest), have, given: wire.blocks };
}

describe('SafeWire framing', () => {
  const rng = new Rng(20261201);
  const bytes = session(rng);
  const whole = parse(bytes, () => bytes.length);

  it('parses the whole session in one read', () => {
    // 1 bitfield + 40 messages, of which the keep-alives never reach _onMessage.
    assert.ok(whole.length > 20 && whole.length <= 41, String(whole.length));
    assert.ok(whole[0]!.startsWith('5:'), whole[0]);
  });

  const cuts: [string, (at: number) => number][] = [
    ['single bytes', () => 1],
    ['7-byte reads', () => 7],
    ['4 KiB reads', () => 4096],
    ['64 KiB reads', () => 65536],
    ['reads of random sizes', () => 1 + rng.int(40_000)],
    ['reads that end just past each length prefix', (at) => (at < 68 ? 68 - at : 5 + rng.int(3))],
  ];
  for (const [name, cut] of cuts) {
    it(`parses the same messages from ${name}`, () => {
      assert.deepEqual(parse(bytes, cut), whole);
    });
  }

  const copied = new RecordingWire('tcpOutgoing', PIECES);
  copied.on('error', () => undefined);
  copied._write(Uint8Array.from(bytes), () => undefined);
  const blocks = copied.blocks.map(digest);
  const have = Array.from({ length: PIECES }, (_, i) => copied.peerPieces.get(i));
  copied.destroy();
  for (const [name, cut] of cuts) {
    it(`parses the same messages from ${name} into one reused buffer, and keeps its own copies`, () => {
      const r = parseReused(bytes, cut);
      assert.deepEqual(r.seen, whole);
      assert.deepEqual(r.blocks, blocks);
      assert.deepEqual(r.have, have);
    });
  }

  for (const [name, cut] of cuts) {
    it(`receives blocks in the place their owner gives from ${name}, the others in copies of their own`, () => {
      // Every other block gets a place: a view in the middle of a buffer of its own (as a piece buffer's block would be).
      const places: Uint8Array[] = [];
      let asked = 0;
      const r = parseReused(bytes, cut, (_index, _offset, length) => {
        if (asked++ % 2 === 1) return undefined;
        const place = new Uint8Array(length + 64).subarray(32, 32 + length);
        places.push(place);
        return place;
      });
      assert.deepEqual(r.seen, whole);
      assert.deepEqual(r.blocks, blocks);
      assert.ok(places.length > 5, String(places.length));
      // Each block given a place reached the handler as that very view, and no other block did.
      const placed = new Set(places);
      assert.equal(r.given.filter((b) => placed.has(b)).length, places.length);
    });
  }
});
