/**
 * Peer discovery beyond trackers for one running command: the DHT (on unless
 * `--no-dht`) and LSD (only with `--lsd`). It announces the torrents we
 * serve and reports peers for the torrents we want; it never connects to
 * anyone itself (the swarm's peer set does).
 *
 * Private torrents (BEP 27) are never announced or looked up here: their
 * peers come from their trackers only.
 *
 * Bootstrap routers: `--dht-bootstrap` when given, else $ISOSYNC_DHT_BOOTSTRAP
 * (comma-separated HOST:PORT; empty means none: the test suite sets it so),
 * else the public routers in DEFAULT_BOOTSTRAP; plus the nodes the catalog
 * kept from the last run.
 */
import { EventEmitter } from 'node:events';
import { infoHashBytes, type InfoHash } from '../torrent/info-hash.js';
import { ignoreWarnings, type WarningSink } from '../core/warnings.js';
import { closeWithState, Dht, DEFAULT_BOOTSTRAP, startWithState, type DhtAddress, type DhtStateStore } from './dht.js';
import { Lsd } from './lsd.js';

/** Re-announce to the DHT this often: BEP 5 peers expire after about 30 minutes. */
export const DHT_REANNOUNCE_MS = 15 * 60_000;
/** Look a wanted torrent up again this often while we still want peers. */
export const DHT_RELOOKUP_MS = 60_000;

export interface DiscoveryOptions {
  /** Torrents we seed (announced), with the TCP port peers reach us on. */
  readonly serving: readonly { infoHash: InfoHash; private: boolean }[];
  /** Torrents we want peers for (looked up). */
  readonly wanted: readonly { infoHash: InfoHash; private: boolean }[];
  readonly tcpPort: number;
  /** Address to bind UDP on (the same as the peer listener's). */
  readonly host: string;
  readonly dht: false | { readonly port?: number; readonly bootstrap?: readonly string[]; readonly store?: DhtStateStore };
  readonly lsd: boolean;
  /** Torrents are added later with serve() (a server that seeds what it finds): start the DHT even with none yet. */
  readonly later?: boolean;
  /** Look wanted torrents up again this often (default DHT_RELOOKUP_MS). */
  readonly relookupMs?: number;
  /** Environment for $ISOSYNC_DHT_BOOTSTRAP (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly onWarning?: WarningSink;
}

export interface DiscoveryEvents {
  peer: [peer: DhtAddress, infoHash: InfoHash, via: 'dht' | 'lsd'];
}

/** The routers to start from when none are given on the command line. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const v = env['ISOSYNC_DHT_BOOTSTRAP'];
  if (v === undefined) return DEFAULT_BOOTSTRAP;
  return v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export class Discovery extends EventEmitter<DiscoveryEvents> {
  private dhtNode: Dht | undefined;
  private lsdNode: Lsd | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private ready = false;
  /** What we announce to the DHT: infohash -> the TCP port it is served on. */
  private readonly served = new Map<InfoHash, number>();

  private constructor(private readonly o: DiscoveryOptions) {
    super();
  }

  /** Starts what is enabled; a part that cannot start is a warning, not a failure. */
  static async start(o: DiscoveryOptions): Promise<Discovery> {
    const d = new Discovery(o);
    const serving = o.serving.filter((t) => !t.private).map((t) => t.infoHash);
    const wanted = o.wanted.filter((t) => !t.private).map((t) => t.infoHash);
    for (const h of serving) d.served.set(h, o.tcpPort);
    if (serving.length + wanted.length === 0 && !o.later) return d;
    if (o.dht) await d.startDht(o.dht, wanted);
    if (o.lsd) {
      try {
        d.lsdNode = await Lsd.start({ port: o.tcpPort, infoHashes: [...new Set([...serving, ...wanted])], ...(o.onWarning ? { onWarning: o.onWarning } : {}) });
        d.lsdNode.on('peer', (p, h) => d.emit('peer', p, h, 'lsd'));
      } catch (e) {
        (o.onWarning ?? ignoreWarnings)({ code: 'LSD_TROUBLE', source: 'LSD', detail: (e as Error).message });
      }
    }
    return d;
  }

  /** The DHT's UDP port, when it runs. */
  get dhtPort(): number | undefined {
    return this.dhtNode?.port;
  }

  /** Peers may still come: the DHT knows nodes to ask, or LSD listens. */
  get searching(): boolean {
    return (this.dhtNode?.connected ?? false) || this.lsdNode !== undefined;
  }

  /** Announces `torrent`, served on TCP `port`, to the DHT from now on (never a private one). */
  serve(torrent: { infoHash: InfoHash; private: boolean }, port: number): void {
    if (torrent.private || this.closed) return;
    this.served.set(torrent.infoHash, port);
    if (this.ready && this.dhtNode) void this.dhtNode.announce(infoHashBytes(torrent.infoHash), port);
  }

  /** Stops announcing `infoHash` (its entries in the DHT expire by themselves). */
  unserve(infoHash: InfoHash): void {
    this.served.delete(infoHash);
  }

  private async startDht(c: Exclude<DiscoveryOptions['dht'], false>, wanted: InfoHash[]): Promise<void> {
    const bootstrap = c.bootstrap ?? bootstrapFromEnv(this.o.env);
    const opts = { port: c.port ?? this.o.tcpPort, bindHost: this.o.host, bootstrap, ...(this.o.onWarning ? { onWarning: this.o.onWarning } : {}) };
    try {
      this.dhtNode = c.store ? await startWithState(c.store, opts) : await Dht.start(opts);
    } catch (e) {
      // The port is taken (another client's DHT): any free port will do.
      try {
        this.dhtNode = c.store ? await startWithState(c.store, { ...opts, port: 0 }) : await Dht.start({ ...opts, port: 0 });
      } catch {
        (this.o.onWarning ?? ignoreWarnings)({ code: 'DHT_TROUBLE', source: 'DHT', detail: `no DHT node: ${(e as Error).message}` });
        return;
      }
    }
    const node = this.dhtNode;
    node.on('peer', (p, h) => {
      if (wanted.includes(h)) this.emit('peer', p, h, 'dht');
    });
    const announce = () => {
      for (const [h, port] of this.served) void node.announce(infoHashBytes(h), port);
    };
    const lookup = () => {
      for (const h of wanted) void node.lookup(infoHashBytes(h));
    };
    void node.ready().then(() => {
      if (this.closed) return;
      this.ready = true;
      announce();
      lookup();
    });
    this.timers.push(setInterval(announce, DHT_REANNOUNCE_MS));
    if (wanted.length > 0) this.timers.push(setInterval(lookup, this.o.relookupMs ?? DHT_RELOOKUP_MS));
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const store = this.o.dht ? this.o.dht.store : undefined;
    if (this.dhtNode) await (store ? closeWithState(this.dhtNode, store) : this.dhtNode.close());
    await this.lsdNode?.close();
  }
}
