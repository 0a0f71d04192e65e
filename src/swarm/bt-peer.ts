/**
 * A BitTorrent peer as a source of the download engine (engine/handle.ts):
 * the engine's asks become wire requests (BEP 3), a pipeline sized by the
 * peer's rate in flight (pipelineDepth), each block reported back as it
 * arrives, rejected (BEP 6) or failed.
 *
 * Aligned-block fallback: isosync asks exactly the missing bytes, so a
 * request may start and end anywhere inside a 16 KiB block. A peer that
 * rejects such requests (UNALIGNED_STRIKES of them while it does not choke
 * us) or lets them time out is asked whole aligned blocks from then on, each
 * wire request carrying every ask that falls in it; a peer that ever served
 * one keeps being asked them (its rejects have other causes). The swarm
 * remembers aligned-only peers by address across reconnects.
 */
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { alignedBlockOf, isAlignedBlock, keyOf, type Block } from '../engine/block.js';
import { NO_CAPACITY, type Capacity, type HandleSink, type PeerHandle } from '../engine/handle.js';
import { sourceOf } from '../core/warnings.js';
import type { Availability } from './availability.js';
import type { PeerLink } from './peer-link.js';
import type { TokenBucket } from './rate-limit.js';

/**
 * The pipeline a peer is asked to fill, at least: PIPELINE_DEPTH full
 * blocks' bytes in flight (64 gave 140-200 MB/s on the loopback in the stack
 * probe), deeper by the peer's measured rate (pipelineDepth), never above the
 * queue the peer advertises (BEP 10 `reqq`). The depth counts bytes, not
 * asks: a delta's blocks are mostly 1-2 KiB (its missing ranges), and 64 of
 * them held ~130 KB a round trip, so a seed peer beside a 2 MiB/s mirror was
 * slower than the mirror on a loaded machine (round trips of 0.25-0.6 s). A
 * peer whose `reqq` takes them is asked up to MAX_PIPELINE_BLOCKS small
 * blocks within those bytes.
 */
export const PIPELINE_DEPTH = 64;
/** Bytes in flight per peer: PIPELINE_DEPTH full 16 KiB blocks (BEP 3 request size). */
export const PIPELINE_BYTES = PIPELINE_DEPTH * 16 * 1024;
/** Asks in flight per peer at most, small blocks included, for a peer whose `reqq` takes them (libtorrent advertises 500, isosync 2000). */
export const MAX_PIPELINE_BLOCKS = 512;
/**
 * Block asks in flight per peer, at most (4 MiB of 16 KiB blocks). A
 * pipeline carries its depth once per round trip, and round trips grow with
 * the load of both ends: at load ~13 a loopback seed took ~0.3 s per round
 * trip, so 64 asks held each leecher of a 4-leecher swarm near 3 MB/s from
 * the seed (the seed idle most of the time, the leechers trading among
 * themselves instead). Sized by rate up to 256, the seed sent ~20 MB/s to a
 * leecher in the same conditions and uploaded 1.25-1.3 images instead of
 * 1.1 (libtorrent's seed: 1.6-1.8 in the same runs).
 */
export const MAX_PIPELINE_DEPTH = 256;
/** Seconds of a peer's measured rate kept in flight (libtorrent's request_queue_time is 3 s). */
export const PIPELINE_SECONDS = 3;
/** Bytes of the full block the depth is counted in (BEP 3 request size). */
const BLOCK_BYTES = 16 * 1024;
/**
 * Asks leave in batches of at least a quarter of the pipeline: one write for
 * many requests instead of one per block that arrived (request writes were
 * ~10% of a loopback leecher's CPU).
 */
const REFILL_FRACTION = 4;

/**
 * The pipeline depth for a peer sending `rate` bytes per second (pure):
 * PIPELINE_SECONDS of it in full blocks, between PIPELINE_DEPTH and
 * MAX_PIPELINE_DEPTH. A depth-bound peer's rate is depth / round trip, so
 * the depth grows while round trips are shorter than PIPELINE_SECONDS, and
 * a slow peer is never asked more than a few seconds of its rate beyond the
 * minimum (a block asked of it waits there, not at a faster source).
 */
export function pipelineDepth(rate: number): number {
  const want = Number.isFinite(rate) && rate > 0 ? Math.ceil((rate * PIPELINE_SECONDS) / BLOCK_BYTES) : 0;
  return Math.min(MAX_PIPELINE_DEPTH, Math.max(PIPELINE_DEPTH, want));
}

/**
 * What a peer may be asked now (pure): `asked` blocks of `askedBytes` in
 * flight, `reqq` what its BEP 10 handshake said (anything but a positive
 * whole number: it said nothing, and gets `depth` asks at most), `depth` the
 * pipeline for its rate in full blocks (pipelineDepth): its bytes in flight
 * are depth x 16 KiB. While asks are out, nothing until a quarter of the asks
 * or of the bytes is free. See PIPELINE_DEPTH and REFILL_FRACTION.
 */
