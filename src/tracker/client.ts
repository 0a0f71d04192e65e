/**
 * The tracker client: announces one torrent to its trackers and reports the
 * peers they give.
 *
 * Trackers are tried in BEP 12 tier order (tiers.ts): each announce goes to
 * the first tracker that answers, a tracker that answers moves to the front
 * of its tier, and a failure (unreachable, timeout, HTTP error, malformed
 * reply, `failure reason`, BEP 15 error) becomes one warning (TRACKER_FAILED,
 * through `onWarning`) and the next tracker is tried. Nothing is thrown into the caller's event loop.
 *
 * Events sent (BEP 3): `started` to each tracker the first time it is
 * announced to, `completed` once (to whichever tracker answers it),
 * `stopped` on stop() to every tracker that acknowledged `started`. Regular
 * announces follow the tracker's interval, never sooner than the floor
 * (MIN_ANNOUNCE_INTERVAL_S, libtorrent's 5 minutes, or the tracker's own
 * `min interval` when larger), so a tracker answering `interval 0` is not
 * hammered; after a round where every tracker failed, retries back off from
 * RETRY_FIRST_S doubling up to RETRY_MAX_S.
 *
 * Each warning is emitted once per tracker: the same problem from the same
 * tracker again is not repeated until that tracker has answered in between,
 * and "no tracker answered" once per run of failed rounds. A reply's peers
 * are passed on up to MAX_PEERS_PER_REPLY (deduplicated, ourselves removed).
 *
 * Emits:
 *   'peers'     {host, port}[]   new list from a tracker (our own address:port filtered out)
 *   'announced' AnnouncedInfo    a tracker answered (for progress and tests)
 * Warnings go to `onWarning` (core/warnings.ts), the one channel for them.
 */
import { EventEmitter } from 'node:events';
import { asIsosyncError, IsosyncError } from '../errors.js';
import { ignoreWarnings, sourceOf, type WarningCode, type WarningSink } from '../core/warnings.js';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { normalizeAddress, type PeerAddress } from './compact-peers.js';
import { httpAnnounce, httpScrape } from './http-announce.js';
import { schemeOf, TierList } from './tiers.js';
import { UdpTrackerClient } from './udp-announce.js';
import type { AnnounceEvent } from './udp-wire.js';

export interface AnnouncerOptions {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** The port we accept peers on. */
  port: number;
  /** BEP 12 announce-list (a torrent with only `announce` is one tier of one). */
  tiers: string[][];
  stats: () => { uploaded: number; downloaded: number; left: number };
  /** Peers asked per announce (default 50, BEP 3's suggestion). */
  numwant?: number;
  /** Trackers tried first, e.g. the host that served the torrent (tracker localization). */
  preferred?: string[];
  /** Deadline of one tracker request in ms (default 15 s). */
  timeoutMs?: number;
  /** Shortest time between two regular announces to one swarm, in seconds (default MIN_ANNOUNCE_INTERVAL_S; tests on 127.0.0.1 lower it). */
  minAnnounceIntervalS?: number;
  /** Where failures go (one per failed request). */
  onWarning?: WarningSink;
}

export interface AnnouncedInfo {
  readonly url: string;
  readonly event: AnnounceEvent;
  readonly interval: number;
  readonly minInterval?: number;
  readonly seeders?: number;
  readonly leechers?: number;
  readonly peers: number;
  /** Seconds until the next regular announce, as scheduled (the tracker's interval, raised to the floor). */
  readonly nextAnnounceS: number;
}

