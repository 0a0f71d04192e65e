/**
 * The UDP socket of the tracker (BEP 15): Node's UDP handle (the `udp_wrap`
 * binding a dgram.Socket is built on) used directly. dgram's send() checks
 * its arguments, looks the address up (a tick even for an IP address) and
 * builds a request per packet; for a 98-byte announce and one reply that was
 * about an eighth of the CPU a UDP announce cost. Here a reply is one call
 * into the handle. When the binding is missing or not of the shape used
 * here, or the bind fails (dgram then fails the same way and names the
 * error as usual), node:dgram serves (test/tracker/server.test.ts runs both).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';

export interface UdpEndpoint {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): void;
  close(): Promise<void>;
}

/** What each datagram is given to: its bytes and where it came from. */
export type OnDatagram = (msg: Buffer, address: string, port: number) => void;

export async function bindUdp(host: string, port: number, onDatagram: OnDatagram, useDgram = false): Promise<UdpEndpoint> {
  const b = useDgram ? undefined : udpBindings();
  return (b && bindHandle(b, host, port, onDatagram)) ?? bindDgram(host, port, onDatagram);
}

async function bindDgram(host: string, port: number, onDatagram: OnDatagram): Promise<UdpEndpoint> {
  const sock = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
  sock.on('message', (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      sock.on('error', () => {
        /* send errors (unreachable peers) are per packet; keep serving */
      });
      resolve();
    });
  });
  return {
    port: sock.address().port,
    send: (data, p, address) => sock.send(data, p, address),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** The parts of a libuv UDP handle object used here (node/src/udp_wrap.cc). */
interface UdpHandle {
  onmessage: (nread: number, handle: UdpHandle, buf: Buffer | undefined, rinfo: { address: string; port: number } | undefined) => void;
  bind(host: string, port: number, flags: number): number;
  bind6(host: string, port: number, flags: number): number;
  recvStart(): number;
  getsockname(out: { port?: number }): number;
  send(req: { list?: Uint8Array[] }, list: Uint8Array[], count: number, port: number, address: string, hasCallback: boolean): number;
  send6(req: { list?: Uint8Array[] }, list: Uint8Array[], count: number, port: number, address: string, hasCallback: boolean): number;
  close(): void;
}

interface UdpBindings {
  readonly UDP: new () => UdpHandle;
  readonly SendWrap: new () => { list?: Uint8Array[] };
}

let cached: UdpBindings | null | undefined;

export function udpBindings(): UdpBindings | undefined {
  if (cached === undefined) {
    cached = null;
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    try {
      const u = typeof binding === 'function' ? binding.call(process, 'udp_wrap') : undefined;
      const UDP = u?.['UDP'] as ((...a: unknown[]) => unknown) & { prototype: Record<string, unknown> } | undefined;
      if (typeof UDP === 'function' && typeof u!['SendWrap'] === 'function' && ['bind', 'bind6', 'recvStart', 'getsockname', 'send', 'send6', 'close'].every((m) => typeof UDP.prototype[m] === 'function')) {
        cached = u as unknown as UdpBindings;
      }
    } catch {
      // Not offered by this Node: dgram serves.
    }
  }
  return cached ?? undefined;
}

function bindHandle(b: UdpBindings, host: string, port: number, onDatagram: OnDatagram): UdpEndpoint | undefined {
  const family = isIP(host);
  if (family === 0) return undefined;
  const handle = new b.UDP();
  handle.onmessage = (nread, _h, buf, rinfo) => {
    // A negative count is a receive error (dgram emits it as 'error'; the tracker ignores those).
    if (nread >= 0 && buf && rinfo) onDatagram(buf, rinfo.address, rinfo.port);
  };
  if ((family === 6 ? handle.bind6(host, port, 0) : handle.bind(host, port, 0)) !== 0 || handle.recvStart() !== 0) {
    handle.close();
    return undefined;
  }
  const out: { port?: number } = {};
  handle.getsockname(out);
  return {
    port: out.port ?? port,
    send: (data, p, address) => {
      const req = new b.SendWrap();
      const list = [data];
      // Held by the request in case the packet goes out later (the handle's queue); an error is per packet, as with dgram.
      req.list = list;
      if (family === 6) handle.send6(req, list, 1, p, address, false);
      else handle.send(req, list, 1, p, address, false);
    },
    close: async () => handle.close(),
  };
}