export function pipelineCapacity(asked: number, askedBytes: number, reqq: unknown, depth = PIPELINE_DEPTH): Capacity {
  const said = typeof reqq === 'number' && Number.isSafeInteger(reqq) && reqq > 0;
  const asks = said ? Math.min(Math.max(MAX_PIPELINE_BLOCKS, depth), reqq) : depth;
  const cap = depth * BLOCK_BYTES;
  const blocks = asks - asked;
  const bytes = cap - askedBytes;
  if (blocks <= 0 || bytes <= 0) return NO_CAPACITY;
  // Refill in batches while asks are out; an idle peer is asked at once.
  if (asked > 0 && (blocks < Math.ceil(Math.min(asks, depth) / REFILL_FRACTION) || bytes < cap / REFILL_FRACTION)) return NO_CAPACITY;
  return { blocks, bytes, runs: Infinity };
}

/** Unaligned requests a peer rejects (while not choking us) or lets time out before it is asked aligned blocks only. */
export const UNALIGNED_STRIKES = 2;

/** What a peer handle needs from its swarm. */
export interface PeerContext {
  readonly availability: Availability<PeerLink>;
  readonly down: TokenBucket;
  pieceSize(p: PieceIndex): number;
  /** Bytes of a block arrived from `link` (report and choker counters). */
  received(link: PeerLink, bytes: number): void;
  /** The peer is asked aligned blocks from now on (`how` it showed it). */
  alignedOnly(link: PeerLink, how: 'rejects' | 'ignores' | 'hangs up on'): void;
  /** Closes the link; `ban` keeps it out for the life of the swarm. */
  drop(link: PeerLink, reason: string, ban: boolean): void;
}

/** Aligned-only: the aligned block asked on the wire, and its key in `groups`. */
interface Group {
  readonly onWire: Block;
  readonly key: string;
}

const isGroup = (t: Block | Group): t is Group => 'onWire' in t;
const onWireOf = (t: Block | Group): Block => (isGroup(t) ? t.onWire : t);

export class BtPeer implements PeerHandle {
  readonly kind = 'peer' as const;
  readonly id: string;
  private sink: HandleSink | undefined;
  /** Asks made of this peer and not answered, by key. */
  private readonly asks = new Map<string, Block>();
  /** Aligned-only: each aligned block asked on the wire (by key) and the asks it carries. */
  private readonly groups = new Map<string, Map<string, Block>>();
  private unalignedStrikes = 0;
  private unalignedAnswered = 0;
  /** Bytes of the asks in `asks`. */
  private askedBytes = 0;

  constructor(
    readonly link: PeerLink,
    private readonly ctx: PeerContext,
    public alignedOnly: boolean,
  ) {
    this.id = sourceOf.peer(link.address);
  }

  attach(sink: HandleSink): void {
    this.sink = sink;
    // Blocks read off the socket's reused buffer land in their piece's buffer when the engine has one (no copy of their own).
    if (sink.inPlace) this.link.wire.blockInto = (index, offset, length) => sink.inPlace!(this, pieceIndex(index), offset, length);
  }

  has(p: PieceIndex): boolean {
    return this.ctx.availability.has(this.link, p);
  }

  get complete(): boolean {
    return this.ctx.availability.isComplete(this.link);
  }

  get ready(): boolean {
    return this.link.handshaken && !this.link.closed && !this.link.wire.peerChoking;
  }

  /** Its pipeline is sized by `rate`, the engine's measure of it (engine/rate.ts: bytes over the time asks were out). */
  capacity(asked: number, rate?: number): Capacity {
    if (!this.ready) return NO_CAPACITY;
    return pipelineCapacity(asked, this.askedBytes, this.link.wire.peerExtendedHandshake?.['reqq'], pipelineDepth(rate ?? 0));
  }

  /** What it has or whether it chokes changed. */
  changed(): void {
    this.sink?.changed(this);
  }

  request(blocks: readonly Block[]): void {
    for (let i = 0; i < blocks.length; i++) this.ask(blocks[i]!);
  }

  cancel(blocks: readonly Block[]): void {
    for (const b of blocks) this.unask(b);
  }

  timedOut(blocks: readonly Block[]): void {
    for (const b of blocks) if (!this.alignedOnly && !isAlignedBlock(b, this.ctx.pieceSize(b.piece))) this.strike('ignores');
  }

  drop(reason: string): void {
    this.ctx.drop(this.link, reason, reason === 'banned' || reason === 'stalled');
  }

  /** The link closed: every ask returns to the engine. */
  closed(reason: string): void {
    // Hung up with unaligned asks pending and none ever answered: it may not take them (next time, aligned blocks).
    if (!this.alignedOnly && this.unalignedAnswered === 0 && [...this.asks.values()].some((b) => !isAlignedBlock(b, this.ctx.pieceSize(b.piece)))) {
      this.ctx.alignedOnly(this.link, 'hangs up on');
    }
    this.asks.clear();
    this.askedBytes = 0;
    this.groups.clear();
    this.sink?.closed(this, reason);
  }

