/**
 * The UDP socket bittorrent-dht is given. k-rpc-socket (inside
 * bittorrent-dht) decodes every incoming packet with the `bencode` package
 * (2.0.3), which loops forever on a negative string length ("-3:"): one UDP
 * packet from anyone would hang the process. This socket hands the library
 * only packets that are exactly one well-shaped bencoded value
 * (bencodeValueEnd, isosync's own iterative scanner); the rest are dropped
 * and counted. It offers what k-rpc-socket uses of a dgram socket: the
 * message, error, listening and close events, send, bind, address, close.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { bencodeValueEnd } from '../torrent/bencode-decode.js';

/** Whether a DHT packet is one bencoded value, of sane shape, and nothing after it. */
export function wellFormedPacket(buf: Uint8Array): boolean {
  try {
    return bencodeValueEnd(buf, 0) === buf.length;
  } catch {
    return false;
  }
}

export class GuardedUdpSocket extends EventEmitter {
  private readonly udp: dgram.Socket;
  /** Packets dropped as malformed. */
  dropped = 0;

  constructor(type: 'udp4' | 'udp6' = 'udp4') {
    super();
    this.udp = dgram.createSocket(type);
    this.udp.on('message', (buf: Buffer, rinfo: dgram.RemoteInfo) => {
      if (wellFormedPacket(buf)) this.emit('message', buf, rinfo);
      else this.dropped++;
    });
    this.udp.on('error', (e) => this.emit('error', e));
    this.udp.on('listening', () => this.emit('listening'));
    this.udp.on('close', () => this.emit('close'));
  }

  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (e: Error | null) => void): void {
    this.udp.send(buf, offset, length, port, host, cb);
  }

  /** bind([port], [address], [callback]), as k-rpc passes it on. */
  bind(port?: number, address?: string | (() => void), cb?: () => void): void {
    if (typeof address === 'function') this.udp.bind(port, address);
    else this.udp.bind(port, address, cb);
  }

  address(): ReturnType<dgram.Socket['address']> {
    return this.udp.address();
  }

  close(cb?: () => void): void {
    this.udp.close(cb);
  }
}
