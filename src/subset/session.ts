/**
 * A subset session: part of a torrent's image, piece by piece, on demand.
 *
 * The target is a sparse `.part` (store/part-file.ts) that holds only
 * verified pieces. Reading it as a ByteSource (`read`, `prefetch`) first
 * builds every piece the read touches exactly as a sync would (local bytes
 * first, only the missing ranges from the network, the SHA-1 checked) and
 * writes it to the .part; so a parser walking the target's metadata through
 * this session reads only verified bytes, and fetches only the pieces that
 * metadata sits in. Once the wanted files are known, `mapFiles` maps them
 * onto local data (the same ISO mapping a sync uses: a source image's file
 * of the same path or name and size, a loose file from --source) and
 * `ensure` builds their pieces.
 *
 * While it runs, the .part is seeded to peers as it is: the swarm serves
 * verified pieces only, and announces each new one. Pieces nobody asked for
 * are never fetched: the engine's look-ahead sees only wanted pieces.
 *
 * Wiring only: sources, hints and the network come from sync/prepare.ts,
 * the building from delta/assemble.ts, the mapping from delta/iso-map.ts.
 */
import { unlink } from 'node:fs/promises';
import { asIsosyncError, IsosyncError } from '../errors.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import { spanLength, type Span } from '../core/span.js';
import { assemble, type AssembleStats } from '../delta/assemble.js';
import { mapIsoFiles, type ImageSourceInfo, type IsoMapping, type LooseFile } from '../delta/iso-map.js';
import { mapNestedFiles, type NestedSource } from '../delta/nested-map.js';
import { buildPlan, pieceSpan, type Layer, type LocalSegment, type Plan } from '../delta/plan.js';
import { pieceNeeds } from '../delta/sure-bytes.js';
import { readIso, type IsoImage } from '../iso/index.js';
import type { NestedImage } from '../layouts/nested.js';
import { checkRange, type ByteSource } from '../store/byte-source.js';
import { PartFile } from '../store/part-file.js';
import { pieceCheckOf } from '../torrent/piece-check.js';
import { startPeers, type SyncPeers } from '../swarm/sync-peers.js';
import { prepare, type Prepared } from '../sync/prepare.js';
import type { SyncEvent, SyncInput } from '../sync/report.js';
import { nestedImagesOf } from '../sync/nested-plan.js';
import { closeSources } from '../sync/sources.js';
import { piecesTouched } from './pieces.js';

export interface SubsetStats {
  /** Bytes fetched from the network (all of them, including what failed a hash). */
  fetchedBytes: number;
  /** Bytes of pieces built here that came from local data. */
  reusedBytes: number;
  wastedBytes: number;
  /** Pieces verified by this session (not counting those the .part held already). */
  pieces: number;
  /** Bytes of wanted pieces the .part already held when they were wanted. */
  resumedBytes: number;
}

export class SubsetSession implements ByteSource {
  private plan: Plan;
  private readonly want = new Set<PieceIndex>();
  private readonly inflight = new Map<PieceIndex, Promise<void>>();
  /** Pieces read while the chosen files were being located: the metadata that locates them. */
  readonly metadataPieces = new Set<PieceIndex>();
  private locating = true;
  private sourceIsos: Promise<ImageSourceInfo[]> | undefined;
  readonly stats: SubsetStats = { fetchedBytes: 0, reusedBytes: 0, wastedBytes: 0, pieces: 0, resumedBytes: 0 };
  private closed = false;

  private constructor(
    readonly input: SyncInput,
    readonly part: PartFile,
    readonly prepared: Prepared,
    readonly swarm: SyncPeers | undefined,
  ) {
    this.plan = prepared.plan;
  }

  /**
   * Opens (or resumes) `input.output + ".part"`, finds local sources, opens
   * the network and, with `input.peers`, joins the swarm, serving the .part.
   */
  static async open(input: SyncInput): Promise<SubsetSession> {
    const emit = input.onEvent ?? (() => undefined);
    const { target } = input;
    if (target.files) throw new IsosyncError('UNSUPPORTED', `Cannot read files of ${JSON.stringify(target.name)}: multi-file torrents are not ISO images`);
    emit({ type: 'phase', phase: 'verify-part' });
    const part = await PartFile.open(input.output, target);
    emit({ type: 'part', path: part.path, resumedBytes: verifiedBytes(part, target) });
    let swarm: SyncPeers | undefined;
    try {
      swarm = input.peers ? await startPeers(target, { ...input.peers, preferredTrackers: input.preferredTrackers ?? [] }, part, input.onWarning) : undefined;
      const prepared = await prepare(input, part, swarm, { skipTargetMetadata: true });
      return new SubsetSession(input, part, prepared, swarm);
    } catch (e) {
      await swarm?.close();
      await part.close();
      throw e;
    }
  }

