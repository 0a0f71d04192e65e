/**
 * The asking side of BEP 52 hash requests, over a swarm's v2 connections
 * (a link whose handshake named the truncated v2 infohash; libtorrent drops
 * a peer that asks for hashes on a v1 connection):
 *
 *   pieceLayersOf  the piece layers a torrent from a magnet link lacks (its
 *                  info dictionary does not hold them): each file's layer in
 *                  runs of at most LAYER_RUN hashes (libtorrent's bucket),
 *                  proven up to the file's pieces root, so no peer can slip
 *                  in a wrong one;
 *   leavesOf       the 16 KiB leaf hashes of one piece, checked against the
 *                  piece's node (its piece-layer entry, or the root of a file
 *                  of one piece): per-block verification of reused bytes
 *                  (delta/block-verify.ts).
 *
 * Each request goes to up to ASK_PEERS peers in turn (a reject, a timeout or
 * a reply that does not prove out moves on to the next); nothing here
 * convicts a peer, as a wrong proof is dropped unseen.
 */
import { verifyHashes, type HashRequest } from '../torrent/hash-messages.js';
import { leafCount, leavesPerPiece, log2Exact, nextPowerOfTwo, SHA256_BYTES } from '../torrent/merkle.js';
import type { V2Piece } from '../torrent/piece-check.js';
import type { V2Info } from '../torrent/v2-info.js';
import type { HashAsker } from './hash-extension.js';
import type { PeerLink } from './peer-link.js';

/** Piece-layer hashes per request (libtorrent asks and accepts runs of 512). */
export const LAYER_RUN = 512;
/** Peers a request goes to at most before it is given up. */
export const ASK_PEERS = 3;

/** What hash requests go through: the swarm's askers, by link, and the wire infohash of v2 links. */
export interface HashPeers {
  readonly askers: ReadonlyMap<PeerLink, HashAsker>;
  /** Hex of the infohash a v2 link's handshake names (the truncated SHA-256 one). */
  readonly v2InfoHashHex: string;
}

/** The handshaken v2 links, those with the fewest hash requests waiting first. */
function v2Askers(peers: HashPeers): HashAsker[] {
  return [...peers.askers]
    .filter(([l]) => l.handshaken && !l.closed && l.infoHashHex === peers.v2InfoHashHex)
    .map(([, a]) => a)
    .sort((a, b) => a.waiting - b.waiting);
}

/** Asks `r` of up to ASK_PEERS peers until a reply proves to `trusted` at `trustedLayer`; its base-layer hashes, or undefined. */
async function askProven(peers: HashPeers, r: HashRequest, trusted: Uint8Array, trustedLayer: number): Promise<Uint8Array | undefined> {
  for (const asker of v2Askers(peers).slice(0, ASK_PEERS)) {
    const reply = await asker.ask(r);
    if (reply && verifyHashes(reply, trusted, trustedLayer)) return reply.hashes;
  }
  return undefined;
}

/** Whether some v2 peer is connected (hash requests have somewhere to go). */
export function hasV2Peers(peers: HashPeers): boolean {
  return v2Askers(peers).length > 0;
}

/**
 * The piece layers of the files of `v2` longer than a piece whose layer is
 * missing, by hex pieces root; undefined when some file's layer could not be
 * had from the peers connected.
 */
export async function pieceLayersOf(peers: HashPeers, v2: V2Info, pieceLength: number): Promise<Map<string, Uint8Array> | undefined> {
  const out = new Map<string, Uint8Array>();
  const base = log2Exact(leavesPerPiece(pieceLength));
  for (const f of v2.files) {
    if (f.length <= pieceLength || !f.piecesRoot) continue;
    const hex = Buffer.from(f.piecesRoot).toString('hex');
    if (v2.pieceLayers.has(hex)) continue;
    const rootLayer = log2Exact(nextPowerOfTwo(leafCount(f.length)));
    const width = 2 ** (rootLayer - base);
    const layer = new Uint8Array(f.pieceCount * SHA256_BYTES);
    for (let index = 0; index < f.pieceCount; index += LAYER_RUN) {
      const length = Math.min(LAYER_RUN, nextPowerOfTwo(f.pieceCount - index), width);
      // Proven to the root: the reply reaches layer base + proofLayers + 1.
      const r: HashRequest = { piecesRoot: f.piecesRoot, baseLayer: base, index, length, proofLayers: rootLayer - base - 1 };
      const hashes = await askProven(peers, r, f.piecesRoot, rootLayer);
      if (!hashes) return undefined;
      const take = Math.min(length, f.pieceCount - index);
      layer.set(hashes.subarray(0, take * SHA256_BYTES), index * SHA256_BYTES);
    }
    out.set(hex, layer);
  }
  return out;
}

/**
 * The leaf hashes of the piece at `at` (its file's tree; piece-check.ts
 * v2Piece), checked against the piece's node: `at.width` hashes, the ones
 * past the file's end zero. Undefined when no peer gave them.
 */
export async function leavesOf(peers: HashPeers, at: V2Piece): Promise<Uint8Array | undefined> {
  const root = at.file.piecesRoot;
  if (!root || at.width < 2) return undefined;
  const height = log2Exact(at.width);
  // The run is the piece's whole subtree: it hashes up to the node we trust, no uncle needed.
  const r: HashRequest = { piecesRoot: root, baseLayer: 0, index: at.indexInFile * at.width, length: at.width, proofLayers: height - 1 };
  return askProven(peers, r, at.expected, height);
}
