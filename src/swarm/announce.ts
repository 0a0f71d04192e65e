/**
 * The swarm's side of peer discovery: announces to the torrent's trackers
 * (the Announcer of src/tracker/client.ts: BEP 3/23 HTTP, BEP 15 UDP, BEP 12
 * tiers) with live uploaded/downloaded/left, and dials every peer it learns.
 * `preferred` trackers (the host that served the torrent: tracker
 * localization) are tried before the torrent's own.
 */
import { Announcer, type AnnouncedInfo } from '../tracker/client.js';
import type { PeerAddress } from '../tracker/compact-peers.js';
import { sourceOf, type WarningSink } from '../core/warnings.js';
import type { Swarm } from './swarm.js';

export interface Announcing {
  /** The first announce round is under way: peers may still come from it. */
  discovering(): boolean;
  /** Trackers asked and what they said, as a failed fetch names them: "tracker URL (it knew no peer)". */
  tried(): readonly string[];
  completed(): void;
  stop(): Promise<void>;
}

/** Starts announcing `swarm` to `tiers` (and `preferred` first); undefined when there is no tracker or the swarm does not listen. */
/** `infoHash`: the swarm's by default; a hybrid seed announces its other infohash too (BEP 52). */
export function startAnnouncing(opts: { swarm: Swarm; infoHash?: Uint8Array; tiers: string[][]; preferred?: readonly string[]; left: () => number; onWarning?: WarningSink }): Announcing | undefined {
  const { swarm } = opts;
  const preferred = [...(opts.preferred ?? [])];
  if ((opts.tiers.length === 0 && preferred.length === 0) || swarm.port === undefined) return undefined;
  /** What each tracker said last, by source name. */
  const said = new Map<string, string>();
  const a = new Announcer({
    infoHash: opts.infoHash ?? swarm.opts.infoHash,
    peerId: swarm.peerId,
    port: swarm.port,
    tiers: opts.tiers,
    ...(preferred.length > 0 ? { preferred } : {}),
    stats: () => ({ uploaded: swarm.uploaded, downloaded: swarm.downloaded, left: opts.left() }),
    // A tracker that fails is named with its failure when a fetch finds no source.
    onWarning: (w) => {
      if (w.code === 'TRACKER_FAILED') said.set(w.source, w.detail);
      opts.onWarning?.(w);
    },
  });
  a.on('announced', (info: AnnouncedInfo) => said.set(sourceOf.tracker(info.url), info.peers > 0 ? `it named ${info.peers} peers` : 'it knew no peer'));
  a.on('peers', (peers: readonly PeerAddress[]) => {
    for (const p of peers) swarm.addPeer(p.host, p.port);
  });
  a.start();
  return {
    discovering: () => a.roundsDone === 0 && a.trackerCount > 0,
    tried: () => [...said].map(([source, what]) => `${source} (${what})`),
    completed: () => a.completed(),
    stop: () => a.stop(),
  };
}
