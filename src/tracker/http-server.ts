/**
 * A standalone tracker server (`isosync tracker`): HTTP through the lean
 * front end of lean-http.ts, answering only the tracker paths (404
 * elsewhere), with timeouts that drop a client sending a request slowly,
 * plus BEP 15 on UDP when asked.
 */
import type { AddressInfo, Server } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { LeanHttpServer } from './lean-http.js';
import { Tracker, type TrackerOptions } from './server.js';

/** A request's headers must arrive within this; a tracker request is one short line. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections are closed after this (a client re-announces in minutes, not seconds). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface RunningTracker {
  readonly tracker: Tracker;
  readonly server: Server;
  readonly httpPort: number;
  readonly udpPort?: number;
  close(): Promise<void>;
}

export interface StartTrackerOptions extends TrackerOptions {
  host: string;
  port: number;
  udp?: boolean;
  headersTimeoutMs?: number;
}

/**
 * V8's default interrupt budget (bytes of bytecode run between tiering checks). bin/isosync sets
 * 16 times this, so that a command lasting seconds does not spend CPU optimizing code it runs
 * briefly; a tracker runs for days, and with a connection per announce node:net's own code then
 * stayed unoptimized for a long time: 350 us of CPU per announce, against 190-210 at the
 * default (bench/tracker-bench.ts, same run). The budget is read at each tiering check, so
 * setting it here applies to all code from now on.
 */
const DEFAULT_INTERRUPT_BUDGET = 67_584;

export async function startTracker(opts: StartTrackerOptions): Promise<RunningTracker> {
  setFlagsFromString(`--interrupt-budget=${DEFAULT_INTERRUPT_BUDGET}`);
  const tracker = new Tracker(opts);
  const front = new LeanHttpServer(tracker, { headersTimeoutMs: opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS });
  const server = front.server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await front.close();
    await tracker.close();
    throw e;
  }
  const httpPort = (server.address() as AddressInfo).port;
  let udpPort: number | undefined;
  if (opts.udp) {
    try {
      udpPort = await tracker.listenUdp(httpPort, opts.host);
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
  return udpPort === undefined ? { tracker, server, httpPort, close } : { tracker, server, httpPort, udpPort, close };
}
