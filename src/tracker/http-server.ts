/**
 * A standalone tracker server (`isosync tracker`): HTTP through the lean
 * front end of lean-http.ts, answering only the tracker paths (404
 * elsewhere), with timeouts that drop a client sending a request slowly,
 * plus BEP 15 on UDP when asked.
 */
import { tuneForLongRun } from '../core/long-running.js';
import { LeanHttpServer } from './lean-http.js';
import { Tracker, type TrackerOptions } from './server.js';

/** A request's headers must arrive within this; a tracker request is one short line. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections are closed after this (a client re-announces in minutes, not seconds). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface RunningTracker {
  readonly tracker: Tracker;
  readonly httpPort: number;
  readonly udpPort?: number;
  close(): Promise<void>;
}

export interface StartTrackerOptions extends TrackerOptions {
  host: string;
  port: number;
  udp?: boolean;
  headersTimeoutMs?: number;
  /** Serve through node:net and node:dgram rather than Node's TCP and UDP handles (tcp-links.ts, udp-handles.ts): the fallback, for its tests. */
  nodeSockets?: boolean;
}

export async function startTracker(opts: StartTrackerOptions): Promise<RunningTracker> {
  // A tracker runs for days: V8 optimizes its hot code as without bin/isosync's raised budget.
  tuneForLongRun();
  const tracker = new Tracker(opts);
  const front = new LeanHttpServer(tracker, { headersTimeoutMs: opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS });
  let httpPort: number;
  try {
    httpPort = await front.listen(opts.port, opts.host, opts.nodeSockets === true);
  } catch (e) {
    await front.close();
    await tracker.close();
    throw e;
  }
  let udpPort: number | undefined;
  if (opts.udp) {
    try {
      udpPort = await tracker.listenUdp(httpPort, opts.host, opts.nodeSockets === true);
    } catch (e) {
      await front.close();
      await tracker.close();
      throw e;
    }
  }
  const close = async (): Promise<void> => {
    await front.close();
    await tracker.close();
  };
  return udpPort === undefined ? { tracker, httpPort, close } : { tracker, httpPort, udpPort, close };
}
