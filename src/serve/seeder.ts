/**
 * The server's BitTorrent side: one seed (src/swarm/seed.ts) per torrent it
 * made, listening on the server's host at a free port and announcing to the
 * torrent's trackers (this server's /announce first). The image is trusted
 * as verified: its torrent was hashed from this very file, or taken from the
 * catalog's record of it, and the file's size, mtime and inode are still the
 * ones hashed (served-torrents.ts checks them before handing out a torrent).
 * With a DHT node (`discovery`), each seed is announced there while it runs
 * (not a private torrent's).
 */
import { seedImage } from '../swarm/seed.js';
import { PUBLISHER_SHARE_WAIT_MS } from '../swarm/swarm.js';
import type { WarningSink } from '../core/warnings.js';
import type { Discovery } from '../discovery/discovery.js';
import type { ServedTorrent } from './served-torrents.js';
import type { SeedLike } from './server.js';

export interface SeederOptions {
  readonly host: string;
  readonly uploadSlots?: number;
  readonly onWarning?: WarningSink;
  readonly discovery?: Discovery;
}

export function seeder(o: SeederOptions): (t: ServedTorrent) => Promise<SeedLike> {
  return async (t) => {
    const s = await seedImage({
      torrent: t.metainfo,
      imagePath: t.path,
      host: o.host,
      port: 0,
      verified: true,
      // The publisher's upload is what the swarm saves: pieces another leecher got wait a moment for the leechers to trade them.
      shareWaitMs: PUBLISHER_SHARE_WAIT_MS,
      ...(o.uploadSlots ? { uploadSlots: o.uploadSlots } : {}),
      ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    });
    o.discovery?.serve({ infoHash: t.metainfo.infoHash, private: t.metainfo.private }, s.port);
    return {
      infoHash: t.metainfo.infoHash,
      get uploaded() {
        return s.stats().uploaded;
      },
      get peers() {
        return s.swarm.connectedPeers;
      },
      peerId: Buffer.from(s.swarm.peerId).toString('hex'),
      close: () => {
        o.discovery?.unserve(t.metainfo.infoHash);
        return s.close();
      },
    };
  };
}
