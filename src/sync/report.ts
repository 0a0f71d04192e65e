/**
 * What a sync takes and gives: its input, the events it sends while it runs
 * (phases, progress, the .part), and the reports of `plan` and `sync`.
 */
import type { InfoHash } from '../core/ids.js';
import type { Warning, WarningSink } from '../core/warnings.js';
import type { AssembleEvent } from '../delta/assemble.js';
import type { PlanSummary } from '../delta/plan.js';
import type { Catalog } from '../library/catalog.js';
import type { PeerSettings } from '../swarm/sync-peers.js';
import type { Metainfo } from '../torrent/metainfo.js';
import type { StartReason } from './swarm-start.js';

/** Live counters of a sync's network side, for a progress display to sample. */
export interface LiveSample {
  /** Payload bytes received from peers and web seeds, and sent to peers, so far. */
  downloaded: number;
  uploaded: number;
  /** Connected peers (handshake done) and web seeds not dropped. */
  peers: number;
  webSeeds: number;
}

export type SyncEvent =
  | { type: 'phase'; phase: 'verify-part' | 'sources' | 'metadata' | 'plan' | 'assemble' | 'finish'; detail?: string }
  /**
   * Pieces verified (done of total) and the bytes they hold (doneBytes of
   * totalBytes): reused from local data, resumed from the .part, fetched;
   * toFetchBytes is what the plan fetches in all.
   */
  | { type: 'progress'; done: number; total: number; fetchedBytes: number; reusedBytes: number; resumedBytes: number; doneBytes: number; totalBytes: number; toFetchBytes: number }
  /** The network side exists: `sample` reads its counters (cheap; call it at display rate). */
  | { type: 'live'; sample: () => LiveSample }
  /** The .part in use, and the verified bytes it already held. */
  | { type: 'part'; path: string; resumedBytes: number }
  /** The sync failed: the .part was kept with `bytes` verified (run again to resume), or removed (it held nothing). */
  | { type: 'part-kept'; path: string; bytes: number }
  | { type: 'part-removed'; path: string }
  /** The swarm started, and why (sync/swarm-start.ts): before planning, or later when the web seeds failed or fell behind. */
  | { type: 'swarm'; started: StartReason }
  | AssembleEvent;

/**
 * What planning needs of the target: a torrent's Metainfo, or the stand-in
 * of a plain image served without a torrent (plain-http.ts: no piece hashes,
 * no infohash).
 */
export interface PlanTarget {
  readonly name: string;
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** pieceCount x 20 bytes of SHA-1 (empty for v2-only: `v2` holds its hashes); with `v2`, what pieces are checked against. */
  readonly pieces?: Uint8Array;
  /** BEP 52 metadata of v2 and hybrid torrents. */
  readonly v2?: Metainfo['v2'];
  readonly infoHash?: InfoHash;
  /** BEP 19 web seeds. */
  readonly urlList: readonly string[];
  /** BEP 17 HTTP seeds (those that name the image itself are used as web seeds: torrent/http-seeds.ts). */
  readonly httpSeeds?: readonly string[];
  /** BitTorrent v1, v2 or hybrid. */
  readonly version?: Metainfo['version'];
  /** Multi-file torrents have these (they are not ISO images). */
  readonly files?: readonly unknown[];
  readonly isosync?: Metainfo['isosync'];
  readonly similar: readonly InfoHash[];
  readonly collections: readonly string[];
}

/** What `prepare` takes: a sync's input, of any target planning can handle. */
export interface PlanInput extends Omit<SyncInput, 'target'> {
  readonly target: PlanTarget;
}

export interface SyncInput {
  readonly target: Metainfo;
  readonly from: readonly string[];
  readonly sourceDirs: readonly string[];
  readonly webSeeds: readonly string[];
  /** A web seed that sends nothing for this long is dropped (default STALL_MS). */
  readonly stallMs?: number;
  /** Final path of the image (default: ./NAME). */
  readonly output: string;
  readonly catalog?: Catalog;
  /** The torrent file as read, recorded in the catalog after a sync (so a later rollback finds its hints). */
  readonly torrentFile?: Uint8Array;
  /** Trackers to try before the torrent's own: the announce URL of the host a torrent came from (tracker localization). */
  readonly preferredTrackers?: readonly string[];
  /** BitTorrent peers (swarm/sync-peers.ts): direct peers, trackers, listening, limits, seeding after the sync. */
  readonly peers?: PeerSettings;
  /** Bytes per second received from peers and web seeds together (one limit; 0 or absent: none). */
  readonly downloadLimit?: number;
  readonly onEvent?: (e: SyncEvent) => void;
  /** Every warning of the sync (they are also listed in its report). */
  readonly onWarning?: WarningSink;
}

export interface SourceReport {
  path: string;
  kind: 'image' | 'loose';
  via?: string;
  infoHash?: InfoHash;
  hints?: 'from' | 'to';
  reusedBytes: number;
}

export interface PlanReport extends PlanSummary {
  name: string;
  /** The target's infohash (absent for a plain image with no torrent). */
  infoHash?: InfoHash;
  output: string;
  pieceLength: number;
  pieceCount: number;
  /** Bytes of target metadata fetched while planning. */
  metadataFetchedBytes: number;
  /** Target files found nowhere locally: they (or their changed runs) come from the network. */
  changedFiles: { path: string; size: number; fetchBytes: number }[] | null;
  sources: SourceReport[];
  notes: string[];
  /** The warnings sent to SyncInput.onWarning, in order. */
  warnings: Warning[];
}

export interface SyncReport extends PlanReport {
  fetchedBytes: number;
  wastedBytes: number;
  /** Of the fetched bytes, those a guess of the plan had covered (it was wrong there, or its samples checked it): "guessed wrong, fetched again". */
  guessedWrongBytes?: number;
  /**
   * Of the fetched bytes, those a guess had right, by 16 KiB block, fetched
   * because their piece failed (or to sample it): what per-block checks with
   * BEP 52 leaf hashes save (delta/block-verify.ts).
   */
  guessedRightFetchedBytes?: number;
  /**
   * Bytes that came twice, not counted in fetchedBytes: a copy that arrived
   * after another source had sent the same block (endgame's repeats, asks a
   * faster source took over but the slower one had already started sending).
   */
  duplicateBytes?: number;
  resumedBytes: number;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  /** Of the fetched bytes, those that arrived while planning (the target's metadata), by web seeds and by peers. */
  planningFetched?: { webSeeds: number; peers: number };
  /** Bytes from BitTorrent peers, in all and per peer; uploaded to them while syncing. */
  peers?: {
    downloaded: number;
    uploaded: number;
    list: { address: string; downloaded: number; uploaded: number; banned?: boolean; dropped?: string }[];
    /** Why the swarm started (sync/swarm-start.ts); false: it never did (the web seeds kept up), and no peer was dialed. */
    started?: StartReason | false;
  };
  seconds: number;
}
