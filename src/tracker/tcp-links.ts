/**
 * The TCP connections under `isosync tracker`'s HTTP front end (lean-http.ts).
 *
 * A tracker answers each HTTP announce on a connection of its own (clients
 * and opentracker close it after the reply), so the cost of a connection is
 * most of the cost of an announce. A net.Socket is a Duplex stream with two
 * stream states, listeners and ticks around the libuv handle; for a request
 * of a few hundred bytes and one reply, that machinery took about 140 us of
 * CPU per connection, where opentracker's whole announce takes about 50. So
 * the tracker drives Node's TCP handles directly (the `tcp_wrap` and
 * `stream_wrap` bindings every net.Socket is built on): accept, read, one
 * write, close; about 55 us a connection, measured the same way.
 *
 * Those bindings are Node's internals (reached through `process.binding`,
 * which Node still allows for them): when they are missing or not of the
 * shape used here, or the host is a name rather than an address, or the
 * bind fails (node:net then fails the same way and names the error as
 * usual), `listenLinks` uses node:net, whose behaviour is the same
 * (test/tracker/lean-http.test.ts runs both).
 */
import net from 'node:net';

/** One connection, as the HTTP front end sees it. */
export interface Link {
  /** The peer's address, undefined if unknown. */
  readonly remoteAddress: string | undefined;
  /** Bytes handed to write() that the kernel has not taken yet. */
  readonly queued: number;
  write(data: Buffer): void;
  /**
   * Writes `data` then closes. With `linger`, the sending side is shut down and the connection
   * stays until the peer closes it or destroy() is called (bytes still coming would otherwise
   * turn the close into a reset that can lose the reply); without, it is closed once written.
   */
  end(data: Buffer, linger: boolean): void;
  destroy(): void;
  pause(): void;
  resume(): void;
}

/** What happens on connections; `S` is the front end's state for one. */
export interface LinkEvents<S> {
  opened(link: Link): S;
  received(state: S, data: Buffer): void;
  /** The queued bytes were all written. */
  drained(state: S): void;
  closed(state: S): void;
}

export interface Listening {
  readonly port: number;
  /** Stops accepting; open connections are left to the caller. */
  close(): Promise<void>;
}

export async function listenLinks<S>(host: string, port: number, events: LinkEvents<S>, useNet = false): Promise<Listening> {
  const b = useNet ? undefined : bindings();
  return (b && listenHandles(b, host, port, events)) ?? listenNet(host, port, events);
}

// ---- node:net ----

async function listenNet<S>(host: string, port: number, events: LinkEvents<S>): Promise<Listening> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const link: Link = {
      get remoteAddress() {
        return socket.remoteAddress;
      },
      get queued() {
        return socket.writableLength;
      },
      write: (d) => socket.write(d),
      end: (d) => socket.end(d),
      destroy: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    };
    const state = events.opened(link);
    socket.on('data', (d: Buffer) => events.received(state, d));
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => events.drained(state));
    socket.on('close', () => events.closed(state));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

// ---- Node's TCP handles ----

/** The parts of a libuv TCP handle object used here (node/src/tcp_wrap.cc, stream_base.cc). */
interface TcpHandle {
  onconnection: (status: number, client: TcpHandle | undefined) => void;
  onread: (this: TcpHandle, buf: ArrayBuffer | undefined) => void;
  link?: HandleLink<unknown>;
  bind(host: string, port: number): number;
  bind6(host: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: { port?: number }): number;
  getpeername(out: { address?: string }): number;
  setNoDelay(on: boolean): number;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  shutdown(req: object): number;
  close(): void;
}

interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  buffer: Buffer;
  link: HandleLink<unknown>;
}

interface Bindings {
  readonly TCP: new (type: number) => TcpHandle;
  readonly SERVER: number;
  readonly WriteWrap: new () => WriteReq;
  readonly ShutdownWrap: new () => { handle: TcpHandle; oncomplete: () => void };
  readonly state: Int32Array;
  readonly READ_BYTES: number;
  readonly BUFFER_OFFSET: number;
  readonly WRITE_WAS_ASYNC: number;
}

let cached: Bindings | null | undefined;

/** Node's TCP bindings, or undefined when this Node does not offer them in the shape used here. */
export function bindings(): Bindings | undefined {
  if (cached === undefined) cached = loadBindings() ?? null;
  return cached ?? undefined;
}