  get size(): number {
    return this.input.target.length;
  }

  get pieceLength(): number {
    return this.input.target.pieceLength;
  }

  /** Verified bytes of the target: the pieces `[offset, offset + length)` touches are built first. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.input.target.name));
    if (length === 0) return new Uint8Array(0);
    await this.ensure(piecesTouched([{ start: offset, end: offset + length }], this.pieceLength, this.size));
    return this.part.read(offset, length);
  }

  /** A parser announces what it will read: those pieces are built together. */
  async prefetch(ranges: readonly Span[]): Promise<void> {
    await this.ensure(piecesTouched(ranges, this.pieceLength, this.size));
  }

  /** The chosen files are located: later reads are theirs, not metadata. */
  located(): void {
    this.locating = false;
  }

  /** Pieces wanted so far (metadata and chosen files), ascending. */
  wanted(): PieceIndex[] {
    return [...this.want].sort((a, b) => a - b);
  }

  /**
   * Maps the files of `image` (the target's tree, or the part of it that was
   * read) and of its `nested` images read so far onto local data, so that
   * their pieces are built from it where it holds the same bytes. Every
   * piece is still verified.
   */
  async mapFiles(image: IsoImage, nested: readonly NestedImage[] = [], note: (m: string) => void = () => undefined): Promise<IsoMapping> {
    const isos = await this.localIsos();
    const mapping = mapIsoFiles(image, isos, this.looseFiles());
    // Files inside the target's nested images come from the same files of the sources' nested images (by stored chunks).
    let nestedExact: Layer = [];
    if (nested.length > 0 && isos.length > 0) {
      const sources: NestedSource[] = [];
      for (const s of isos) sources.push({ index: s.index, nested: await nestedImagesOf(this.prepared.byteSources[s.index]!, s.image, note) });
      nestedExact = mapNestedFiles(nested, sources).exact;
    }
    this.plan = buildPlan(this.input.target, [this.prepared.plan.local, nestedExact, mapping.exact], mapping.guesses);
    this.tellEngine();
    return mapping;
  }

  /** Pieces that need no byte from the network in the current plan and are not verified yet. */
  freePieces(): PieceIndex[] {
    const needs = pieceNeeds(this.plan, this.part.have);
    const out: PieceIndex[] = [];
    for (let p = 0; p < this.plan.pieceCount; p++) if (!this.part.have[p] && needs.missingBytes(pieceIndex(p)) === 0) out.push(pieceIndex(p));
    return out;
  }

  /**
   * Builds the pieces that can be built from local data alone, quietly
   * skipping those that do not verify (a guess that was wrong): they cost
   * no byte from the network. Returns how many verified.
   */
  async buildLocal(pieces: readonly PieceIndex[]): Promise<number> {
    let n = 0;
    for (const p of pieces) {
      if (this.part.have[p]) continue;
      try {
        await this.run([p], false);
        n++;
      } catch (e) {
        if (!(e instanceof IsosyncError)) throw e;
      }
    }
    return n;
  }

