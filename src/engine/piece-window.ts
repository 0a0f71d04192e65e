/**
 * How many pieces assemble works on at once (its window), from the sources a
 * sync has. Pure: a table test covers it.
 *
 * A swarm alone needs a deep window: eight 256 KiB pieces (2 MiB) capped each
 * leecher of a loopback 4-leecher swarm near 30 MB/s, since the window drains
 * once per round trip and round trips grow when every peer's event loop is
 * busy. With a web seed beside the peers the web seed keeps its own pipeline
 * full (look-ahead.ts takes pieces ahead for it), so the deep window only
 * adds live piece buffers: one peer next to a web seed made the client spend
 * 0.6-0.8 s more CPU (GC and writes) than the web seed alone, for a peer that
 * sent almost nothing. There assemble's default window is kept.
 *
 * The window is bytes, not pieces: with pieces of 2 MiB or more it is fewer than
 * eight pieces (two at least), so that a torrent of 16 MiB pieces does not hold
 * 8 x 16 MiB of piece buffers (each piece in flight holds up to four buffers of
 * its length: assemble.ts).
 */

/**
 * Piece bytes in flight with peers and no web seed (memory is about twice this). 4 MiB, not 8: sixteen 256 KiB
 * pieces, twice what capped a swarm's leechers; 8 MiB took the leecher of the 348 MiB DVD image 4 MiB higher
 * (peak RSS 76.3-76.4 -> 72.4-72.9 MiB against one isosync seed, 2 rounds, wall and CPU within noise).
 */
export const PEER_WINDOW_BYTES = 4 * 1024 * 1024;
/** Two pieces at least: one assembled while the next one's blocks arrive. */
export const MIN_PEER_WINDOW_PIECES = 2;
export const MAX_PEER_WINDOW_PIECES = 64;

export interface WindowSources {
  /** A swarm is attached: peers may join. */
  readonly peers: boolean;
  /** Web seeds (http, https, ftp mirrors) the sync fetches from. */
  readonly webSeeds: number;
}

/** The window in pieces, or undefined for assemble's default. */
export function pieceWindow(pieceLength: number, s: WindowSources): number | undefined {
  if (!s.peers || s.webSeeds > 0) return undefined;
  return Math.min(MAX_PEER_WINDOW_PIECES, Math.max(MIN_PEER_WINDOW_PIECES, Math.ceil(PEER_WINDOW_BYTES / pieceLength)));
}
