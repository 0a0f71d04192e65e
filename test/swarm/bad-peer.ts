/**
 * A misbehaving BitTorrent peer in the test's own process, on 127.0.0.1: it
 * claims every piece and sends corrupt blocks (one flipped byte, or random
 * bytes; every block or only some), garbage instead of a handshake, or
 * nothing at all after unchoking.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import Wire from 'bittorrent-protocol';

export type Mode = 'corrupt' | 'garbage' | 'stall';

export interface BadPeerOptions {
  /** Which blocks a 'corrupt' peer lies about (by absolute offset and length); default every block. */
  readonly lieAbout?: (offset: number, length: number) => boolean;
  /** Lies with random bytes instead of one flipped byte. */
  readonly random?: boolean;
}

/** A TCP server on 127.0.0.1 that hands each connection to `onSocket`; `close` destroys every connection. */
export function socketServer(onSocket: (socket: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** An incoming BitTorrent wire over `socket` (errors ignored: the test judges by what the other side sees). */
export function incomingWire(socket: net.Socket): Wire {
  const wire = new Wire('tcpIncoming', 0);
  socket.on('data', (d: Buffer) => wire.write(d));
  wire.on('data', (d: Uint8Array) => socket.writable && socket.write(d));
  socket.on('close', () => wire.destroy());
  wire.on('error', () => undefined);
  return wire;
}

/** A peer that claims every piece and misbehaves as `mode` says. */
export function badPeer(mode: Mode, infoHash: Uint8Array, pieceLength: number, image: Buffer, opts: BadPeerOptions = {}): Promise<{ port: number; close: () => Promise<void>; requests: () => number; lies: () => number }> {
  let requests = 0;
  let lies = 0;
  const listening = socketServer((socket) => {
    if (mode === 'garbage') {
      // A handshake-sized burst of random bytes, then more of it.
      socket.write(randomBytes(68));
      const t = setInterval(() => socket.writable && socket.write(randomBytes(4096)), 50);
      socket.on('close', () => clearInterval(t));
      return;
    }
    const wire = incomingWire(socket);
    wire.on('handshake', () => {
      wire.handshake(infoHash, Buffer.from(`-XX0001-${mode.padEnd(12, '0')}`), { fast: true });
      if (wire.hasFast) wire.haveAll();
      else wire.bitfield(new Uint8Array(Math.ceil(image.length / pieceLength / 8)).fill(0xff));
    });
    wire.on('interested', () => wire.unchoke());
    wire.on('request', (i: number, off: number, len: number, respond: (err: Error | null, b?: Uint8Array) => void) => {
      requests++;
      if (mode === 'stall') return; // never answers
      const at = i * pieceLength + off;
      const block = Buffer.from(image.subarray(at, at + len));
      if (opts.lieAbout?.(at, len) ?? true) {
        lies++;
        if (opts.random) block.set(randomBytes(block.length));
        else block[0] = block[0]! ^ 0xff; // one wrong byte per block
      }
      respond(null, block);
    });
  });
  return listening.then((l) => ({ ...l, requests: () => requests, lies: () => lies }));
}
