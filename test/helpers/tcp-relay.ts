/**
 * A TCP relay on 127.0.0.1 in front of a real server, for tests that must
 * see whether (and how much) a client talked to it: it counts the
 * connections it took and the bytes the server sent through it. With
 * `rate`, what the server sends is paced to that many bytes per second in
 * total over every connection (a mirror with a slow uplink; the mixed
 * bench's pacing proxy).
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpRelay {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes the server sent to clients so far. */
  bytesFromServer(): number;
  close(): Promise<void>;
}

/** How far ahead of its rate a paced relay may send (a burst). */
const PACE_BURST_MS = 20;

export async function startTcpRelay(targetPort: number, opts: { rate?: number } = {}): Promise<TcpRelay> {
  let connections = 0;
  /** When the bytes paced so far would have left at exactly `rate`. */
  let due = 0;
  let fromServer = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer((client) => {
    connections++;
    track(client);
    const upstream = connect(targetPort, '127.0.0.1');
    track(upstream);
    upstream.on('data', (d: Buffer) => (fromServer += d.length));
    client.pipe(upstream);
    const rate = opts.rate;
    if (rate === undefined) upstream.pipe(client);
    else {
      upstream.on('data', (d: Buffer) => {
        const now = performance.now();
        due = Math.max(due, now) + (d.length * 1000) / rate;
        const wait = due - PACE_BURST_MS - now;
        if (wait <= 0) return void client.write(d);
        upstream.pause();
        setTimeout(() => {
          client.write(d);
          upstream.resume();
        }, wait);
      });
      upstream.on('end', () => setTimeout(() => client.end(), Math.max(0, due - performance.now())));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    bytesFromServer: () => fromServer,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
