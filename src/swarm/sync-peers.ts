/**
 * The peers of one sync: a Swarm over the .part (it serves verified pieces
 * while leeching, and its peers are sources of the sync's download engine),
 * the tracker announcer, and, for `--seed`, seeding of the finished image.
 *
 * What a sync does not use is not loaded: the tracker client (with node:dns)
 * only for a torrent with trackers, the DHT and LSD only when on, the BEP 52
 * hash server only for a v2 torrent with its piece layers. A sync given only
 * `--peer` beside a web seed pays for loading the wire and the swarm, nothing
 * more (the mixed bench: the client's whole extra cost was loading this).
 */
import { IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { pieceSpan } from '../delta/plan.js';
import { spanLength } from '../core/span.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import type { ByteSource } from '../store/byte-source.js';
import { FileSource } from '../store/file-source.js';
import { trackerTiers, truncatedV2, type Metainfo } from '../torrent/metainfo.js';
import type { Discovery, DiscoveryOptions } from '../discovery/discovery.js';
import type { Announcing } from './announce.js';
import { parseHostPort } from './host-port.js';
import type { TokenBucket } from './rate-limit.js';
import { Swarm, type EnginePort } from './swarm.js';
import { announcesToTrackers, servedLocally } from './swarm-options.js';

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
  /** The download limit as a bucket shared with the web seeds (used instead of `downloadLimit`). */
  readonly downloadGate?: TokenBucket;
  /** A block ask unanswered this long goes to another source (the engine's). */
  readonly requestTimeoutMs?: number;
  /** A piece no source has for this long, while peers may still come, fails the sync (the engine's). */
  readonly noPeerMs?: number;
  /**
   * The DHT (BEP 5) and LSD (BEP 14): the torrent is looked up, and this
   * swarm announced (it serves verified pieces while it leeches), unless the
   * torrent is private. Absent: neither.
   */
  readonly discovery?: Pick<DiscoveryOptions, 'dht' | 'lsd'>;
  /** MSE/PE (`--encryption`): plaintext first, encrypted when a peer hangs up on it (default), or always. */
  readonly encryption?: 'prefer-plaintext' | 'require';
  /** uTP as well as TCP (default true; `--no-utp`). */
  readonly utp?: boolean;
  /** The target's info dictionary came from these peers (a magnet link): a sync starts its swarm before planning (sync/swarm-start.ts). */
  readonly fromMagnet?: boolean;
  /** `--seed`: called once the image is complete, while the swarm keeps seeding it; seeding stops when it returns. */
  readonly afterSync?: (report: unknown, peers: SyncPeers) => Promise<void>;
}

export interface SyncPeers {
  readonly swarm: Swarm;
  /** Its peers become sources of `engine`. */
  attach(engine: EnginePort): void;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** A piece verified here; `fetched`: some of its bytes came from the network (courtesy waits for peers that lack those). */
  pieceVerified(piece: PieceIndex, fetched?: boolean): void;
  report(): { downloaded: number; uploaded: number; list: { address: string; downloaded: number; uploaded: number; banned?: boolean; dropped?: string }[] };
  /** Serves the finished image from `path` (the .part is gone) while `during` runs. */
  seedFrom(path: string, during: () => Promise<void>): Promise<void>;
  /**
   * After a sync without --seed: keeps serving while peers still need us
   * (leechers that started together finish from each other, not from the
   * publisher; stillNeeded), at most COURTESY_MAX_MS; returns at once when
   * none does.
   */
  courtesy(): Promise<void>;
  close(): Promise<void>;
}

interface Store {
  readonly have: readonly boolean[];
  read(offset: number, length: number): Promise<Uint8Array>;
  readInto?(dest: Uint8Array, at: number, offset: number, length: number): Promise<void>;
  /** Writes verified pieces through the page cache while `when()` holds (store/part-file.ts). */
  cacheWritesWhile?(when: () => boolean): void;
}

/**
 * A finished sync keeps serving while a peer is interested in it, at most
 * this long: leechers that started together are often still planning when
 * the first one completes (an idle rule of 1-2 s let it leave first; the
 * server then sent 2.0-2.2 deltas for 8 clients instead of 1.5-2.2).
 */
export const COURTESY_MAX_MS = 15_000;

/**
 * Whether a finished sync still serves someone (courtesy): a connected peer
 * is interested and lacks a piece this sync fetched. Peers of one release
 * hold the same old release, so the pieces we took from the network are
 * the ones they take from it; the rest they fill locally, and they stay
 * interested in us (they lack those pieces until verified) without
 * needing anything from us: a wait on interest alone ran close to its
 * limit. Without the fetched pieces known (`fetched` undefined), interest
 * alone decides. `holders(p)`: connected peers that have piece p.
 */
