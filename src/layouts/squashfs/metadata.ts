/**
 * Squashfs metadata blocks (squashfs.rst "Metadata blocks"): a 16-bit
 * little-endian header — bit 15 set means stored uncompressed, the low 15
 * bits are the stored length — followed by at most 8 KiB once decoded.
 * Inode and directory references address (block start relative to a table,
 * offset in the decoded block); a read may continue into the next block,
 * which starts right after this one's stored bytes.
 *
 * Decoded blocks are cached by position (bounded: the cache is dropped past
 * CACHE_BLOCKS), and every stored byte read is charged to the walk's budget.
 */
import type { ByteSource, Span } from '../../store/byte-source.js';
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

export class MetadataReader {
  private readonly cache = new Map<number, { data: Uint8Array; next: number }>();
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
  cached(pos: number): { data: Uint8Array; next: number } | undefined {
    return this.cache.get(pos);
  }

  /** The decoded block stored at `pos`, and where the next one starts. */
  async block(pos: number): Promise<{ data: Uint8Array; next: number }> {
    const hit = this.cache.get(pos);
    if (hit) return hit;
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + 2 > this.end) this.fail(`metadata block at byte ${pos} lies beyond the filesystem (${this.end} bytes)`);
    const head = await this.src.read(pos, 2);
    const h = head[0]! | (head[1]! << 8);
    const len = h & 0x7fff;
    if (pos + 2 + len > this.end) this.fail(`metadata block at byte ${pos} (${len} bytes) runs past the filesystem end ${this.end}`);
    if (!this.budget.take(len + 2)) this.fail(`metadata exceeds the limit of ${this.budget.limit} bytes`);
    const stored = await this.src.read(pos + 2, len);
    let data: Uint8Array;
    if (h & UNCOMPRESSED) data = stored;
    else {
      if (!this.codec) this.fail('metadata is compressed with an unsupported compressor');
      data = await decodeBlock(this.codec, stored, METADATA_BYTES, (p) => this.fail(`metadata block at byte ${pos}: ${p}`));
    }
    if (data.length > METADATA_BYTES) this.fail(`metadata block at byte ${pos} holds ${data.length} bytes, over ${METADATA_BYTES}`);
    const entry = { data, next: pos + 2 + len };
    if (this.cache.size >= CACHE_BLOCKS) this.cache.clear();
    this.cache.set(pos, entry);
    this.spans.push({ start: pos, end: entry.next });
    return entry;
  }

  /** Drops the decoded blocks (after the walk: they are read again if a file's content is asked for). */
  forget(): void {
    this.cache.clear();
    this.spans.length = 0;
  }

  cursor(pos: number, offset: number): MetaCursor {
    return new MetaCursor(this, pos, offset);
  }
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
