/**
 * Squashfs metadata blocks (squashfs.rst "Metadata blocks"): a 16-bit
 * little-endian header — bit 15 set means stored uncompressed, the low 15
 * bits are the stored length — followed by at most 8 KiB once decoded.
 * Inode and directory references address (block start relative to a table,
 * offset in the decoded block); a read may continue into the next block,
 * which starts right after this one's stored bytes.
 *
 * Decoded blocks are cached by position in CACHE_BLOCKS slots of one buffer
 * (the least recently used block gives its slot up), and every stored byte
 * read is charged to the walk's budget.
 */
import { readInto, type ByteSource, type Span } from '../../store/byte-source.js';
import { decodeBlock, type Codec } from '../codecs.js';
import type { MetadataBudget } from '../layout.js';

export const METADATA_BYTES = 8192;
const UNCOMPRESSED = 0x8000;
/**
 * Decoded metadata blocks kept at once (2 MiB): the walk moves forward through the inode and directory tables, a
 * directory's entries and inodes lying together; 4,096 blocks (32 MiB) held a live tree's whole decoded tables
 * (4 MB more at the end of a walk of 64,000 entries) for no fewer decodes that showed in CPU time.
 */
const CACHE_BLOCKS = 256;

/** A decoded block held in a slot of the reader's one buffer: `data` is a view of the slot, valid while the block is cached. */
export interface MetaBlock {
  data: Uint8Array;
  next: number;
}

export class MetadataReader {
  /** Block position -> slot. */
  private readonly cache = new Map<number, number>();
  /**
   * CACHE_BLOCKS slots of METADATA_BYTES in one buffer, allocated once: a walk decodes a block per some hundred
   * entries, and a fresh 8 KiB buffer (and the stored bytes read) per block was garbage the collector freed only
   * with the old space, a peak that grew with the tree (a squashfs of 100,000 entries: ~1,000 blocks).
   */
  private slab: Uint8Array | undefined;
  private readonly slots: Slot[] = [];
  private loading: Promise<unknown> = Promise.resolve();
  /** Stored bytes of the block being decoded (a block is at most METADATA_BYTES stored). */
  private readonly stored = new Uint8Array(METADATA_BYTES + 2);
  private clock = 0;
  /** Stored spans read (for the layout's metadata ranges). */
  readonly spans: Span[] = [];

  constructor(
    private readonly src: ByteSource,
    private readonly codec: Codec | undefined,
    private readonly end: number,
    private readonly budget: MetadataBudget,
    readonly fail: (p: string) => never,
  ) {}

  /** The decoded block stored at `pos` if it is cached. */
  cached(pos: number): MetaBlock | undefined {
    const k = this.cache.get(pos);
    if (k === undefined) return undefined;
    const s = this.slots[k]!;
    s.used = ++this.clock;
    return s;
  }

  /**
   * The decoded block stored at `pos`, and where the next one starts. Its `data` lives in a slot that the least
   * recently used block gives up: a caller reads what it needs from it before it asks for CACHE_BLOCKS other blocks.
   */
  async block(pos: number): Promise<MetaBlock> {
    const hit = this.cached(pos);
    if (hit) return hit;
    // One load at a time (the stored bytes' buffer is the reader's); a concurrent reader's load may bring the block.
    const run = this.loading.then(() => this.cached(pos) ?? this.load(pos));
    this.loading = run.then(NOTHING, NOTHING);
    return run;
  }

