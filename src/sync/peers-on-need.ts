/**
 * A sync's swarm, started when the policy (swarm-start.ts) says so: before
 * planning, or later, when a web seed drops, stalls or falls behind. Until
 * then the swarm's modules are not even loaded.
 *
 * To the network it is the peers' side (NetworkPeers): attached to the
 * engine before the swarm exists, it tells the engine that peers may still
 * come (a piece no web seed has any more waits for them, as for a tracker's
 * answer), and samples the web seeds every SAMPLE_MS. Once started, the
 * swarm's peers join the engine like any source: pieces already asked of
 * the web seeds stay with them, new work goes to whoever is free. The
 * pieces verified before it started are told to it then (courtesy after the
 * sync waits for peers that lack the pieces this sync fetched).
 */
import { asIsosyncError } from '../errors.js';
import { performance } from 'node:perf_hooks';
import type { WarningSink } from '../core/warnings.js';
import type { PieceIndex } from '../core/ids.js';
import type { Engine } from '../engine/engine.js';
import type { SyncPeers } from '../swarm/sync-peers.js';
import type { MirrorPeer, NetworkPeers } from './network.js';
import { NeedWatch, type StartReason } from './swarm-start.js';
import { awaitingFirstPeer, expectsPeers } from './trading-swarm.js';
import type { EnginePort } from '../swarm/swarm-options.js';

/** The web seeds are sampled this often while the swarm waits. */
export const SAMPLE_MS = 250;

/** The engine's view of a swarm that has not started: no peer yet, but one may come. */
const WAITING = { availability: () => 0, seeds: 0, connected: 0, discovering: () => true };

export class PeersOnNeed implements NetworkPeers {
  /** The swarm, once started. */
  current: SyncPeers | undefined = undefined;
  /** Why it started (undefined: it did not). */
  reason: StartReason | undefined;
  /** Bytes the plan still fetches (the sync sets it once it has planned). */
  leftBytes: () => number | undefined = () => undefined;
  private starting: Promise<SyncPeers | undefined> | undefined;
  private engine: Engine | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Pieces verified before the swarm started, and whether they were fetched. */
  private readonly verified: [PieceIndex, boolean | undefined][] = [];

  constructor(
    private readonly launch: () => Promise<SyncPeers>,
    private readonly onStart: (reason: StartReason) => void,
    private readonly warn: WarningSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the swarm (once); a failure to start rejects. */
  async start(reason: StartReason): Promise<SyncPeers> {
    const sp = await this.begin(reason, true);
    return sp!;
  }

  attach(engine: Engine, mirrors: readonly MirrorPeer[]): void {
    this.engine = engine;
    if (this.current) return this.current.attach(this.port(engine));
    if (this.starting) return;
    engine.attachPeers(WAITING);
    const watch = new NeedWatch();
    let loop = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const at = this.now();
      const since = performance.eventLoopUtilization(loop);
      loop = performance.eventLoopUtilization();
      const why = watch.observe({
        at,
        mirrors: mirrors.map((m) => {
          const load = m.load;
          // Dropped, not closed: the network closes every mirror when the sync ends (and stops this first: finished()).
          return { dropped: m.failure !== undefined, received: m.received, outstanding: load.outstanding, rate: load.unmeasured ? undefined : load.rate };
        }),
        leftBytes: this.leftBytes(),
        loopBusy: since.utilization,
      });
      if (why) void this.begin(why, false);
    }, SAMPLE_MS);
    this.timer.unref();
  }

  pieceVerified(p: PieceIndex, fetched?: boolean): void {
    if (this.current) this.current.pieceVerified(p, fetched);
    else this.verified.push([p, fetched]);
  }

  /** Stops watching; closes the swarm if it started (or once it has). */
  async close(): Promise<void> {
    this.closed = true;
    this.finished();
    const sp = await this.starting?.catch(() => undefined);
    await sp?.close();
  }

  /** The sync needs no more bytes: stop watching the web seeds (before the network closes them). */
  finished(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The engine as the swarm sees it: look-ahead of a swarm announced where others look waits a moment for its first peer (trading-swarm.ts). */
  private port(engine: Engine): EnginePort {
    if (!expectsPeers(this.reason)) return engine;
    return {
      add: (h) => engine.add(h),
      announced: (p) => engine.announced(p),
      availabilityChanged: (p) => engine.availabilityChanged(p),
      attachPeers: (facts) => engine.attachPeers(awaitingFirstPeer(facts, this.now)),
    };
  }

  /** Starts the swarm once; `strict`: a failure rejects (before planning), else it is warned of and the web seeds go on. */
  private begin(reason: StartReason, strict: boolean): Promise<SyncPeers | undefined> {
    this.finished();
    this.starting ??= (async () => {
      this.reason = reason;
      const sp = await this.launch();
      if (this.closed) {
        await sp.close();
        return undefined;
      }
      this.current = sp;
      for (const [p, fetched] of this.verified.splice(0)) sp.pieceVerified(p, fetched);
      if (this.engine) sp.attach(this.port(this.engine));
      this.onStart(reason);
      return sp;
    })();
    return strict
      ? this.starting
      : this.starting.catch((e: unknown) => {
          const error = asIsosyncError(e, 'NETWORK');
          this.warn({ code: 'PEER_LISTENER', source: 'swarm', detail: `the peers could not start (${error.message}); going on with the web seeds`, error });
          // No peer will come: a piece no web seed has any more fails now, not after waiting for one.
          this.engine?.attachPeers({ ...WAITING, discovering: () => false });
          return undefined;
        });
  }
}
