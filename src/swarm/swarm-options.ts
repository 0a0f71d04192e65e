/** What a Swarm is started with, and the download engine as the swarm sees it. */
import type { PieceIndex } from '../core/ids.js';
import type { WarningSink } from '../core/warnings.js';
import type { PeerFacts } from '../engine/engine.js';
import type { TokenBucket } from './rate-limit.js';
import type { HashAnswerer } from './hash-extension.js';
import type { HandleSink, PeerHandle } from '../engine/handle.js';

export interface SwarmStore {
  /** have[i]: piece i is verified and may be served. */
  readonly have: readonly boolean[];
  /** `into`: a buffer of `length` bytes the bytes may be read into (and returned as), to reuse memory. */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * The same bytes read at once, when the store can (a seed's image file):
   * serving then needs no thread-pool round trip (serve-window.ts).
   */
  readNow?(offset: number, length: number, into?: Uint8Array): Uint8Array;
}

/** The download engine, as the swarm sees it. */
export interface EnginePort {
  add(h: PeerHandle & { attach(sink: HandleSink): void }): void;
  announced(p: PieceIndex): void;
  /** How many connected peers have piece p changed. */
  availabilityChanged(p: PieceIndex): void;
  attachPeers(facts: PeerFacts): void;
}

export interface SwarmOptions {
  readonly infoHash: Uint8Array;
  /**
   * BEP 52 hybrid torrent: the other infohash its swarm is known by (the
   * SHA-256 one cut to 20 bytes when `infoHash` is the v1 one, or the other
   * way round); peers may connect with either, and are answered with the one
   * they used.
   */
  readonly altInfoHash?: Uint8Array;
  /**
   * BEP 52 hybrid torrent: which of the two is the truncated v2 infohash. A
   * peer that dials us with the v1 one and the v2 bit set is answered with
   * this one, upgrading the link to v2 (libtorrent answers so too). libtorrent
   * checks the answer on a link it dialed against the swarm it last heard of
   * us in, not the one it dialed: when a tracker names us in both swarms
   * between its dial and our answer, a v1 answer made it hang up ("invalid
   * info-hash") and wait a minute or more to dial again.
   */
  readonly v2InfoHash?: Uint8Array;
  /** BEP 52 (v2 and hybrid torrents): the v2 bit in our handshakes. */
  readonly v2?: boolean;
  /** BEP 52 hash requests are answered from these trees (a v2 or hybrid seed); without it they are rejected. */
  readonly hashes?: HashAnswerer;
  readonly length: number;
  readonly pieceLength: number;
  /**
   * BEP 52 v2-only torrent: every file is padded to whole pieces, the last
   * one too as libtorrent sees it (a tail pad file), so peers may ask for the
   * pad of the last piece; it is served as zeros.
   */
  readonly padLastPiece?: boolean;
  readonly store: SwarmStore;
  readonly peerId?: Uint8Array;
  /** Listen address (default 127.0.0.1) and port (0: any free port; undefined: do not listen). */
  readonly host?: string;
  readonly port?: number;
  readonly uploadSlots?: number;
  /** Bytes per second; 0 or undefined: unlimited. */
  readonly uploadLimit?: number;
  readonly downloadLimit?: number;
  /** A download limit shared with other sources (web seeds): used instead of one of `downloadLimit`. */
  readonly downloadGate?: TokenBucket;
  readonly superSeed?: boolean;
  /** Share first (upload-queue.ts): a piece another connected peer got waits this long (ms); a publisher's seed. */
  readonly shareWaitMs?: number;
  /** The raw info dictionary, served to magnet leechers over ut_metadata (BEP 9). */
  readonly metadata?: Uint8Array;
  /** Peer exchange (BEP 11, ut_pex) with peers that speak it; never for a private torrent. */
  readonly pex?: boolean;
  /**
   * Outgoing connections: 'prefer-plaintext' (default) opens in plaintext and,
   * when a peer hangs up before its handshake, once more with MSE/PE;
   * 'require' always opens with MSE/PE.
   */
  readonly encryption?: 'prefer-plaintext' | 'require';
  /** uTP in (same port number, UDP) and as a fallback out (peer-set.ts); default true; 'on-demand': once a dial wants it. */
  readonly utp?: boolean | 'on-demand';
  readonly onWarning?: WarningSink;
}

/** Whether a sync's swarm announces itself to trackers (their client loads only then; a sync so announced starts its swarm at once: sync/swarm-start.ts). */
export function announcesToTrackers(o: { readonly enabled: boolean; readonly trackerTiers: number; readonly preferred: number }): boolean {
  return o.enabled && (o.trackerTiers > 0 || o.preferred > 0);
}

/**
 * Whether every tracker a sync announces to is on the host that served its
 * torrent (`isosync serve` lists its own /announce, and the release's own
 * trackers after it: sync/remote-target.ts's preferredTrackers). Its peers
 * are then that server's seed and the other clients of that server, all of
 * which dial TCP first: a sync that only leeches leaves uTP to a dial that
 * wants it and the DHT off (sync-peers.ts). The serve bench, 8 clients of
 * one serve: loading utp-native cost each ~50-60 ms of CPU. A torrent with
 * a tracker elsewhere, none at all (DHT-only: a torrent file fetched from a
 * plain web server, whose host may run no tracker) or no serving host (a
 * torrent file, a magnet) is not served locally. Hosts are compared by
 * origin (scheme, host, port).
 */
export function servedLocally(o: { readonly trackerTiers: readonly (readonly string[])[]; readonly preferred: readonly string[] }): boolean {
  const origin = (u: string): string | undefined => {
    try {
      return new URL(u).origin;
    } catch {
      return undefined;
    }
  };
  const local = new Set(o.preferred.map(origin).filter((x): x is string => x !== undefined && x !== 'null'));
  if (local.size === 0 || o.trackerTiers.length === 0) return false;
  return o.trackerTiers.every((tier) => tier.every((u) => local.has(origin(u) ?? '')));
}