export interface ScrapeInfo {
  readonly url: string;
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

/** How long a tracker request may take before the next tracker is tried; trackers answer in milliseconds or not at all. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** stop() never takes longer than this: a user pressed Ctrl-C. */
export const STOP_TIMEOUT_MS = 2_000;
export const DEFAULT_NUMWANT = 50;
/** Peers passed on from one reply (libtorrent keeps a peer list of 3,000 by default); a tracker asked for 50 that sends more is not to be dialled wholesale. */
export const MAX_PEERS_PER_REPLY = 3000;
/** After a round where no tracker answered: first retry, then doubling up to the max. */
export const RETRY_FIRST_S = 15;
export const RETRY_MAX_S = 600;
/** libtorrent's min_announce_interval: no tracker's interval, however short, re-announces sooner than this. */
export const MIN_ANNOUNCE_INTERVAL_S = 300;
/** Beyond a day between announces the tracker forgets us. */
const MAX_INTERVAL_S = 86_400;

/**
 * When to announce again after a reply: `nextS` for the regular announce
 * (the tracker's interval), `minS` for an early one asked by update(). Both
 * are at least `floorS`, or the tracker's `min interval` when larger, and at
 * most a day. Pure.
 */
export function announceDelays(reply: { interval: number; minInterval?: number }, floorS: number = MIN_ANNOUNCE_INTERVAL_S): { nextS: number; minS: number } {
  const bound = (s: number): number => Math.min(MAX_INTERVAL_S, Math.max(0, Math.floor(Number.isFinite(s) ? s : MAX_INTERVAL_S)));
  const minS = Math.max(bound(floorS), bound(reply.minInterval ?? 0));
  return { nextS: Math.max(minS, bound(reply.interval)), minS };
}

export class Announcer extends EventEmitter {
  private readonly opts: Required<Pick<AnnouncerOptions, 'numwant' | 'timeoutMs'>> & AnnouncerOptions;
  private readonly tiers: TierList;
  private readonly udp = new UdpTrackerClient();
  /** BEP 3 `key`: 8 hex digits, the same for every announce of this session. */
  private readonly key = randomBytes(4);
  private readonly acked = new Set<string>();
  private readonly trackerIds = new Map<string, Uint8Array>();
  private started = false;
  private stopped = false;
  private completedPending = false;
  private completedSent = false;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failedRounds = 0;
  private lastAnnounce = 0;
  private minIntervalS = 0;
  private readonly abort = new AbortController();
  private externalIp: string | undefined;
  /** Warnings already given, by source (cleared when that tracker answers). */
  private readonly warned = new Map<string, Set<string>>();

  constructor(opts: AnnouncerOptions) {
    super();
    if (opts.infoHash.length !== 20) throw new IsosyncError('INTERNAL', `Internal error: the Announcer needs a 20-byte infoHash, got ${opts.infoHash.length} bytes`);
    if (opts.peerId.length !== 20) throw new IsosyncError('INTERNAL', `Internal error: the Announcer needs a 20-byte peerId, got ${opts.peerId.length} bytes`);
    this.opts = { numwant: DEFAULT_NUMWANT, timeoutMs: DEFAULT_TIMEOUT_MS, ...opts };
    this.tiers = new TierList(opts.tiers, opts.preferred ?? []);
  }

  /** The trackers, in the order the next announce tries them. */
  trackers(): string[][] {
    return this.tiers.snapshot();
  }

  /** Announce rounds finished (answered or not): after the first, every peer the trackers know now was given. */
  roundsDone = 0;

  /** Trackers it can announce to (none: it never announces). */
  get trackerCount(): number {
    return this.tiers.size;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const u of this.tiers.unsupported) this.warn('TRACKER_UNSUPPORTED', sourceOf.tracker(u), 'unsupported tracker scheme, skipped');
    if (this.tiers.size === 0) {
      this.warn('NO_TRACKER', 'trackers', 'the torrent names no HTTP or UDP tracker');
      return;
    }
    this.kick();
  }

  /** Sends event=completed once (now, not waiting for the interval). */
  completed(): void {
    if (this.completedSent || this.completedPending || this.stopped) return;
    this.completedPending = true;
    if (this.started) this.kick();
  }

  /** Asks for peers now, or as soon as the tracker's min interval allows. */
  update(): void {
    if (!this.started || this.stopped) return;
    const wait = this.lastAnnounce + this.minIntervalS * 1000 - Date.now();
    if (wait <= 0) this.kick();
    else this.schedule(wait);
  }

