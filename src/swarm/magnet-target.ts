/**
 * A magnet link made a torrent: the info dictionary fetched from peers
 * (metadata-fetch.ts), verified against the link's infohash, and wrapped
 * into a torrent file with the link's trackers (`tr`, one tier each, as
 * libtorrent does) and web seeds (`ws`, BEP 19 `url-list`).
 *
 * Peers for the fetch come from `--peer`, the link's `x.pe`, its trackers
 * (announced with `left` = the link's `xl`, else 1: we hold nothing) and the
 * DHT and LSD (src/discovery, as the settings say: a link cannot tell
 * whether its torrent is private before the dictionary is here). The wire
 * infohash is the v1 one, else the v2 one cut to 20 bytes (BEP 52).
 *
 * The result also lists where the peers that answered listen, so the
 * download that follows dials them at once instead of finding them again.
 */
import { IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { Discovery } from '../discovery/discovery.js';
import type { DhtStateStore } from '../discovery/dht.js';
import { Announcer } from '../tracker/client.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { infoHashBytes } from '../torrent/info-hash.js';
import type { MagnetLink } from '../torrent/magnet.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { MetadataFetch } from './metadata-fetch.js';
import { fetchPieceLayers, LAYERS_TIMEOUT_MS } from './magnet-layers.js';
import { newPeerId } from './peer-link.js';
import { parseHostPort } from './seed.js';

/** While the dictionary is missing, the DHT is asked again this often (a seed may announce itself after our first walk). */
export const RELOOKUP_MS = 5_000;

export interface MagnetSettings {
  /** `--peer HOST:PORT` list. */
  readonly peers?: readonly string[];
  /** Listen address while fetching (default 127.0.0.1). */
  readonly host?: string;
  /** Announce to the link's trackers (default true). */
  readonly trackers?: boolean;
  /** The DHT: off, or its bootstrap routers and kept state (discovery.ts). */
  readonly dht: false | { readonly bootstrap?: readonly string[]; readonly store?: DhtStateStore };
  readonly lsd?: boolean;
  /** Give up after this long without the dictionary (metadata-fetch.ts default). */
  readonly timeoutMs?: number;
  readonly encryption?: 'prefer-plaintext' | 'require';
  readonly onWarning?: WarningSink;
  /** Peers connected so far, for a progress line (called when the count changes). */
  readonly onPeers?: (connected: number) => void;
}

export interface MagnetTarget {
  readonly metainfo: Metainfo;
  /** The torrent file: the link's trackers and web seeds around the fetched info dictionary. */
  readonly torrentFile: Uint8Array;
  /** HOST:PORT of the peers that answered (dial them for the download). */
  readonly peers: readonly string[];
}

/** Fetches the info dictionary of `link` from peers and returns it as a torrent. */
export async function resolveMagnet(link: MagnetLink, s: MagnetSettings): Promise<MagnetTarget> {
  const direct = [...link.peers, ...(s.peers ?? []).map(parseHostPort)];
  const wire = infoHashBytes(link.wireInfoHash);
  const peerId = newPeerId();
  const fetch = await MetadataFetch.start({
    infoHash: wire,
    expected: {
      ...(link.infoHash ? { v1: infoHashBytes(link.infoHash) } : {}),
      ...(link.infoHashV2 ? { v2: Buffer.from(link.infoHashV2, 'hex') } : {}),
    },
    peerId,
    host: s.host ?? '127.0.0.1',
    ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
    ...(s.encryption ? { encryption: s.encryption } : {}),
    ...(s.onWarning ? { onWarning: s.onWarning } : {}),
  });
  let announcer: Announcer | undefined;
  let discovery: Discovery | undefined;
  let shown = -1;
  const progress = setInterval(() => {
    const n = fetch.connectedPeers;
    if (n !== shown) s.onPeers?.((shown = n));
  }, 250).unref();
  try {
    for (const p of direct) fetch.addPeer(p.host, p.port);
    if (s.trackers !== false && link.trackers.length > 0) {
      announcer = new Announcer({
        infoHash: wire,
        peerId,
        port: fetch.port ?? 0,
        tiers: link.trackers.map((t) => [t]),
        stats: () => ({ uploaded: 0, downloaded: 0, left: link.exactLength ?? 1 }),
        ...(s.onWarning ? { onWarning: s.onWarning } : {}),
      });
      announcer.on('peers', (peers: readonly { host: string; port: number }[]) => {
        for (const p of peers) fetch.addPeer(p.host, p.port);
      });
      announcer.start();
    }
    if (s.dht !== false || s.lsd) {
      discovery = await Discovery.start({
        serving: [],
        wanted: [{ infoHash: link.wireInfoHash, private: false }],
        tcpPort: fetch.port ?? 0,
        host: fetch.host ?? s.host ?? '127.0.0.1',
        dht: s.dht,
        lsd: s.lsd === true,
        relookupMs: RELOOKUP_MS,
        ...(s.onWarning ? { onWarning: s.onWarning } : {}),
      });
      discovery.on('peer', (p) => fetch.addPeer(p.host, p.port));
    }
    const got = await fetch.result;
    let torrentFile = torrentAround(got.rawInfo, link);
    let metainfo = parseMetainfo(torrentFile, link.name ?? link.wireInfoHash);
    // A v2-only torrent's pieces are checked against piece layers, which its info dictionary does not hold: ask the peers.
    if (metainfo.version === 'v2' && metainfo.v2 && !metainfo.v2.layersComplete) {
      const layers = await fetchPieceLayers(metainfo, metainfo.v2, got.peers, { host: s.host ?? '127.0.0.1', timeoutMs: s.timeoutMs ?? LAYERS_TIMEOUT_MS, ...(s.encryption ? { encryption: s.encryption } : {}), ...(s.onWarning ? { onWarning: s.onWarning } : {}) });
      torrentFile = torrentAround(got.rawInfo, link, layers);
      metainfo = parseMetainfo(torrentFile, link.name ?? link.wireInfoHash);
    }
    if (metainfo.infoHash !== link.wireInfoHash && metainfo.infoHash !== link.infoHash) {
      throw new IsosyncError('VERIFY_FAILED', `Cannot use the info dictionary of ${link.wireInfoHash}: it reads as torrent ${metainfo.infoHash}`, { infoHash: link.wireInfoHash });
    }
    return { metainfo, torrentFile, peers: got.peers };
  } finally {
    clearInterval(progress);
    await announcer?.stop();
    await discovery?.close();
    await fetch.close();
  }
}

/**
 * A torrent file around `rawInfo` (spliced byte for byte: re-encoding could
 * change the infohash of a dictionary that is not canonical). Keys in
 * order: announce, announce-list, created by, info, url-list.
 */
export function torrentAround(rawInfo: Uint8Array, link: Pick<MagnetLink, 'trackers' | 'webSeeds'>, pieceLayers?: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const head = encodeBencode({
    ...(link.trackers.length > 0 ? { announce: link.trackers[0]!, 'announce-list': link.trackers.map((t) => [t]) } : {}),
    'created by': 'isosync (from a magnet link)',
  });
  // BEP 52 piece layers fetched by hash requests (a v2 magnet), keyed by the raw pieces root: after `info`, before `url-list`.
  const layers = pieceLayers && pieceLayers.size > 0 ? new Map([...pieceLayers].map(([hex, l]) => [Buffer.from(hex, 'hex').toString('latin1'), l])) : undefined;
  const after = { ...(layers ? { 'piece layers': layers } : {}), ...(link.webSeeds.length > 0 ? { 'url-list': [...link.webSeeds] } : {}) };
  const tail = encodeBencode(after);
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), rawInfo, tail.subarray(1)]);
}
