/**
 * When a sync starts its swarm: mirrors first, peers when they help (a
 * mature client with mirrors does the same). Pure: the facts and the time
 * come in, a reason to start (or none) goes out; the coordinator that
 * samples the web seeds and starts the swarm is peers-on-need.ts.
 *
 * At once, before planning (startAtOnce), when:
 *   - no usable web seed: the peers are the only source;
 *   - the target came from a magnet link: its info dictionary came from
 *     these peers, whose modules are loaded already;
 *   - the sync is announced where others look for it: a tracker (the
 *     torrent's, or the host's it came from) or LSD (`--lsd`, asked for).
 *     Its peers then trade among themselves while they leech (eight clients
 *     updating through `isosync serve` take ~1.5 deltas from the server, not
 *     eight);
 *   - `--seed`: the user wants to be a peer; the swarm loads for the seeding
 *     anyway, so starting it first only moves its cost.
 * The DHT, on by default, does not count as asked for: it starts with the
 * swarm, when that starts.
 *
 * Otherwise (direct `--peer`s beside a web seed, the DHT) the swarm starts
 * during the sync (NeedWatch), on the first of:
 *   - a web seed dropped (it failed, or sent bytes a piece hash proved
 *     wrong: a web seed is dropped at its first wrong piece);
 *   - a web seed stalls: bytes asked of it and none received for
 *     STALL_QUIET_MS, over at least STALL_SAMPLES samples (a process starved
 *     of CPU runs its timers late, and one late timer is not a stall);
 *   - the web seeds are slow: at their measured rate, what the plan still
 *     fetches takes more than SLOW_LEFT_MS, and the sync waits for them (its
 *     event loop was idle most of the last second). A sync bound by its own
 *     CPU (local reconstruction, or a loaded machine) also reads its mirror
 *     slowly; peers would only add to its CPU.
 * A sync whose web seeds keep up never loads the swarm: in the mixed bench
 * that was the client's whole extra cost of a `--peer` (import 48-87 ms of
 * CPU, Swarm.start 5-10 ms, the dial 2-3 ms), in a sync bound by local CPU.
 */

/** Why a sync's swarm started. */
export type StartReason = 'no-web-seed' | 'magnet' | 'trackers' | 'lsd' | 'seeding' | 'web-seed-dropped' | 'web-seed-stalled' | 'web-seed-slow';

/** What is known of a sync before it plans. */
export interface SwarmFacts {
  /** Web seeds the sync can use (http, https and ftp URLs, duplicates once). */
  readonly webSeeds: number;
  readonly magnet: boolean;
  /** It announces to a tracker. */
  readonly trackers: boolean;
  /** Local peer discovery is on. */
  readonly lsd: boolean;
  /** `--seed`. */
  readonly seeding: boolean;
}

/** The reason to start the swarm before planning, or undefined: it starts on need. */
export function startAtOnce(f: SwarmFacts): StartReason | undefined {
  if (f.webSeeds === 0) return 'no-web-seed';
  if (f.magnet) return 'magnet';
  if (f.trackers) return 'trackers';
  if (f.lsd) return 'lsd';
  if (f.seeding) return 'seeding';
  return undefined;
}

/**
 * Quiet time that makes a web seed stalled: a mirror answers within a round
 * trip or two (a TLS handshake to a far mirror takes ~0.3-0.6 s); a second
 * and a half with asks out and no byte is not a slow link but a dead one.
 * Its own stall timeout (STALL_MS, 20 s) drops it much later.
 */
export const STALL_QUIET_MS = 1500;
/** Samples in a row (peers-on-need.ts takes one each SAMPLE_MS) that must all see no byte. */
export const STALL_SAMPLES = 5;
/**
 * Fetching time left, at the web seeds' measured rate, above which peers
 * are worth starting: the swarm costs ~0.1 s of CPU (import, start, dial,
 * measured in a loaded mixed sync) and a round trip or two before a peer's
 * first block. At 5 s left that is ~2 % of what is left, and a peer half
 * as fast as the mirrors saves a third of it (~1.7 s); at 1-2 s left the
 * swarm's start and a peer's ramp-up (unchoke, a full pipeline) eat most
 * of what it could save. The mixed bench's syncs fetch 21 MB in well under
 * a second from a loopback or 32 MiB/s mirror: they never get here.
 */
export const SLOW_LEFT_MS = 5000;
/**
 * The sync waits for the network when its event loop was busy at most this
 * share of the last SLOW_WINDOW samples (node's event loop utilization): a
 * sync that waits on a slow mirror idles (~0.0-0.2), one bound by local
 * reconstruction is busy (~0.9 and more), on a quiet or loaded machine alike.
 */
export const WAITING_LOOP_BUSY = 0.5;
/** Samples the loop's busy share is averaged over (1 s at SAMPLE_MS). */
export const SLOW_WINDOW = 4;

/** One web seed as sampled. */
export interface MirrorSample {
  /** It failed (or sent bytes a piece hash proved wrong) and was dropped. */
  readonly dropped: boolean;
  /** Body bytes received so far. */
  readonly received: number;
  /** Bytes asked and not received yet. */
  readonly outstanding: number;
  /** Bytes per second while its requests were in flight; undefined until that is a measure. */
  readonly rate: number | undefined;
}

/** What the coordinator sees at one sample. */
export interface NeedSample {
  /** ms, any origin (the caller's clock). */
  readonly at: number;
  readonly mirrors: readonly MirrorSample[];
  /** Bytes the plan still fetches; undefined while planning. */
  readonly leftBytes: number | undefined;
  /** The share of the time since the last sample the event loop was busy (0-1). */
  readonly loopBusy: number;
}

interface Quiet {
  received: number;
  /** Since when asks were out and no byte came; undefined when none were out. */
  since: number | undefined;
  samples: number;
}

/** Watches the web seeds of a sync whose swarm waits: observe() each sample says whether to start it now. */
export class NeedWatch {
  private readonly quiet: Quiet[] = [];
  private readonly busy: number[] = [];

  observe(s: NeedSample): StartReason | undefined {
    let rate = 0;
    let measured = false;
    let stalled = false;
    s.mirrors.forEach((m, i) => {
      const q = (this.quiet[i] ??= { received: m.received, since: undefined, samples: 0 });
      if (m.outstanding === 0 || m.received !== q.received) {
        q.received = m.received;
        q.since = m.outstanding === 0 ? undefined : s.at;
        q.samples = 0;
      } else {
        q.since ??= s.at;
        q.samples++;
        if (q.samples >= STALL_SAMPLES && s.at - q.since >= STALL_QUIET_MS) stalled = true;
      }
      // A web seed that sent nothing yet is judged by its stall, not by a rate of 0.
      if (!m.dropped && m.rate !== undefined && m.rate > 0) {
        rate += m.rate;
        measured = true;
      }
    });
    if (s.mirrors.some((m) => m.dropped)) return 'web-seed-dropped';
    if (stalled) return 'web-seed-stalled';
    this.busy.push(s.loopBusy);
    if (this.busy.length > SLOW_WINDOW) this.busy.shift();
    const waiting = this.busy.reduce((n, b) => n + b, 0) / this.busy.length <= WAITING_LOOP_BUSY;
    if (measured && waiting && s.leftBytes !== undefined && s.leftBytes > 0 && (s.leftBytes / rate) * 1000 > SLOW_LEFT_MS) return 'web-seed-slow';
    return undefined;
  }
}
