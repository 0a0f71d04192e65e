/**
 * A torrent's image as a ByteSource before it is downloaded: every read is
 * served from whole pieces, each assembled exactly as a sync would (local
 * bytes first, only the missing ranges fetched) and verified against its
 * SHA-1, then kept in memory. `isosync diff` reads a release's metadata and
 * package indexes this way, so a user sees what 1.01 changes before
 * downloading it, and nothing it reports rests on unverified bytes.
 */
import { assemble } from '../delta/assemble.js';
import { checkRange, type ByteSource } from '../store/byte-source.js';
import { pieceCheckOf } from '../torrent/piece-check.js';
import { closeSources, } from './sources.js';
import { prepare, type SyncInput } from './session.js';

/** Pieces kept in memory: enough for an image's metadata and package indexes. */
const MAX_CACHED_PIECES = 256;

export class TorrentView implements ByteSource {
  private readonly pieces = new Map<number, Uint8Array>();
  /** Bytes fetched from the network for the pieces read so far. */
  fetchedBytes = 0;

  private constructor(
    private readonly prepared: Awaited<ReturnType<typeof prepare>>,
    private readonly input: SyncInput,
  ) {}

  static async open(input: SyncInput): Promise<TorrentView> {
    return new TorrentView(await prepare(input), input);
  }

  get size(): number {
    return this.input.target.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.input.target.name));
    const pl = this.input.target.pieceLength;
    const first = Math.floor(offset / pl);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / pl);
    const need: number[] = [];
    for (let p = first; p <= last; p++) if (!this.pieces.has(p)) need.push(p);
    if (need.length > 0) await this.load(need);
    const out = new Uint8Array(length);
    for (let p = first; p <= last; p++) {
      const bytes = this.pieces.get(p)!;
      const start = p * pl;
      const a = Math.max(offset, start);
      const b = Math.min(offset + length, start + bytes.length);
      if (b > a) out.set(bytes.subarray(a - start, b - start), a - offset);
    }
    return out;
  }

  private async load(need: number[]): Promise<void> {
    const { plan, byteSources, vt, net } = this.prepared;
    const wanted = new Set(need);
    const have = Array.from({ length: plan.pieceCount }, (_, p) => !wanted.has(p));
    const fetcher = net.hasSources ? net.engine : undefined;
    const stats = await assemble({
      plan,
      check: pieceCheckOf(this.input.target),
      sources: byteSources,
      cache: vt,
      store: {
        have,
        writePiece: async (p, _offset, bytes) => {
          if (this.pieces.size >= MAX_CACHED_PIECES) this.pieces.delete(this.pieces.keys().next().value!);
          this.pieces.set(p, bytes);
        },
      },
      ...(fetcher ? { fetcher } : {}),
    });
    this.fetchedBytes += stats.fetchedBytes;
  }

  async close(): Promise<void> {
    this.prepared.net.close();
    await closeSources(this.prepared.sources);
  }
}