  /** Sends event=stopped to every tracker that knows us, in parallel, within STOP_TIMEOUT_MS; never rejects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    const timeout = Math.min(STOP_TIMEOUT_MS, this.opts.timeoutMs);
    const urls = [...this.acked];
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(urls.map((u) => this.announceTo(u, 'stopped', timeout, undefined).catch((e: unknown) => this.failed(u, e)))),
      new Promise<void>((r) => (deadline = setTimeout(r, timeout + 100))),
    ]);
    clearTimeout(deadline);
    this.udp.close();
  }

  /** Seeders, leechers and completed counts from the first tracker that answers a scrape (BEP 48 / BEP 15); undefined when none does. */
  async scrape(): Promise<ScrapeInfo | undefined> {
    for (const url of this.tiers.order()) {
      try {
        const r = schemeOf(url) === 'udp'
          ? await this.udp.scrape(url, this.opts.infoHash, this.opts.timeoutMs, this.abort.signal)
          : await httpScrape(url, this.opts.infoHash, this.opts.timeoutMs, this.abort.signal);
        return { url, ...(r ?? { complete: 0, incomplete: 0, downloaded: 0 }) };
      } catch (e) {
        this.failed(url, e, 'scrape failed: ');
      }
    }
    return undefined;
  }

  // ---- the announce loop ----