function loadBindings(): Bindings | undefined {
  const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
  if (typeof binding !== 'function') return undefined;
  try {
    const tcp = binding.call(process, 'tcp_wrap');
    const stream = binding.call(process, 'stream_wrap');
    const constants = tcp['constants'] as Record<string, unknown> | undefined;
    const state = stream['streamBaseState'];
    const b = {
      TCP: tcp['TCP'], SERVER: constants?.['SERVER'], WriteWrap: stream['WriteWrap'], ShutdownWrap: stream['ShutdownWrap'], state,
      READ_BYTES: stream['kReadBytesOrError'], BUFFER_OFFSET: stream['kArrayBufferOffset'], WRITE_WAS_ASYNC: stream['kLastWriteWasAsync'],
    };
    const shaped = typeof b.TCP === 'function' && typeof b.WriteWrap === 'function' && typeof b.ShutdownWrap === 'function' && state instanceof Int32Array &&
      [b.SERVER, b.READ_BYTES, b.BUFFER_OFFSET, b.WRITE_WAS_ASYNC].every((n) => typeof n === 'number') &&
      ['bind', 'bind6', 'listen', 'getpeername', 'getsockname', 'readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'setNoDelay'].every((m) => typeof (b.TCP as { prototype: Record<string, unknown> }).prototype[m] === 'function');
    return shaped ? (b as unknown as Bindings) : undefined;
  } catch {
    return undefined;
  }
}

/** Listens through Node's TCP handles; undefined when it cannot (node:net then tries, and names the error as usual). */
function listenHandles<S>(b: Bindings, host: string, port: number, events: LinkEvents<S>): Listening | undefined {
  const family = net.isIP(host);
  if (family === 0) return undefined;
  const server = new b.TCP(b.SERVER);
  if ((family === 6 ? server.bind6(host, port, 0) : server.bind(host, port)) !== 0 || server.listen(511) !== 0) {
    server.close();
    return undefined;
  }
  server.onconnection = (s, client) => {
    if (s !== 0 || !client) return;
    client.setNoDelay(true);
    const link = new HandleLink<S>(b, client, events);
    link.state = events.opened(link);
    client.link = link as HandleLink<unknown>;
    client.onread = onRead;
    if (client.readStart() !== 0) link.destroy();
  };
  const out: { port?: number } = {};
  server.getsockname(out);
  return {
    port: out.port ?? port,
    close: async () => {
      // Closed handles call nothing; a no-op rather than null in case one accept was already on its way.
      server.onconnection = () => undefined;
      server.close();
    },
  };
}

/** Called by the handle (`this`) for each read: the byte count (or a negative libuv status) is in the shared state array. */
function onRead(this: TcpHandle, buf: ArrayBuffer | undefined): void {
  const link = this.link;
  if (!link) return;
  const n = link.b.state[link.b.READ_BYTES]!;
  if (n > 0 && buf) link.events.received(link.state, Buffer.from(buf, link.b.state[link.b.BUFFER_OFFSET]!, n));
  // End of stream or error: as node:net without half-open, the connection ends once its replies are written.
  else if (n < 0) link.closeWhenWritten();
}

function afterWrite(this: WriteReq, status: number): void {
  const link = this.link;
  link.queued -= this.buffer.length;
  if (status < 0) link.destroy();
  else if (link.queued === 0) {
    if (link.ending) link.destroy();
    else link.events.drained(link.state);
  }
}

function afterShutdown(): void {
  // Nothing to do: the peer's close (a read of end of stream) or destroy() closes the handle.
}

class HandleLink<S> implements Link {
  state!: S;
  queued = 0;
  /** Close once the queued bytes are written. */
  ending = false;
  private closed = false;
  private address: string | undefined | null = null;

  constructor(
    readonly b: Bindings,
    private readonly handle: TcpHandle,
    readonly events: LinkEvents<S>,
  ) {}

  get remoteAddress(): string | undefined {
    if (this.address === null) {
      const out: { address?: string } = {};
      this.address = this.handle.getpeername(out) === 0 ? out.address : undefined;
    }
    return this.address;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = afterWrite;
    req.async = false;
    // Held by the request until the kernel has taken it.
    req.buffer = data;
    req.link = this as HandleLink<unknown>;
    if (this.handle.writeBuffer(req, data) !== 0) this.destroy();
    else if (this.b.state[this.b.WRITE_WAS_ASYNC]) this.queued += data.length;
  }

  end(data: Buffer, linger: boolean): void {
    this.write(data);
    if (this.closed) return;
    if (!linger) return this.closeWhenWritten();
    // Shut down after the queued writes; keep reading (and discarding) until the peer closes.
    const req = new this.b.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = afterShutdown;
    if (this.handle.shutdown(req) !== 0) this.destroy();
  }

  closeWhenWritten(): void {
    if (this.queued === 0) this.destroy();
    else this.ending = true;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    this.events.closed(this.state);
  }

  pause(): void {
    if (!this.closed) this.handle.readStop();
  }

  resume(): void {
    if (!this.closed) this.handle.readStart();
  }
}