  private async load(pos: number): Promise<MetaBlock> {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + 2 > this.end) this.fail(`metadata block at byte ${pos} lies beyond the filesystem (${this.end} bytes)`);
    const buf = this.stored;
    await readInto(this.src, buf, 0, pos, 2);
    const h = buf[0]! | (buf[1]! << 8);
    const len = h & 0x7fff;
    if (pos + 2 + len > this.end) this.fail(`metadata block at byte ${pos} (${len} bytes) runs past the filesystem end ${this.end}`);
    if (len > METADATA_BYTES) this.fail(`metadata block at byte ${pos} stores ${len} bytes, over ${METADATA_BYTES}`);
    if (!this.budget.take(len + 2)) this.fail(`metadata exceeds the limit of ${this.budget.limit} bytes`);
    await readInto(this.src, buf, 2, pos + 2, len);
    const entry = this.free();
    const room = this.slab!.subarray(entry.at, entry.at + METADATA_BYTES);
    let n: number;
    if (h & UNCOMPRESSED) {
      room.set(buf.subarray(2, 2 + len));
      n = len;
    } else {
      if (!this.codec) this.fail('metadata is compressed with an unsupported compressor');
      const data = await decodeBlock(this.codec, buf.subarray(2, 2 + len), METADATA_BYTES, (p) => this.fail(`metadata block at byte ${pos}: ${p}`), room);
      if (data.length > METADATA_BYTES) this.fail(`metadata block at byte ${pos} holds ${data.length} bytes, over ${METADATA_BYTES}`);
      if (data.buffer !== room.buffer || data.byteOffset !== room.byteOffset) room.set(data);
      n = data.length;
    }
    entry.data = room.subarray(0, n);
    entry.next = pos + 2 + len;
    entry.pos = pos;
    entry.used = ++this.clock;
    this.cache.set(pos, entry.k);
    this.spans.push({ start: pos, end: entry.next });
    return entry;
  }

  /** A slot to decode into: a free one, else the least recently used block's (then no longer cached). */
  private free(): Slot {
    this.slab ??= new Uint8Array(CACHE_BLOCKS * METADATA_BYTES);
    const n = this.slots.length;
    if (n < CACHE_BLOCKS) {
      const s: Slot = { data: EMPTY, next: 0, pos: -1, used: 0, k: n, at: n * METADATA_BYTES };
      this.slots.push(s);
      return s;
    }
    let s = this.slots[0]!;
    for (let i = 1; i < n; i++) if (this.slots[i]!.used < s.used) s = this.slots[i]!;
    if (s.pos >= 0) this.cache.delete(s.pos);
    s.pos = -1;
    s.used = 0;
    s.data = EMPTY;
    return s;
  }

  /** Drops the decoded blocks (after the walk: they are read again if a file's content is asked for). */
  forget(): void {
    this.cache.clear();
    this.slots.length = 0;
    this.slab = undefined;
    this.spans.length = 0;
  }

  cursor(pos: number, offset: number): MetaCursor {
    return new MetaCursor(this, pos, offset);
  }
}

const EMPTY = new Uint8Array(0);
const NOTHING = (): void => undefined;

/** A slot of the reader's buffer: `k`-th, at byte `at`; `pos` the block it holds (-1: none), `used` its last use. */
interface Slot extends MetaBlock {
  pos: number;
  used: number;
  readonly k: number;
  readonly at: number;
}

/** Sequential reading through metadata blocks from (block position, offset). */
export class MetaCursor {
  constructor(private readonly reader: MetadataReader, private pos: number, private offset: number) {}

  /**
   * The next `n` bytes when they lie in the block already decoded at the cursor, else undefined (then `take`):
   * the walk reads a few bytes at a time, and an async call per read was most of its cost (6,000 entries take
   * some 70,000 reads in all for the two images of a live sync).
   */
  takeNow(n: number): Uint8Array | undefined {
    const blk = this.reader.cached(this.pos);
    if (!blk || this.offset + n > blk.data.length) return undefined;
    const out = blk.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** The next `n` bytes (a copy when they span blocks). */
  async take(n: number): Promise<Uint8Array> {
    let blk = await this.reader.block(this.pos);
    if (this.offset > blk.data.length) this.reader.fail(`offset ${this.offset} lies beyond the ${blk.data.length} bytes of the metadata block at byte ${this.pos}`);
    if (this.offset + n <= blk.data.length) {
      const out = blk.data.subarray(this.offset, this.offset + n);
      this.offset += n;
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const avail = blk.data.length - this.offset;
      if (avail <= 0) {
        this.pos = blk.next;
        this.offset = 0;
        blk = await this.reader.block(this.pos);
        if (blk.data.length === 0) this.reader.fail(`empty metadata block at byte ${this.pos}`);
        continue;
      }
      const k = Math.min(avail, n - at);
      out.set(blk.data.subarray(this.offset, this.offset + k), at);
      at += k;
      this.offset += k;
    }
    return out;
  }
}
