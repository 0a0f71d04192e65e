/**
 * The peers of one sync: a Swarm over the .part (it serves verified pieces
 * while leeching), the combined peer + web-seed fetcher assemble uses, the
 * tracker announcer, and, for `--seed`, seeding of the finished image.
 */
import { IsosyncError } from '../errors.js';
import { pieceSpan, type Plan } from '../delta/plan.js';
import { clipSpans, spanBytes } from '../delta/runs.js';
import type { ByteSource } from '../store/byte-source.js';
import { FileSource } from '../store/file-source.js';
import type { Metainfo } from '../torrent/metainfo.js';
import { startAnnouncing, type Announcing } from './announce.js';
import { SwarmFetcher } from './fetcher.js';
import { parseHostPort, trackerTiers } from './seed.js';
import { Swarm } from './swarm.js';

export interface PeerSettings {
  /** Direct peers, HOST:PORT. */
  readonly peers?: readonly string[];
  /** Listen address (default 127.0.0.1) and port (default 0: any free port). */
  readonly host?: string;
  readonly port?: number;
  /** Announce to the torrent's trackers (default true). */
  readonly trackers?: boolean;
  /** Trackers tried before the torrent's own (the host that served the torrent: tracker localization). */
  readonly preferredTrackers?: readonly string[];
  readonly uploadSlots?: number;
  /** Bytes per second, 0: unlimited. */
  readonly uploadLimit?: number;
  readonly downloadLimit?: number;
  /** A block ask unanswered this long goes to another peer. */
  readonly requestTimeoutMs?: number;
  /** A piece no peer sends for this long fails the sync. */
  readonly noPeerMs?: number;
  /** `--seed`: called once the image is complete, while the swarm keeps seeding it; seeding stops when it returns. */
  readonly afterSync?: (report: unknown, peers: SyncPeers) => Promise<void>;
}

export interface SyncPeers {
  readonly swarm: Swarm;
  readonly fetcher: SwarmFetcher;
  readonly host: string | undefined;
  readonly port: number | undefined;
  planned(plan: Plan): void;
  pieceVerified(piece: number): void;
  report(): { downloaded: number; uploaded: number; list: { address: string; downloaded: number; uploaded: number; banned?: boolean; dropped?: string }[] };
  /** Serves the finished image from `path` (the .part is gone) while `during` runs. */
  seedFrom(path: string, during: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

interface Store {
  readonly have: readonly boolean[];
  read(offset: number, length: number): Promise<Uint8Array>;
}

export async function startPeers(target: Metainfo, settings: PeerSettings, store: Store, onEvent?: (e: { type: 'warning'; message: string }) => void): Promise<SyncPeers> {
  const direct = (settings.peers ?? []).map(parseHostPort);
  let reader: ByteSource | Store = store;
  const swarm = await Swarm.start({
    infoHash: target.infoHashBytes,
    length: target.length,
    pieceLength: target.pieceLength,
    store: { have: store.have, read: (o, n) => reader.read(o, n) },
    host: settings.host ?? '127.0.0.1',
    port: settings.port ?? 0,
    ...(settings.uploadSlots ? { uploadSlots: settings.uploadSlots } : {}),
    ...(settings.uploadLimit ? { uploadLimit: settings.uploadLimit } : {}),
    ...(settings.downloadLimit ? { downloadLimit: settings.downloadLimit } : {}),
    ...(settings.requestTimeoutMs ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
    ...(settings.noPeerMs ? { noPeerMs: settings.noPeerMs } : {}),
  });
  const warn = (message: string) => onEvent?.({ type: 'warning', message });
  swarm.on('warning', warn);
  for (const p of direct) swarm.addPeer(p.host, p.port);
  const left = () => store.have.reduce((n, ok, p) => (ok ? n : n + (pieceSpan(target, p).end - pieceSpan(target, p).start)), 0);
  const announcing: Announcing | undefined = settings.trackers === false ? undefined : startAnnouncing({ swarm, tiers: trackerTiers(target), preferred: settings.preferredTrackers ?? [], left, onWarning: warn });
  const fetcher = new SwarmFetcher(swarm, undefined, target.pieceLength, target.length);
  let closed = false;
  const self: SyncPeers = {
    swarm,
    fetcher,
    host: swarm.host,
    port: swarm.port,
    planned(plan) {
      const missing = new Float64Array(plan.pieceCount);
      for (let p = 0; p < plan.pieceCount; p++) {
        const s = pieceSpan(plan, p);
        missing[p] = spanBytes(clipSpans(plan.fetch, s.start, s.end, true));
      }
      fetcher.missingBytes = (p) => missing[p] ?? target.pieceLength;
    },
    pieceVerified(p) {
      swarm.pieceVerified(p);
      if (store.have.every(Boolean)) announcing?.completed();
    },
    report() {
      const s = swarm.stats();
      return { downloaded: s.downloaded, uploaded: s.uploaded, list: s.peers };
    },
    async seedFrom(path, during) {
      const image = await FileSource.open(path);
      if (image.size !== target.length) {
        await image.close();
        throw new IsosyncError('VERIFY_FAILED', `Cannot seed ${JSON.stringify(path)}: it is ${image.size} bytes, the torrent says ${target.length}`);
      }
      reader = image;
      try {
        await during();
      } finally {
        await self.close();
        await image.close();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await announcing?.stop();
      await swarm.close();
    },
  };
  return self;
}
