/**
 * UDP tracker requests, client side (BEP 15).
 *
 * One UdpTrackerClient per Announcer owns at most two sockets (IPv4, IPv6),
 * bound lazily to ephemeral ports and unref'd, so they never hold a process
 * open. Each exchange sends a request with a fresh random transaction id and
 * waits for a reply from the tracker's address carrying that id; replies with
 * another id or from another address are ignored (and mentioned in the
 * timeout message). A connection id is reused for BEP 15's one minute.
 *
 * Retransmission: BEP 15 waits 15·2^n seconds (n up to 8, an hour in all),
 * which suits a daemon, not a command a user waits for. Here each exchange
 * gets a budget (`timeoutMs`, 15 s by default in the Announcer) spent over
 * UDP_ATTEMPTS sends that keep BEP 15's doubling: t/7, 2t/7, 4t/7.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import { IsosyncError, TrackerRefusal } from '../errors.js';
import {
  ACTION,
  decodeAnnounceReply,
  decodeConnectReply,
  decodeErrorReply,
  decodeScrapeReply,
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  replyHeader,
  type UdpAnnounceFields,
  type UdpAnnounceReply,
} from './udp-wire.js';

/** Sends per exchange; with doubling waits, 3 sends spend the budget as 1 + 2 + 4 sevenths. */
export const UDP_ATTEMPTS = 3;
/** BEP 15: "a client can use a connection ID until one minute after it has received it". */
export const CONNECTION_ID_TTL_MS = 60_000;

interface Pending {
  readonly host: string;
  readonly port: number;
  readonly expect: number;
  resolve(msg: Buffer): void;
  /** Why replies from this tracker were ignored, for the timeout error. */
  ignored?: Ignored;
}

/** A packet from the tracker's address that answered nothing we asked. */
interface Ignored {
  readonly kind: 'malformed' | 'unknown-transaction';
  readonly text: string;
}

function cancelled(): IsosyncError {
  return new IsosyncError('CANCELLED', 'Cannot finish the announce: it was cancelled');
}

