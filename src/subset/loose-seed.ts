/**
 * `isosync seed TORRENT --source DIR`: seeding without the image, from loose
 * files (an apt cache, a pool mirror): the jigdo idea in reverse.
 *
 *   1. The target's directory tree is read over the network (the torrent's
 *      web seeds, --mirror URLs, or peers): only its metadata, which is a
 *      map here, not data: nothing served rests on it unverified.
 *   2. Loose files are mapped onto the target's files by name and size
 *      (delta/iso-map.ts, as a sync maps them), the rest of each piece
 *      filled from the metadata already read and the zeros the layout
 *      implies (file padding, unused sectors).
 *   3. Every piece is built that way and checked against its SHA-1; the
 *      verified ones, and only those, are advertised (bitfield, then `have`
 *      per piece as the check goes on) and served, rebuilt from the same
 *      files on each request. No copy of the image is written.
 *
 * A loose file that changes after the check makes its pieces fail at the
 * leecher, which drops us: the same risk as an image changed under a seed.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';
import { covers, mergeSpans } from '../core/span.js';
import { pieceIndex } from '../core/ids.js';
import type { WarningSink } from '../core/warnings.js';
import { CACHE_SOURCE, overlay, pieceSpan, segmentsIn, ZERO_SOURCE, type LocalSegment } from '../delta/plan.js';
import { checkRange, readInto, type ByteSource } from '../store/byte-source.js';
import { startPeers, type SyncPeers } from '../swarm/sync-peers.js';
import { prepare } from '../sync/prepare.js';
import { closeSources } from '../sync/sources.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { pieceCheckOf } from '../torrent/piece-check.js';

export interface LooseSeedOptions {
  readonly torrent: Metainfo;
  readonly sourceDirs: readonly string[];
  /** Mirrors to read the target's metadata from (besides the torrent's url-list). */
  readonly mirrors?: readonly string[];
  readonly peers?: readonly string[];
  readonly host?: string;
  readonly port?: number;
  /** Announce to the torrent's trackers (default true). */
  readonly trackers?: boolean;
  readonly uploadSlots?: number;
  readonly uploadLimit?: number;
  readonly stallMs?: number;
  readonly onWarning?: WarningSink;
  /** Pieces checked so far, of all. */
  readonly onCheck?: (checked: number, total: number) => void;
}

export interface LooseSeeding {
  readonly host: string;
  readonly port: number;
  readonly peers: SyncPeers;
  /** have[p]: piece p verified from the loose files (and served). */
  readonly have: readonly boolean[];
  readonly pieces: number;
  readonly bytes: number;
  readonly looseFiles: number;
  /** Loose files that map onto a file of the image. */
  readonly matchedFiles: number;
  close(): Promise<void>;
}

/** Reads target bytes from plan segments: local sources, zeros, the metadata read while planning. */
class SegmentSource implements ByteSource {
  constructor(
    readonly size: number,
    private readonly segs: readonly LocalSegment[],
    private readonly sources: readonly (ByteSource | undefined)[],
    private readonly cache: { cacheBytes(out: Uint8Array, start: number, end: number): void },
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'the loose files');
    const out = new Uint8Array(length);
    let at = offset;
    for (const s of segmentsIn(this.segs, offset, offset + length)) {
      if (s.start > at) throw new IsosyncError('INTERNAL', `Internal error: bytes ${at}-${s.start} have no source`);
      if (s.source === CACHE_SOURCE) this.cache.cacheBytes(out.subarray(s.start - offset, s.end - offset), s.start, s.end);
      else if (s.source !== ZERO_SOURCE) {
        const src = this.sources[s.source];
        if (!src) throw new IsosyncError('INTERNAL', `Internal error: source ${s.source} is closed`);
        await readInto(src, out, s.start - offset, s.sourceOffset, s.end - s.start);
      }
      at = s.end;
    }
    return out;
  }
}