export function stillNeeded(o: { interested: boolean; connected: number; fetched: Iterable<PieceIndex> | undefined; holders: (p: PieceIndex) => number }): boolean {
  if (!o.interested) return false;
  if (o.fetched === undefined) return true;
  for (const p of o.fetched) if (o.holders(p) < o.connected) return true;
  return false;
}

export async function startPeers(target: Metainfo, settings: PeerSettings, store: Store, onWarning?: WarningSink): Promise<SyncPeers> {
  const direct = (settings.peers ?? []).map(parseHostPort);
  let reader: ByteSource | Store = store;
  // Between the .part's close (renamed to the image) and seedFrom opening the image, reads of a complete image wait for the swap.
  let swapped!: (ok: boolean) => void;
  const swap = new Promise<boolean>((r) => (swapped = r));
  // `into`: the serve window's pooled buffer (swarm/window-pool.ts), filled in place when the reader can.
  const readFrom = async (from: ByteSource | Store, o: number, n: number, into?: Uint8Array): Promise<Uint8Array> =>
    into && from.readInto ? (await from.readInto(into, 0, o, n), into) : from.read(o, n);
  const read = async (o: number, n: number, into?: Uint8Array): Promise<Uint8Array> => {
    const from = reader;
    try {
      return await readFrom(from, o, n, into);
    } catch (e) {
      if (from !== store || !store.have.every(Boolean) || !(await swap)) throw e;
      return readFrom(reader, o, n, into);
    }
  };
  // BEP 52: a hybrid's peers are dialed on its v2 swarm first (hash requests need a v2 link), the v1 one as a fallback.
  const v2 = target.v2;
  const hybrid = v2 && target.version === 'hybrid' ? truncatedV2(v2).bytes : undefined;
  // Hash requests are answered from verified pieces only (a leaf hash of unverified bytes would be a lie).
  const verifiedRead = (o: number, n: number) =>
    pieceRange(target.pieceLength, o, n).every((p) => store.have[p]) ? read(o, n) : Promise.reject(new IsosyncError('INTERNAL', 'Internal error: hashes of a piece not verified yet'));
  // The tracker client (and node:dns) loads only for a torrent with trackers.
  const tiers = trackerTiers(target);
  const preferred = settings.preferredTrackers ?? [];
  const startAnnouncing = announcesToTrackers({ enabled: settings.trackers !== false, trackerTiers: tiers.length, preferred: preferred.length }) ? (await import('./announce.js')).startAnnouncing : undefined;
  // A sync that only leeches from the host that served its torrent (its seed and its other clients: servedLocally) needs neither
  // uTP listening nor the DHT; one that seeds (--seed) stays reachable as before.
  const localOnly = settings.afterSync === undefined && servedLocally({ trackerTiers: tiers, preferred });
  const dhtOn = settings.discovery !== undefined && settings.discovery.dht !== false && !localOnly;
  const discoveryOn = settings.discovery !== undefined && !target.private && (dhtOn || settings.discovery.lsd === true);
  // Who may dial us: peers from trackers, the DHT or LSD, and anyone when we seed. Otherwise (a sync with only --peer, or one
  // served locally) uTP waits for a dial that wants it: loading utp-native cost such a sync some 60 ms of CPU, ~3% of a mixed
  // delta sync, 50-60 ms of each of 8 clients of one `isosync serve`.
  const heard = (startAnnouncing !== undefined && !localOnly) || discoveryOn || store.have.every(Boolean);
  const swarm = await Swarm.start({
    infoHash: hybrid ?? target.infoHashBytes,
    ...(hybrid ? { altInfoHash: target.infoHashBytes, v2InfoHash: hybrid } : {}),
    ...(v2 ? { v2: true, ...(v2.layersComplete ? { hashes: new (await import('../torrent/hash-server.js')).HashServer({ pieceLength: target.pieceLength, v2 }, verifiedRead) } : {}) } : {}),
    metadata: target.rawInfo,
    pex: !target.private,
    length: target.length,
    pieceLength: target.pieceLength,
    ...(target.version === 'v2' ? { padLastPiece: true } : {}),
    store: { have: store.have, read },
    host: settings.host ?? '127.0.0.1',
    port: settings.port ?? 0,
    ...(settings.uploadSlots ? { uploadSlots: settings.uploadSlots } : {}),
    ...(settings.uploadLimit ? { uploadLimit: settings.uploadLimit } : {}),
    ...(settings.downloadLimit ? { downloadLimit: settings.downloadLimit } : {}),
    ...(settings.encryption ? { encryption: settings.encryption } : {}),
    ...(settings.utp === false ? { utp: false } : heard ? {} : { utp: 'on-demand' as const }),
    ...(settings.downloadGate ? { downloadGate: settings.downloadGate } : {}),
    ...(onWarning ? { onWarning } : {}),
  });
  for (const p of direct) swarm.addPeer(p.host, p.port);
  // Leechers connected read back the pieces we verify: those stay in the page cache then, not on the disk alone.
  store.cacheWritesWhile?.(() => swarm.peersLacking);
  const left = () => store.have.reduce((n, ok, p) => (ok ? n : n + spanLength(pieceSpan(target, pieceIndex(p)))), 0);
  const announce = (infoHash?: Uint8Array) => startAnnouncing?.({ swarm, ...(infoHash ? { infoHash } : {}), tiers, preferred, left, ...(onWarning ? { onWarning } : {}) });
  // A hybrid is announced in both its swarms (a v1-only client tracks it by its v1 infohash).
  const announcers = [announce(), ...(hybrid ? [announce(target.infoHashBytes)] : [])].filter((a): a is Announcing => a !== undefined);
  const announcing: Announcing | undefined = announcers.length === 0 ? undefined : { discovering: () => announcers.some((a) => a.discovering()), tried: () => announcers.flatMap((a) => a.tried()), completed: () => announcers.forEach((a) => a.completed()), stop: async () => void (await Promise.all(announcers.map((a) => a.stop()))) };
  const discovery = settings.discovery && discoveryOn ? await startDiscovery(target, swarm, { ...settings.discovery, dht: dhtOn ? settings.discovery.dht : false }, onWarning) : undefined;
  let closed = false;
  /** Pieces verified with bytes from the network, once the caller says which (pieceVerified's `fetched`). */
  let fetched: Set<PieceIndex> | undefined;
  const self: SyncPeers = {
    swarm,
    // Peers may come from the trackers' first answer (a sync with no live source after it fails at once, not after a later announce), or from a DHT that knows nodes.
    attach: (engine) => swarm.attachEngine(engine, () => (announcing?.discovering() ?? false) || discovery?.searching === true, () => announcing?.tried() ?? []),
    host: swarm.host,
    port: swarm.port,
    pieceVerified(p, viaNetwork) {
      if (viaNetwork !== undefined) fetched ??= new Set();
      if (viaNetwork) fetched!.add(p);
      swarm.pieceVerified(p);
      if (swarm.complete) announcing?.completed();
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
      swapped(true);
      try {
        await during();
      } finally {
        await self.close();
        await image.close();
      }
    },
    async courtesy() {
      const start = Date.now();
      for (;;) {
        const now = Date.now();
        if (now - start >= COURTESY_MAX_MS) return;
        if (!stillNeeded({ interested: swarm.wanted, connected: swarm.connectedPeers, fetched, holders: (p) => swarm.availabilityOf(p) })) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      swapped(false);
      await discovery?.close();
      await announcing?.stop();
      await swarm.close();
    },
  };
  return self;
}

/** Starts the DHT and LSD for `target`; their peers are dialed by `swarm`. */
async function startDiscovery(target: Metainfo, swarm: Swarm, o: Pick<DiscoveryOptions, 'dht' | 'lsd'>, onWarning?: WarningSink): Promise<Discovery | undefined> {
  if (swarm.port === undefined) return undefined;
  const hashes = [target.infoHash, ...(target.version === 'hybrid' && target.v2 ? [truncatedV2(target.v2).hex] : [])];
  const torrents = hashes.map((infoHash) => ({ infoHash, private: target.private }));
  const { Discovery } = await import('../discovery/discovery.js');
  const d = await Discovery.start({ serving: torrents, wanted: torrents, tcpPort: swarm.port, host: swarm.host ?? '127.0.0.1', dht: o.dht, lsd: o.lsd, ...(onWarning ? { onWarning } : {}) });
  d.on('peer', (p) => swarm.addPeer(p.host, p.port));
  return d;
}

/** The pieces that bytes [offset, offset + length) of the target touch. */
function pieceRange(pieceLength: number, offset: number, length: number): number[] {
  const out: number[] = [];
  for (let p = Math.floor(offset / pieceLength); p * pieceLength < offset + length; p++) out.push(p);
  return out;
}
