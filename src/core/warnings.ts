/**
 * Warnings: trouble a command recovers from (a peer dropped, a tracker down,
 * a source skipped). Every module reports them the same way: it is given a
 * WarningSink and calls it with a typed Warning. Nothing else carries them
 * (no events, no strings), and no program reads `detail`: it is for people.
 *
 *   code    stable, what happened (tests and --json consumers read this)
 *   source  who it is about: "peer 10.0.0.1:6881", "web seed http://...",
 *           "tracker udp://...", a file path
 *   detail  one line for a person
 *   error   the error behind it, when there is one (its code and fields)
 */
import type { IsosyncError } from './errors.js';

export type WarningCode =
  // peers (BitTorrent)
  | 'PEER_UNREACHABLE' // dialing failed after every attempt
  | 'PEER_STRIKE' // it sent bytes a piece hash proved wrong (once)
  | 'PEER_BANNED' // ... again: banned for the life of the swarm
  | 'PEER_STALLED' // it stopped answering requests: dropped
  | 'PEER_ALIGNED_ONLY' // it refuses requests of part of a 16 KiB block: asked whole blocks from now on
  | 'PEER_LISTENER' // the listening socket reported an error
  | 'SERVE_FAILED' // a block could not be read for a peer
  // web seeds and mirrors
  | 'WEB_SEED_DROPPED' // it failed (HTTP error, wrong length, stall, wrong bytes): not asked again
  | 'WEB_SEED_NO_RANGES' // the server ignores byte ranges: the whole image comes from it in one plain GET
  // trackers
  | 'TRACKER_FAILED' // one tracker failed one request; the next is tried
  | 'TRACKERS_UNREACHABLE' // no tracker answered a round; it retries later
  | 'TRACKER_MESSAGE' // a tracker's own `warning message`
  | 'TRACKER_PEERS_SKIPPED' // a tracker's reply named peers whose address or port is invalid: left out, never looked up
  | 'TRACKER_UNSUPPORTED' // a tracker URL of a scheme isosync does not speak
  | 'NO_TRACKER' // the torrent names no tracker isosync can use
  // planning and local data
  | 'HINTS_IGNORED' // the torrent's delta hints are malformed
  | 'SOURCE_SKIPPED' // a catalog image could not be opened
  | 'SOURCE_NOT_ISO' // a local image is not ISO 9660: used for hints and same-offset reuse only
  | 'CATALOG_NOT_RECORDED' // the release could not be recorded in the catalog
  | 'CHECKSUM_MISMATCH' // a plain-HTTP result failed SHA256SUMS: fetched again whole
  | 'UNVERIFIED' // a plain-HTTP result has nothing to be checked against
  // discovery beyond trackers
  | 'DHT_TROUBLE' // the DHT node could not start, or a lookup, announce or packet failed
  | 'LSD_TROUBLE' // local peer discovery could not start or send
  // magnet links
  | 'MAGNET_PARAM_IGNORED' // a magnet parameter that is not a usable tracker, web seed or peer: left out
  | 'MAGNET_TORRENT_NOT_SAVED' // another torrent file already has the name the magnet's torrent would be saved under
  // packages of an image (diff, apply)
  | 'PACKAGE_INDEX_BROKEN' // an index names metadata the image lacks
  | 'PACKAGE_UNREADABLE' // a package file cannot be read: its index entry stands in
  | 'PACKAGE_INDEX_DISAGREES' // an index entry and its package file differ: the file wins
  | 'PACKAGE_NOT_INDEXED' // a package file no index lists
  | 'PACKAGE_MISSING' // an index lists a package file the image lacks
  | 'PACKAGE_TWICE' // one package appears in two versions: the higher wins
  // serving
  | 'REQUEST_FAILED' // an HTTP request to `isosync serve` failed
  | 'TORRENT_FAILED' // a torrent of a served file could not be made
  | 'SEED_FAILED' // a served image could not be seeded
  | 'ACCESS_LOG_FAILED' // serve's --access-log file could not be written
  | 'NOT_SERVED' // a symlink under serve's folder is answered 404 (out of the folder, broken, to a dotfile)
  // signed releases and feeds
  | 'FEED_TORRENT_REFUSED' // one URL of a release's torrent gave a torrent the feed does not vouch for; the next URL is tried
  | 'CATALOG_TORRENT_REFUSED' // the catalog's copy of a release's torrent fails the feed's keys: fetched again
  | 'KEY_FILE_SHARED' // a secret key file can be read by other users
  | 'CATALOG_UNREADABLE' // the catalog could not be read (seed --follow retries on its next change)
  | 'PACKAGE_DIFF_FAILED' // the package diff before an update could not be made
  | 'PACKAGE_NOTE'; // something the package diff noticed (an index and a package file disagree, ...)

export interface Warning {
  readonly code: WarningCode;
  readonly source: string;
  readonly detail: string;
  readonly error?: IsosyncError;
}

/** The one channel: whoever can warn is given one of these. */
export type WarningSink = (w: Warning) => void;

/** A sink that drops everything (a caller that does not listen). */
export const ignoreWarnings: WarningSink = () => undefined;

/**
 * A sink that passes each warning code once per source: a peer banned, a
 * mirror dropped or a tracker failing is said once, however often it recurs.
 */
export function oncePerSource(next: WarningSink): WarningSink {
  const seen = new Set<string>();
  return (w) => {
    const key = `${w.code}\u0000${w.source}`;
    if (seen.has(key)) return;
    seen.add(key);
    next(w);
  };
}

/** One line for people: `SOURCE: DETAIL`. */
export function formatWarning(w: Warning): string {
  return `${w.source}: ${w.detail}`;
}

/** The JSON shape of a warning (its error as code and fields). */
export function warningJson(w: Warning): { code: WarningCode; source: string; detail: string; error?: { code: string; fields: Record<string, unknown> } } {
  return {
    code: w.code,
    source: w.source,
    detail: w.detail,
    ...(w.error ? { error: { code: w.error.code, fields: { ...w.error.fields } } } : {}),
  };
}

/** Sources named the same way everywhere. */
export const sourceOf = {
  peer: (address: string): string => `peer ${address}`,
  webSeed: (url: string): string => `web seed ${url}`,
  tracker: (url: string): string => `tracker ${url}`,
};
