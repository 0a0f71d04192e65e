/**
 * A TCP relay on 127.0.0.1 in front of a real server, for tests that must
 * see whether (and how much) a client talked to it: it counts the
 * connections it took and the bytes the server sent through it.
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

export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  let connections = 0;
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
    upstream.pipe(client);
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
