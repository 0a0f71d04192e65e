/**
 * Local Service Discovery (BEP 14) on the LAN: announces the torrents we
 * serve by IPv4 multicast and reports peers that announce the ones we want.
 * Off unless asked (`--lsd`): multicast reaches every machine of the LAN.
 *
 * BEP 14 asks for at most one announce a minute per torrent; this sends one
 * at start and then every ANNOUNCE_INTERVAL_MS (5 minutes, as libtorrent and
 * webtorrent do), plus one on demand (announceNow) when a torrent is added.
 * Our own datagrams come back through multicast loopback and are recognised
 * by their cookie. The socket binds the LSD port with SO_REUSEADDR, so
 * several clients on one machine share it.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { IsosyncError } from '../errors.js';
import { ignoreWarnings, type WarningSink } from '../core/warnings.js';
import type { InfoHash } from '../torrent/info-hash.js';
import { formatLsdAnnounce, LSD_MULTICAST_V4, LSD_PORT, parseLsdAnnounce } from './lsd-message.js';

export const ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** BEP 14: no more than one announce a minute. */
export const MIN_ANNOUNCE_GAP_MS = 60_000;

export interface LsdOptions {
  /** Our TCP port, announced to the LAN. */
  readonly port: number;
  /** Torrents we announce and listen for. */
  readonly infoHashes: readonly InfoHash[];
  /** The interface address to send multicast from (default: the system's choice). */
  readonly interfaceAddress?: string;
  /** The LSD port (6771; another only in tests of the protocol). */
  readonly lsdPort?: number;
  readonly onWarning?: WarningSink;
}

export interface LsdEvents {
  peer: [peer: { host: string; port: number }, infoHash: InfoHash];
}

export class Lsd extends EventEmitter<LsdEvents> {
  private readonly cookie = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private lastAnnounce = -Infinity;
  private readonly wanted: Set<string>;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly o: LsdOptions,
  ) {
    super();
    this.wanted = new Set(o.infoHashes);
  }

  static async start(o: LsdOptions): Promise<Lsd> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const lsd = new Lsd(socket, o);
    socket.on('message', (msg, rinfo) => lsd.onMessage(msg, rinfo.address));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new IsosyncError('NETWORK', `Cannot start local peer discovery on UDP port ${o.lsdPort ?? LSD_PORT}: ${e.message}`, {}, { cause: e })));
      socket.bind(o.lsdPort ?? LSD_PORT, () => resolve());
    });
    socket.on('error', (e) => lsd.warn(e.message));
    try {
      socket.addMembership(LSD_MULTICAST_V4, o.interfaceAddress);
      if (o.interfaceAddress) socket.setMulticastInterface(o.interfaceAddress);
      socket.setMulticastLoopback(true);
    } catch (e) {
      socket.close();
      throw new IsosyncError('NETWORK', `Cannot join the LSD multicast group ${LSD_MULTICAST_V4}: ${(e as Error).message}`, {}, { cause: e });
    }
    lsd.announceNow();
    lsd.timer = setInterval(() => lsd.announceNow(), ANNOUNCE_INTERVAL_MS);
    lsd.timer.unref();
    return lsd;
  }

  /** Sends an announce now, unless one went out less than a minute ago. */
  announceNow(now = Date.now()): boolean {
    if (now - this.lastAnnounce < MIN_ANNOUNCE_GAP_MS || this.o.infoHashes.length === 0) return false;
    this.lastAnnounce = now;
    const text = formatLsdAnnounce({ port: this.o.port, infoHashes: this.o.infoHashes, cookie: this.cookie });
    this.socket.send(text, this.o.lsdPort ?? LSD_PORT, LSD_MULTICAST_V4, (err) => {
      if (err) this.warn(`cannot send an announce: ${err.message}`);
    });
    return true;
  }

  private warn(detail: string): void {
    (this.o.onWarning ?? ignoreWarnings)({ code: 'LSD_TROUBLE', source: 'LSD', detail });
  }

  private onMessage(msg: Buffer, from: string): void {
    const a = parseLsdAnnounce(msg);
    if (!a || a.cookie === this.cookie || from === '0.0.0.0') return;
    for (const h of a.infoHashes) if (this.wanted.has(h)) this.emit('peer', { host: from, port: a.port }, h);
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
