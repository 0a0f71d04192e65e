/**
 * Local typings for utp-native 2.5 (it ships none). Only what
 * src/swarm/utp.ts uses is declared: one UDP socket that listens for uTP
 * connections and dials them, each connection a Node Duplex stream.
 */
declare module 'utp-native' {
  import { EventEmitter } from 'node:events';
  import { Duplex } from 'node:stream';

  export interface Connection extends Duplex {
    remoteAddress: string;
    remotePort: number;
    setTimeout(ms: number, ontimeout?: () => void): void;
  }

  export interface UtpSocket extends EventEmitter {
    listen(port: number, host: string, onlistening?: () => void): void;
    connect(port: number, host: string): Connection;
    address(): { address: string; family: string; port: number };
    close(onclose?: () => void): void;
    unref(): void;
    on(event: 'connection', fn: (c: Connection) => void): this;
    on(event: 'error', fn: (e: Error) => void): this;
    on(event: string, fn: (...args: unknown[]) => void): this;
  }

  interface UtpModule {
    (opts?: { allowHalfOpen?: boolean }): UtpSocket;
    createServer(onconnection?: (c: Connection) => void): UtpSocket;
  }
  const utp: UtpModule;
  export default utp;
}
