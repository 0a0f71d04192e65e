/**
 * uTP (BEP 29) through utp-native: one UDP socket per swarm, on the same
 * port number as its TCP listener (as libtorrent does), that accepts uTP
 * connections and dials them. libtorrent-based clients try uTP first and
 * fall back to TCP only after a few seconds, so answering uTP saves them
 * that wait; isosync itself dials TCP first and uTP only when TCP is
 * refused (a peer behind a uTP-only setup).
 *
 * A connection is a Node Duplex stream with the socket-like surface the
 * peer link uses (peer-link.ts PeerSocket). utp-native is a native module:
 * when it is not installed or does not load, uTP is off for the process
 * (`utpAvailable`), silently: an install without it is an install without
 * uTP, as `--no-utp`; when it loads but cannot bind, the caller warns. TCP
 * is unaffected either way.
 */
import { createRequire } from 'node:module';
import type { Connection, UtpSocket } from 'utp-native';
import { IsosyncError } from '../errors.js';

type UtpFactory = typeof import('utp-native').default;

let loaded: UtpFactory | Error | undefined;

/** utp-native, or the reason it cannot be loaded (a missing or broken native build). */
function utpModule(): UtpFactory | Error {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('utp-native') as UtpFactory;
    } catch (e) {
      loaded = e instanceof Error ? e : new IsosyncError('UNSUPPORTED', `Cannot load utp-native: ${String(e)}`);
    }
  }
  return loaded;
}

export type UtpConnection = Connection;

/** Whether utp-native loads here. */
export function utpAvailable(): boolean {
  return !(utpModule() instanceof Error);
}

/** How long close() waits for connections to finish their uTP close (see close()). */
export const CLOSE_WAIT_MS = 1000;

export class UtpEndpoint {
  private constructor(private readonly socket: UtpSocket) {}

  /** Listens for uTP on UDP host:port; `onConnection` gets each accepted connection. */
  static listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<UtpEndpoint> {
    const utp = utpModule();
    if (utp instanceof Error) return Promise.reject(new IsosyncError('UNSUPPORTED', `Cannot use uTP: utp-native does not load (${utp.message})`));
    const socket = utp();
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new IsosyncError('NETWORK', `Cannot listen for uTP on UDP ${host}:${port}: ${e.message}`, { port }));
      socket.once('error', onError);
      socket.on('connection', (c: Connection) => {
        c.on('error', () => undefined);
        onConnection(c);
      });
      socket.listen(port, host, () => {
        socket.removeListener('error', onError);
        socket.on('error', () => undefined);
        resolve(new UtpEndpoint(socket));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Dials host:port over uTP from this socket; resolves once connected. */
  dial(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const c = this.socket.connect(port, host);
      const fail = (why: string) => {
        clearTimeout(timer);
        c.destroy();
        reject(new IsosyncError('NETWORK', `Cannot connect to ${host}:${port} over uTP: ${why}`, { peer: `${host}:${port}` }));
      };
      const timer = setTimeout(() => fail(`no answer in ${timeoutMs / 1000} s`), timeoutMs);
      c.once('connect', () => {
        clearTimeout(timer);
        c.removeAllListeners('error');
        c.on('error', () => undefined);
        resolve(c);
      });
      c.once('error', (e: Error) => fail(e.message));
    });
  }

  /**
   * Closes the socket once its connections are closed (the caller closes
   * them first). A uTP close waits for the peer's acknowledgement; one that
   * is gone would hold the socket for libutp's retransmit timeouts, so after
   * CLOSE_WAIT_MS the socket no longer keeps the process alive and the close
   * finishes in the background.
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.unref();
        resolve();
      }, CLOSE_WAIT_MS);
      timer.unref();
      this.socket.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
