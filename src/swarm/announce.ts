/**
 * The swarm's side of peer discovery: announces to the torrent's trackers
 * (the Announcer of src/tracker/client.ts: BEP 3/23 HTTP, BEP 15 UDP, BEP 12
 * tiers) with live uploaded/downloaded/left, and dials every peer it learns.
 */
import type { Swarm } from './swarm.js';

interface AnnouncerLike {
  on(event: 'peers', fn: (peers: { host: string; port: number }[]) => void): unknown;
  on(event: 'warning', fn: (message: string) => void): unknown;
  start(): void;
  completed(): void;
  stop(): Promise<void>;
}

type AnnouncerCtor = new (opts: {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  port: number;
  tiers: string[][];
  stats: () => { uploaded: number; downloaded: number; left: number };
}) => AnnouncerLike;

export interface Announcing {
  completed(): void;
  stop(): Promise<void>;
}

/** The tracker client module, loaded when first needed (a variable specifier keeps this file building without it). */
async function loadAnnouncer(): Promise<AnnouncerCtor | undefined> {
  const spec = '../tracker/client.js';
  try {
    const mod = (await import(spec)) as { Announcer?: AnnouncerCtor };
    return mod.Announcer;
  } catch {
    return undefined;
  }
}

/** Starts announcing `swarm` to `tiers`; undefined when there is no tracker (or it cannot listen for peers). */
export async function startAnnouncing(opts: { swarm: Swarm; tiers: string[][]; left: () => number; onWarning?: (m: string) => void }): Promise<Announcing | undefined> {
  const { swarm } = opts;
  if (opts.tiers.length === 0 || swarm.port === undefined) return undefined;
  const Announcer = await loadAnnouncer();
  if (!Announcer) {
    opts.onWarning?.('not announcing to trackers: this build has no tracker client');
    return undefined;
  }
  const a = new Announcer({
    infoHash: swarm.opts.infoHash,
    peerId: swarm.peerId,
    port: swarm.port,
    tiers: opts.tiers,
    stats: () => ({ uploaded: swarm.uploaded, downloaded: swarm.downloaded, left: opts.left() }),
  });
  a.on('peers', (peers) => {
    for (const p of peers) swarm.addPeer(p.host, p.port);
  });
  a.on('warning', (m) => opts.onWarning?.(m));
  a.start();
  return { completed: () => a.completed(), stop: () => a.stop() };
}