  private kick(): void {
    clearTimeout(this.timer);
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.round()
      .catch((e: unknown) => this.failed('(announcer)', e))
      .finally(() => {
        this.inFlight = undefined;
        this.roundsDone++;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  /** One announce: the first tracker in tier order that answers. */
  private async round(): Promise<void> {
    for (const url of this.tiers.order()) {
      if (this.stopped) return;
      const event: AnnounceEvent = !this.acked.has(url) ? 'started' : this.completedPending ? 'completed' : '';
      try {
        const r = await this.announceTo(url, event, this.opts.timeoutMs, this.abort.signal);
        if (this.stopped) return;
        this.tiers.promote(url);
        this.acked.add(url);
        if (event === 'completed' || (event === 'started' && this.completedPending && this.opts.stats().left === 0)) {
          this.completedPending = false;
          this.completedSent = true;
        }
        this.failedRounds = 0;
        this.warned.delete(sourceOf.tracker(url));
        this.warned.delete(ALL_TRACKERS);
        this.lastAnnounce = Date.now();
        const { nextS, minS } = announceDelays(r, this.opts.minAnnounceIntervalS ?? MIN_ANNOUNCE_INTERVAL_S);
        this.minIntervalS = minS;
        const peers = this.filterSelf(r.peers);
        this.emit('announced', { url, event, interval: r.interval, minInterval: r.minInterval, seeders: r.seeders, leechers: r.leechers, peers: peers.length, nextAnnounceS: nextS } satisfies AnnouncedInfo);
        if (peers.length > 0) this.emit('peers', peers);
        if (!this.again) this.schedule(nextS * 1000);
        return;
      } catch (e) {
        if (this.stopped) return;
        this.failed(url, e);
      }
    }
    this.failedRounds++;
    const retry = Math.min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (this.failedRounds - 1));
    this.warn('TRACKERS_UNREACHABLE', ALL_TRACKERS, `no tracker answered; retrying in ${RETRY_FIRST_S} s, then less often (up to every ${RETRY_MAX_S} s)`);
    if (!this.again) this.schedule(retry * 1000);
  }

  private async announceTo(
    url: string,
    event: AnnounceEvent,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ interval: number; minInterval?: number; seeders?: number; leechers?: number; peers: PeerAddress[] }> {
    const s = this.opts.stats();
    if (schemeOf(url) === 'udp') {
      const r = await this.udp.announce(
        url,
        {
          infoHash: this.opts.infoHash,
          peerId: this.opts.peerId,
          downloaded: s.downloaded,
          left: s.left,
          uploaded: s.uploaded,
          event,
          ip: 0,
          key: this.key.readUInt32BE(0),
          numWant: event === 'stopped' ? 0 : this.opts.numwant,
          port: this.opts.port,
        },
        timeoutMs,
        signal,
      );
      return { interval: r.interval, seeders: r.seeders, leechers: r.leechers, peers: r.peers };
    }
    const trackerId = this.trackerIds.get(url);
    const r = await httpAnnounce(
      url,
      {
        infoHash: this.opts.infoHash,
        peerId: this.opts.peerId,
        port: this.opts.port,
        uploaded: s.uploaded,
        downloaded: s.downloaded,
        left: s.left,
        event,
        numwant: event === 'stopped' ? 0 : this.opts.numwant,
        key: this.key.toString('hex'),
        ...(trackerId ? { trackerId } : {}),
      },
      timeoutMs,
      signal,
    );
    if (r.trackerId) this.trackerIds.set(url, r.trackerId);
    if (r.externalIp) this.externalIp = r.externalIp;
    if (r.warning) this.warn('TRACKER_MESSAGE', sourceOf.tracker(url), `tracker warns ${JSON.stringify(r.warning)}`);
    if (r.skipped) {
      const { count, first } = r.skipped;
      this.warn('TRACKER_PEERS_SKIPPED', sourceOf.tracker(url), `skipped ${count} peer ${count === 1 ? 'entry' : 'entries'} with an invalid address or port (first: ${JSON.stringify(first)})`);
    }
    // The dictionary model names peer ids: drop our own entry wherever it is.
    const peers = r.peers.filter((p) => {
      const id = r.peerIds.get(`${p.host}:${p.port}`);
      return !id || Buffer.compare(Buffer.from(id), Buffer.from(this.opts.peerId)) !== 0;
    });
    const out: { interval: number; minInterval?: number; seeders?: number; leechers?: number; peers: PeerAddress[] } = { interval: r.interval, peers };
    if (r.minInterval !== undefined) out.minInterval = r.minInterval;
    if (r.seeders !== undefined) out.seeders = r.seeders;
    if (r.leechers !== undefined) out.leechers = r.leechers;
    return out;
  }

  /**
   * Trackers usually return the announcing peer too: drop entries with our
   * port on one of our addresses, and duplicates; keep at most MAX_PEERS_PER_REPLY.
   */
  private filterSelf(peers: PeerAddress[]): PeerAddress[] {
    const mine = localAddresses();
    if (this.externalIp) mine.add(this.externalIp);
    const seen = new Set<string>();
    const out: PeerAddress[] = [];
    for (const p of peers) {
      if (out.length === MAX_PEERS_PER_REPLY) break;
      const host = normalizeAddress(p.host);
      const key = `${host}:${p.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!(p.port === this.opts.port && (mine.has(host) || host === '0.0.0.0'))) out.push(p);
    }
    return out;
  }

  /** Reports a warning, unless `source` already reported this one since it last answered. */
  private warn(code: WarningCode, source: string, detail: string, error?: IsosyncError): void {
    let seen = this.warned.get(source);
    const key = `${code} ${detail}`;
    if (seen?.has(key)) return;
    if (!seen) this.warned.set(source, (seen = new Set()));
    seen.add(key);
    (this.opts.onWarning ?? ignoreWarnings)({ code, source, detail, ...(error ? { error } : {}) });
  }

  /** One request to `url` failed with `e`. */
  private failed(url: string, e: unknown, prefix = ''): void {
    const error = asIsosyncError(e, 'NETWORK', { url });
    this.warn('TRACKER_FAILED', sourceOf.tracker(url), prefix + describe(error), error);
  }
}

/** The source named in "no tracker answered". */
const ALL_TRACKERS = 'trackers';

function describe(e: IsosyncError): string {
  return e.message.split('\n')[0]!;
}

function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(normalizeAddress(a.address));
  return out;
}
