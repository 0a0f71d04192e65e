/**
 * A standalone tracker server (`isosync tracker`): a node:http server that
 * answers only the tracker paths (404 elsewhere), with timeouts that drop a
 * client sending a request slowly, plus BEP 15 on UDP when asked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Tracker, type TrackerOptions } from './server.js';

/** A request's headers must arrive within this; a tracker request is one short line. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections are closed after this (a client re-announces in minutes, not seconds). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface RunningTracker {
  readonly tracker: Tracker;
  readonly server: http.Server;
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

export async function startTracker(opts: StartTrackerOptions): Promise<RunningTracker> {
  const tracker = new Tracker(opts);
  const headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  // Node checks the timeouts below on this period; a short one makes slow clients go promptly.
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    if (!tracker.handle(req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not a tracker path: use /announce or /scrape\n');
  });
  server.headersTimeout = headersTimeout;
  server.requestTimeout = headersTimeout;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // A request node cannot parse: the status it deserves, then close (node's default, minus its noise).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await tracker.close();
    throw e;
  }
  const httpPort = (server.address() as AddressInfo).port;
  let udpPort: number | undefined;
  if (opts.udp) {
    try {
      udpPort = await tracker.listenUdp(httpPort, opts.host);
    } catch (e) {
      server.close();
      await tracker.close();
      throw e;
    }
  }
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await tracker.close();
  };
  return udpPort === undefined ? { tracker, server, httpPort, close } : { tracker, server, httpPort, udpPort, close };
}