export async function seedFromLooseFiles(o: LooseSeedOptions): Promise<LooseSeeding> {
  const t = o.torrent;
  if (t.files) throw new IsosyncError('UNSUPPORTED', `Cannot seed ${JSON.stringify(t.name)}: multi-file torrents are not ISO images`);
  const have = new Array<boolean>(t.pieceCount).fill(false);
  let reader: ByteSource | undefined;
  const store = {
    have,
    read: (offset: number, length: number): Promise<Uint8Array> => {
      if (!reader) return Promise.reject(new IsosyncError('INTERNAL', 'Internal error: nothing verified to serve yet'));
      return reader.read(offset, length);
    },
  };
  const peers = await startPeers(t, { peers: o.peers ?? [], host: o.host ?? '127.0.0.1', port: o.port ?? 0, trackers: o.trackers ?? true, ...(o.uploadSlots ? { uploadSlots: o.uploadSlots } : {}), ...(o.uploadLimit ? { uploadLimit: o.uploadLimit } : {}) }, store, o.onWarning);
  let prepared: Awaited<ReturnType<typeof prepare>> | undefined;
  try {
    prepared = await prepare(
      {
        target: t,
        from: [],
        sourceDirs: o.sourceDirs,
        webSeeds: o.mirrors ?? [],
        // No image is written: nothing is excluded from the sources.
        output: join(tmpdir(), `isosync-seed-${t.infoHash}-${process.pid}`),
        ...(o.stallMs ? { stallMs: o.stallMs } : {}),
        ...(o.onWarning ? { onWarning: o.onWarning } : {}),
      },
      undefined,
      peers,
    );
    const { plan, byteSources, vt, sources, report } = prepared;
    // The target's metadata is only a map here: the network is done with.
    prepared.net.close();
    const looseFiles = sources.filter((s) => s.kind === 'loose').length;
    if (looseFiles === 0) throw new IsosyncError('NOT_FOUND', `Cannot seed ${JSON.stringify(t.name)} from ${o.sourceDirs.map((d) => JSON.stringify(d)).join(', ')}: no files there`);
    if (report.changedFiles === null) {
      throw new IsosyncError('NETWORK', `Cannot seed ${JSON.stringify(t.name)} from loose files: its directory tree could not be read (${report.notes.join('; ') || 'give a --mirror URL or a --peer that has it'})`);
    }
    const segs = overlay(t.length, [plan.local, ...plan.guesses]);
    const src = new SegmentSource(t.length, segs, byteSources, vt);
    // Served from now on: only pieces whose `have` is set below are ever asked for.
    reader = src;
    let pieces = 0;
    let bytes = 0;
    for (let i = 0; i < t.pieceCount; i++) {
      const p = pieceIndex(i);
      const span = pieceSpan(plan, p);
      // A piece with no loose byte in it is not worth checking (loose files are what this seed has), nor one with bytes of no source.
      const inPiece = segmentsIn(segs, span.start, span.end);
      if (!inPiece.some((s) => s.reason === 'loose-file') || !covers(mergeSpans(inPiece), [span])) {
        o.onCheck?.(i + 1, t.pieceCount);
        continue;
      }
      const buf = await src.read(span.start, span.end - span.start);
      if (pieceCheckOf(t).matches(p, buf)) {
        have[p] = true;
        pieces++;
        bytes += buf.length;
        peers.pieceVerified(p);
      }
      o.onCheck?.(i + 1, t.pieceCount);
    }
    const matchedFiles = new Set(plan.local.filter((s) => s.reason === 'loose-file').map((s) => s.source)).size;
    const kept = prepared;
    return {
      host: peers.host ?? o.host ?? '127.0.0.1',
      port: peers.port ?? 0,
      peers,
      have,
      pieces,
      bytes,
      looseFiles,
      matchedFiles,
      close: async () => {
        await peers.close();
        await closeSources(kept.sources);
      },
    };
  } catch (e) {
    await peers.close();
    if (prepared) {
      prepared.net.close();
      await closeSources(prepared.sources);
    }
    throw e;
  }
}