export function parseUdpUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot use UDP tracker ${JSON.stringify(url)}: not a valid URL`, { url });
  }
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port < 1 || port > 65535) throw new IsosyncError('BAD_ARGUMENT', `Cannot use UDP tracker ${JSON.stringify(url)}: it needs a host and a port`, { url });
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

export class UdpTrackerClient {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private readonly connections = new Map<string, { id: bigint; at: number }>();
  private closed = false;

  async announce(url: string, fields: Omit<UdpAnnounceFields, 'connectionId' | 'transactionId'>, timeoutMs: number, signal?: AbortSignal): Promise<UdpAnnounceReply & { family: 4 | 6 }> {
    const { address, family, port } = await this.resolve(url);
    const reply = await this.withConnection(address, port, family, timeoutMs, signal, (connectionId, transactionId) =>
      encodeAnnounce({ ...fields, connectionId, transactionId }),
      ACTION.announce,
    );
    return { ...decodeAnnounceReply(reply, family), family };
  }

  async scrape(url: string, infoHash: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<{ complete: number; incomplete: number; downloaded: number }> {
    const { address, family, port } = await this.resolve(url);
    const reply = await this.withConnection(address, port, family, timeoutMs, signal, (c, t) => encodeScrape(c, t, [infoHash]), ACTION.scrape);
    const [e] = decodeScrapeReply(reply, 1);
    return { complete: e!.seeders, incomplete: e!.leechers, downloaded: e!.completed };
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.resolve(Buffer.alloc(0));
    this.pending.clear();
  }

  private async resolve(url: string): Promise<{ address: string; family: 4 | 6; port: number }> {
    const { host, port } = parseUdpUrl(url);
    let r: { address: string; family: number };
    try {
      r = await lookup(host);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      throw new IsosyncError('NETWORK', `Cannot resolve ${JSON.stringify(host)}: ${errno ?? (e as Error).message}`, { url, ...(errno ? { errno } : {}) }, { cause: e });
    }
    return { address: r.address, family: r.family === 6 ? 6 : 4, port };
  }

  /** Runs one request with a valid connection id; a tracker error about the id drops the cached one and retries once. */
  private async withConnection(
    host: string,
    port: number,
    family: 4 | 6,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    build: (connectionId: bigint, transactionId: number) => Uint8Array,
    action: number,
  ): Promise<Uint8Array> {
    const key = `${host}:${port}`;
    for (let round = 0; round < 2; round++) {
      const cached = this.connections.get(key);
      const fresh = !cached || Date.now() - cached.at >= CONNECTION_ID_TTL_MS;
      let id: bigint;
      if (fresh) {
        const reply = await this.exchange(host, port, family, timeoutMs, signal, (t) => encodeConnect(t), ACTION.connect);
        id = decodeConnectReply(reply);
        this.connections.set(key, { id, at: Date.now() });
      } else id = cached!.id;
      try {
        return await this.exchange(host, port, family, timeoutMs, signal, (t) => build(id, t), action);
      } catch (e) {
        if (fresh || !(e instanceof TrackerRefusal)) throw e;
        this.connections.delete(key);
      }
    }
    throw new IsosyncError('INTERNAL', 'Internal error: the connection-id retry loop ended without an answer');
  }

  /** Sends and re-sends one request until a matching reply arrives; resolves with the reply bytes. */
  private async exchange(
    host: string,
    port: number,
    family: 4 | 6,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    build: (transactionId: number) => Uint8Array,
    action: number,
  ): Promise<Uint8Array> {
    const sock = this.socket(family);
    let ignored: Ignored | undefined;
    for (let attempt = 0; attempt < UDP_ATTEMPTS; attempt++) {
      if (this.closed || signal?.aborted) throw cancelled();
      const tid = randomInt(0, 0x1_0000_0000);
      const wait = Math.max(1, Math.round((timeoutMs * 2 ** attempt) / (2 ** UDP_ATTEMPTS - 1)));
      const msg = await new Promise<Buffer | undefined>((resolve) => {
        const done = (m: Buffer | undefined): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const p = this.pending.get(tid);
          if (p?.ignored) ignored = p.ignored;
          this.pending.delete(tid);
          resolve(m);
        };
        const onAbort = (): void => done(Buffer.alloc(0));
        const timer = setTimeout(() => done(undefined), wait);
        this.pending.set(tid, { host, port, expect: tid, resolve: (m) => done(m) });
        signal?.addEventListener('abort', onAbort, { once: true });
        sock.send(build(tid), port, host, (err) => {
          if (err) done(undefined);
        });
      });
      if (msg === undefined) continue;
      if (msg.length === 0) throw cancelled();
      const h = replyHeader(msg)!;
      if (h.action === ACTION.error) throw new TrackerRefusal(decodeErrorReply(msg));
      if (h.action !== action) throw new IsosyncError('BAD_REPLY', `Cannot read the tracker's reply: it has action ${h.action}, expected ${action}`, { action: h.action, expected: action });
      return msg;
    }
    throw new IsosyncError('TIMEOUT', `Cannot get an answer from the tracker: no valid reply within ${timeoutMs} ms (${UDP_ATTEMPTS} sends)${ignored ? `; ignored ${ignored.text}` : ''}`, {
      timeoutMs,
      ...(ignored ? { ignored: ignored.kind } : {}),
    });
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    s.on('error', () => {
      /* per-packet send errors surface as timeouts */
    });
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.bind(0);
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const h = replyHeader(msg);
    const from = `${rinfo.address}:${rinfo.port}`;
    const p = h ? this.pending.get(h.transactionId) : undefined;
    if (p && p.host === rinfo.address && p.port === rinfo.port) {
      p.resolve(msg);
      return;
    }
    // Not ours: note it on whatever is waiting for that tracker, so its timeout can say why.
    const why: Ignored = !h
      ? { kind: 'malformed', text: `a ${msg.length}-byte packet from ${from}` }
      : { kind: 'unknown-transaction', text: `a reply from ${from} with unknown transaction id ${h.transactionId}` };
    for (const q of this.pending.values()) if (q.host === rinfo.address && q.port === rinfo.port) q.ignored = why;
  }
}
