/**
 * Seeding a verified image: the public entry point for `isosync seed`, for
 * `sync --seed`, and for `isosync serve` (which seeds every image it serves
 * from inside its HTTP server process).
 *
 * The image is verified piece by piece first (all cores) unless the caller
 * vouches for it (`verified: true`, e.g. the catalog recorded it verified
 * and it is unchanged since); only verified pieces are ever served.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { FileSource } from '../store/file-source.js';
import type { ByteSource } from '../store/byte-source.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import { trackerTiers, truncatedV2, type Metainfo } from '../torrent/metainfo.js';
import { HashServer } from '../torrent/hash-server.js';

export { trackerTiers };
import { parseHostPort } from './host-port.js';
export { parseHostPort };
import { Swarm, type PeerReport } from './swarm.js';
import { startAnnouncing, type Announcing } from './announce.js';

export interface SeedOptions {
  readonly torrent: Metainfo;
  readonly imagePath: string;
  /** Listen address (default 127.0.0.1) and port (default 0: any free port). */
  readonly host?: string;
  readonly port?: number;
  /** Tracker tiers to announce to (default: the torrent's announce-list / announce). */
  readonly trackers?: readonly (readonly string[])[];
  /** Peers to connect to directly, as HOST:PORT. */
  readonly peers?: readonly string[];
  /** Skip the verification pass (the caller knows the image is verified and unchanged). */
  readonly verified?: boolean;
  readonly uploadSlots?: number;
  /** Bytes per second (0: unlimited). */
  readonly uploadLimit?: number;
  /** BEP 16 super-seeding (a publisher's first seed). */
  readonly superSeed?: boolean;
  /** Share first (swarm.ts SwarmOptions.shareWaitMs): a piece another leecher got waits this long (ms); a publisher's seed. */
  readonly shareWaitMs?: number;
  /** MSE/PE policy (peer-set.ts): plaintext first (default), or required both ways. */
  readonly encryption?: 'prefer-plaintext' | 'require';
  /** uTP as well as TCP (default true). */
  readonly utp?: boolean;
  readonly onWarning?: WarningSink;
  readonly onVerify?: (done: number, total: number) => void;
}

export interface SeedStats {
  uploaded: number;
  peers: PeerReport[];
}

export interface Seeding {
  readonly host: string;
  readonly port: number;
  readonly swarm: Swarm;
  stats(): SeedStats;
  /** Stops announcing (event=stopped), closes every peer and the listener, closes the image. */
  close(): Promise<void>;
}

/** Reads exactly `length` bytes of the image at `offset`, synchronously (into `into` when given); a file that ends first is an error. */
function readNow(fd: number, path: string, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const buf = into ?? Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw new IsosyncError('IO', `Cannot read ${JSON.stringify(path)}: file ended at byte ${offset + done}, expected ${offset + length}`, { path });
    done += n;
  }
  return buf;
}

export async function seedImage(opts: SeedOptions): Promise<Seeding> {
  const t = opts.torrent;
  if (t.files) throw new IsosyncError('UNSUPPORTED', `Cannot seed ${JSON.stringify(t.name)}: multi-file torrents are not ISO images`);
  const peers = (opts.peers ?? []).map(parseHostPort);
  const source: ByteSource & { close(): Promise<void> } = await FileSource.open(opts.imagePath);
  if (source.size !== t.length) {
    await source.close();
    throw new IsosyncError('VERIFY_FAILED', `Cannot seed ${JSON.stringify(opts.imagePath)}: it is ${source.size} bytes, the torrent says ${t.length}`, { path: opts.imagePath });
  }
  let have: boolean[];
  if (opts.verified) have = new Array<boolean>(t.pieceCount).fill(true);
  else {
    const v = await verifyPieces(opts.imagePath, t, { onProgress: opts.onVerify });
    have = [...v.valid];
    if (v.validCount < v.pieceCount) {
      await source.close();
      throw new IsosyncError('VERIFY_FAILED', `Cannot seed ${JSON.stringify(opts.imagePath)}: ${v.pieceCount - v.validCount} of ${v.pieceCount} pieces fail their hash (is it the torrent's image?)`, { path: opts.imagePath });
    }
  }
  // Served bytes are read at once (serve-window.ts), through a descriptor of their own.
  const fd = openSync(opts.imagePath, 'r');
  // BEP 52: a v2 or hybrid seed answers hash requests from its trees; a hybrid is in both swarms (v1 and truncated v2 infohash).
  const v2 = t.v2;
  const altInfoHash = v2 && t.version === 'hybrid' ? truncatedV2(v2).bytes : undefined;
  const swarm = await Swarm.start({
    infoHash: t.infoHashBytes,
    ...(v2 ? { v2: true, hashes: new HashServer({ pieceLength: t.pieceLength, v2 }, (o, n) => source.read(o, n)) } : {}),
    ...(altInfoHash ? { altInfoHash, v2InfoHash: altInfoHash } : {}),
    metadata: t.rawInfo,
    pex: !t.private,
    length: t.length,
    pieceLength: t.pieceLength,
    ...(t.version === 'v2' ? { padLastPiece: true } : {}),
    store: { have, read: (o, n) => source.read(o, n), readNow: (o, n, into) => readNow(fd, opts.imagePath, o, n, into) },
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    ...(opts.uploadSlots ? { uploadSlots: opts.uploadSlots } : {}),
    ...(opts.uploadLimit ? { uploadLimit: opts.uploadLimit } : {}),
    ...(opts.superSeed ? { superSeed: true } : {}),
    ...(opts.shareWaitMs ? { shareWaitMs: opts.shareWaitMs } : {}),
    ...(opts.encryption ? { encryption: opts.encryption } : {}),
    ...(opts.utp === false ? { utp: false } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  }).catch((e: unknown) => {
    closeSync(fd);
    throw e;
  });
  for (const p of peers) swarm.addPeer(p.host, p.port);
  // A seed that starts complete announces `started` with left=0; `completed` is only for a download that finished (BEP 3).
  const announce = (infoHash?: Uint8Array): Announcing | undefined =>
    startAnnouncing({
      swarm,
      ...(infoHash ? { infoHash } : {}),
      tiers: opts.trackers ? opts.trackers.map((x) => [...x]) : trackerTiers(t),
      left: () => 0,
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    });
  // A hybrid is announced in both its swarms, as libtorrent announces it: a v2-only client tracks it by its truncated v2 infohash.
  const announcing = [announce(), ...(altInfoHash ? [announce(altInfoHash)] : [])];
  return {
    host: swarm.host!,
    port: swarm.port!,
    swarm,
    stats: () => ({ uploaded: swarm.uploaded, peers: swarm.stats().peers }),
    close: async () => {
      for (const a of announcing) await a?.stop();
      await swarm.close();
      await source.close();
      closeSync(fd);
    },
  };
}