  /** Builds and verifies `pieces` (those not in the .part yet), fetching what is not local. */
  async ensure(pieces: readonly PieceIndex[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const batch: PieceIndex[] = [];
    for (const p of pieces) {
      if (!this.want.has(p)) {
        this.want.add(p);
        if (this.part.have[p]) this.stats.resumedBytes += spanLength(pieceSpan(this.plan, p));
      }
      if (this.locating) this.metadataPieces.add(p);
      if (this.part.have[p]) continue;
      const running = this.inflight.get(p);
      if (running) waits.push(running);
      else batch.push(p);
    }
    if (batch.length > 0) {
      const run = this.run(batch, true);
      const settled = run.finally(() => {
        for (const p of batch) if (this.inflight.get(p) === settled) this.inflight.delete(p);
      });
      for (const p of batch) this.inflight.set(p, settled);
      waits.push(settled);
    }
    await Promise.all(waits);
  }

  private async run(batch: readonly PieceIndex[], network: boolean): Promise<void> {
    if (this.closed) throw new IsosyncError('CANCELLED', `Cannot read ${JSON.stringify(this.input.target.name)}: the session is closed`);
    const { plan } = this;
    const only = new Set(batch);
    const have = Array.from({ length: plan.pieceCount }, (_, p) => this.part.have[p] === true || !only.has(pieceIndex(p)));
    const net = this.prepared.net;
    const fetcher = network && net.hasSources ? net.engine : undefined;
    if (fetcher) this.tellEngine();
    const emit = this.input.onEvent ?? (() => undefined);
    const result: AssembleStats = await assemble({
      plan,
      check: pieceCheckOf(this.input.target),
      sources: this.prepared.byteSources,
      cache: this.prepared.vt,
      store: {
        have,
        releasesBytes: true,
        writePiece: async (p, offset, bytes) => {
          await this.part.writePiece(p, offset, bytes);
          this.swarm?.pieceVerified(p);
        },
      },
      ...(fetcher ? { fetcher } : {}),
      onEvent: (e) => {
        emit(e);
        if (e.type !== 'piece') return;
        this.stats.pieces++;
        emit(this.progress());
      },
    });
    this.stats.fetchedBytes += result.fetchedBytes;
    this.stats.reusedBytes += result.reusedBytes;
    this.stats.wastedBytes += result.wastedBytes;
  }

  /** The engine's look-ahead and piece order see the wanted pieces only: nothing else is fetched. */
  private tellEngine(): void {
    const needs = pieceNeeds(this.plan, this.part.have);
    const want = this.want;
    this.prepared.net.engine.planned({
      missingBytes: (p) => needs.missingBytes(p),
      sure: (p) => needs.sure(p),
      aheadCandidates: needs.aheadCandidates.filter((p) => want.has(p)),
    });
  }

  private progress(): Extract<SyncEvent, { type: 'progress' }> {
    let done = 0;
    let doneBytes = 0;
    let totalBytes = 0;
    for (const p of this.want) {
      const n = spanLength(pieceSpan(this.plan, p));
      totalBytes += n;
      if (this.part.have[p]) {
        done++;
        doneBytes += n;
      }
    }
    return {
      type: 'progress', done, total: this.want.size, fetchedBytes: this.stats.fetchedBytes, reusedBytes: this.stats.reusedBytes,
      resumedBytes: this.stats.resumedBytes, doneBytes, totalBytes, toFetchBytes: Math.max(0, totalBytes - this.stats.reusedBytes - this.stats.resumedBytes),
    };
  }

  /** The local images read as ISO 9660 (once; an image that does not read maps no files). */
  private localIsos(): Promise<ImageSourceInfo[]> {
    this.sourceIsos ??= (async () => {
      const out: ImageSourceInfo[] = [];
      for (const [i, s] of this.prepared.sources.entries()) {
        if (s.kind !== 'image') continue;
        try {
          out.push({ index: i, image: await readIso(this.prepared.byteSources[i]!, { name: s.path }), size: s.source.size });
        } catch (e) {
          const error = asIsosyncError(e, 'BAD_ISO', { path: s.path });
          this.input.onWarning?.({ code: 'SOURCE_NOT_ISO', source: s.path, detail: `not read as ISO 9660 (${error.message}); using it for same-offset reuse only`, error });
        }
      }
      return out;
    })();
    return this.sourceIsos;
  }

  private looseFiles(): LooseFile[] {
    return this.prepared.sources.flatMap((s, i) => (s.kind === 'loose' ? [{ index: i, name: s.name, size: s.size }] : []));
  }

  /** Verified bytes in the .part. */
  get verifiedBytes(): number {
    return verifiedBytes(this.part, this.input.target);
  }

  get complete(): boolean {
    return this.part.have.every(Boolean);
  }

  /** Web seeds and mirrors: bytes each sent, and why one was dropped. */
  webSeedReport(): { url: string; bytes: number; dropped?: string }[] {
    return this.prepared.net.webSeedReport();
  }

  /**
   * Stops the network and closes local sources. The .part stays open (and
   * the swarm serving it) until `closePart`: a caller may rename it when
   * complete, or keep seeding it.
   */
  async closeNetwork(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prepared.net.close();
    await closeSources(this.prepared.sources);
  }

  /** Stops everything: network, swarm, the .part's handle (its verified pieces stay on disk). */
  async close(): Promise<void> {
    await this.closeNetwork();
    await this.swarm?.close();
    await this.part.close();
  }

  /** After a failure: closes, then keeps the .part if it holds verified pieces (a later run resumes), else removes it; says which. */
  async abandon(): Promise<void> {
    await this.close();
    const emit = this.input.onEvent ?? (() => undefined);
    const kept = this.verifiedBytes;
    if (kept > 0) emit({ type: 'part-kept', path: this.part.path, bytes: kept });
    else if (await unlink(this.part.path).then(() => true, () => false)) emit({ type: 'part-removed', path: this.part.path });
  }
}

function verifiedBytes(part: PartFile, target: { length: number; pieceLength: number }): number {
  let n = 0;
  part.have.forEach((ok, p) => {
    if (ok) n += spanLength(pieceSpan(target, pieceIndex(p)));
  });
  return n;
}
