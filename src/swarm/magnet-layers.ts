/**
 * The piece layers of a v2-only torrent from a magnet link (BEP 52): its
 * info dictionary, fetched over ut_metadata, holds each file's pieces root
 * but not the piece layers its pieces are checked against, so they are
 * asked of the peers that sent the dictionary with hash requests
 * (hash-fetch.ts: every run proven up to its file's root), over a swarm that
 * only dials (it holds and serves nothing). The peers are asked again while
 * they reject, until LAYERS_TIMEOUT_MS; then the sync fails, naming why.
 */
import { IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import type { Metainfo } from '../torrent/metainfo.js';
import type { V2Info } from '../torrent/v2-info.js';
import { pieceLayersOf } from './hash-fetch.js';
import { parseHostPort } from './seed.js';
import { Swarm } from './swarm.js';

/** Give up on the piece layers after this long (the dictionary's own fetch has the same patience). */
export const LAYERS_TIMEOUT_MS = 60_000;
/** Between two rounds of asking (a peer may still be checking its copy, or connecting). */
const ROUND_MS = 500;

export async function fetchPieceLayers(
  m: Pick<Metainfo, 'infoHashBytes' | 'length' | 'pieceLength' | 'name'>,
  v2: V2Info,
  peers: readonly string[],
  o: { host: string; timeoutMs: number; encryption?: 'prefer-plaintext' | 'require'; onWarning?: WarningSink },
): Promise<Map<string, Uint8Array>> {
  const pieceCount = Math.ceil(m.length / m.pieceLength);
  const swarm = await Swarm.start({
    infoHash: m.infoHashBytes,
    v2: true,
    length: m.length,
    pieceLength: m.pieceLength,
    store: { have: new Array<boolean>(pieceCount).fill(false), read: () => Promise.reject(new IsosyncError('INTERNAL', 'Internal error: a piece-layer fetch serves nothing')) },
    host: o.host,
    ...(o.encryption ? { encryption: o.encryption } : {}),
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
  });
  try {
    for (const p of peers.map(parseHostPort)) swarm.addPeer(p.host, p.port);
    const hashPeers = { askers: swarm.askers, v2InfoHashHex: Buffer.from(m.infoHashBytes).toString('hex') };
    const until = Date.now() + o.timeoutMs;
    for (;;) {
      const layers = await pieceLayersOf(hashPeers, v2, m.pieceLength);
      if (layers) return layers;
      if (Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    throw new IsosyncError('NETWORK', `Cannot check the pieces of ${JSON.stringify(m.name)}: no peer gave its BEP 52 piece layers in ${o.timeoutMs / 1000} s (its magnet link's info dictionary does not hold them)`, { path: m.name });
  } finally {
    await swarm.close();
  }
}