  /** Asks for `b`: as it is, or, aligned-only, as the aligned block holding it (one wire request per aligned block). */
  private ask(b: Block): void {
    const k = keyOf(b);
    if (!this.asks.has(k)) this.askedBytes += b.length;
    this.asks.set(k, b);
    let tag: Block | Group = b;
    if (this.alignedOnly) {
      const onWire = alignedBlockOf(b, this.ctx.pieceSize(b.piece));
      const wk = keyOf(onWire);
      const group = this.groups.get(wk);
      if (group) return void group.set(k, b);
      this.groups.set(wk, new Map([[k, b]]));
      tag = { onWire, key: wk };
    }
    // No promise per block when nothing limits the download rate.
    if (this.ctx.down.unlimited) this.send(tag);
    else void this.ctx.down.take(onWireOf(tag).length).then(() => this.send(tag));
  }

  /** Puts the request for `tag` on the wire, unless nothing it carries is asked any more. */
  private send(tag: Block | Group): void {
    const grouped = isGroup(tag);
    const carries = grouped ? (this.groups.get(tag.key)?.size ?? 0) > 0 : this.asks.has(keyOf(tag));
    if (this.link.closed || !carries) return void (grouped && this.groups.delete(tag.key));
    const onWire = onWireOf(tag);
    this.link.wire.request(onWire.piece, onWire.offset, onWire.length, this.answer, tag);
  }

  /** The peer's answer to the request for `tag` (one callback for every request: no closure per block). */
  private readonly answer = (err: Error | null, bytes: Uint8Array | undefined, t: unknown): void => {
    const tag = t as Block | Group;
    const grouped = isGroup(tag);
    if (!grouped && !err && bytes) return this.answered(tag, bytes);
    const onWire = onWireOf(tag);
    let asked: Block[];
    if (grouped) {
      asked = [...(this.groups.get(tag.key)?.values() ?? [])];
      this.groups.delete(tag.key);
      for (const x of asked) if (this.asks.delete(keyOf(x))) this.askedBytes -= x.length;
    } else asked = this.asks.delete(keyOf(tag)) ? [tag] : [];
    if (!grouped && asked.length > 0) this.askedBytes -= tag.length;
    if (err || !bytes) {
      const rejected = this.link.wire.rejecting;
      if (!grouped && rejected && !this.link.closed && !this.link.wire.peerChoking && !isAlignedBlock(tag, this.ctx.pieceSize(tag.piece))) this.strike('rejects');
      if (asked.length > 0) this.sink?.failed(this, asked, rejected ? 'rejected' : this.link.wire.peerChoking ? 'choked' : 'error');
      return;
    }
    if (bytes.length !== onWire.length) return this.link.wire.violation(`sent ${bytes.length} bytes for a ${onWire.length}-byte request of piece ${onWire.piece}`);
    if (!grouped && !isAlignedBlock(tag, this.ctx.pieceSize(tag.piece))) this.unalignedAnswered++;
    this.ctx.received(this.link, bytes.length);
    // Its own memory (a slab, or its place in the piece's buffer: SafeWire.blockInto), or a view of a read never reused.
    if (!grouped) {
      if (asked.length > 0) this.sink?.block(this, tag, bytes);
      return;
    }
    for (const x of asked) this.sink?.block(this, x, bytes.subarray(x.offset - onWire.offset, x.offset - onWire.offset + x.length));
  };

  /** The block asked as `b` itself (not aligned-only) arrived: the common case, without the arrays the general answer makes. */
  private answered(b: Block, bytes: Uint8Array): void {
    const asked = this.asks.delete(keyOf(b));
    if (asked) this.askedBytes -= b.length;
    if (bytes.length !== b.length) return this.link.wire.violation(`sent ${bytes.length} bytes for a ${b.length}-byte request of piece ${b.piece}`);
    if (!isAlignedBlock(b, this.ctx.pieceSize(b.piece))) this.unalignedAnswered++;
    this.ctx.received(this.link, bytes.length);
    if (asked) this.sink?.block(this, b, bytes);
  }

  /** Withdraws the ask for `b` (another source sent it, or nobody wants it now). */
  private unask(b: Block): void {
    const k = keyOf(b);
    if (!this.asks.delete(k)) return;
    this.askedBytes -= b.length;
    const onWire = alignedBlockOf(b, this.ctx.pieceSize(b.piece));
    const group = this.groups.get(keyOf(onWire));
    if (group?.has(k)) {
      group.delete(k);
      if (group.size > 0) return;
      this.groups.delete(keyOf(onWire));
      this.link.wire.cancel(onWire.piece, onWire.offset, onWire.length);
    } else this.link.wire.cancel(b.piece, b.offset, b.length);
  }

  /** An unaligned request was rejected or ignored: UNALIGNED_STRIKES of them and it is asked aligned blocks only. */
  private strike(how: 'rejects' | 'ignores'): void {
    if (this.alignedOnly || this.unalignedAnswered > 0 || ++this.unalignedStrikes < UNALIGNED_STRIKES) return;
    this.alignedOnly = true;
    this.ctx.alignedOnly(this.link, how);
  }
}
