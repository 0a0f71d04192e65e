/**
 * The mainline DHT (BEP 5) through bittorrent-dht: find peers for an
 * infohash with no tracker, announce while seeding, and BEP 44 mutable items
 * (a product's feed pointer, mutable-item.ts).
 *
 * Bootstrap: the nodes kept from the last run (the catalog's routing table,
 * library/dht-table.ts) and the configured routers. Nothing else is ever
 * contacted: the defaults (DEFAULT_BOOTSTRAP) are used only when the caller
 * passes them, which the CLI does and tests never do.
 *
 * This is a source of peer addresses: it emits them and does nothing with
 * them. The swarm's peer set decides whom to connect to. Library warnings
 * (unreachable nodes, malformed packets) become `warning` events; a throw
 * inside bittorrent-dht's callbacks cannot crash the process because every
 * callback here only records and emits.
 */
import { EventEmitter } from 'node:events';
import type DHT from 'bittorrent-dht';
import { IsosyncError } from '../errors.js';
import { GuardedUdpSocket } from './guarded-udp.js';
import { ignoreWarnings, type WarningSink } from '../core/warnings.js';
import { infoHashFromBytes, type InfoHash } from '../torrent/info-hash.js';
import { decodeFeedPointer, encodeFeedPointer, mutableTarget, productSalt, signingInput, verifyItemSignature, type FeedPointer } from './mutable-item.js';

/** Well-known public routers (what libtorrent and Transmission start from); used only when configured. */
export const DEFAULT_BOOTSTRAP: readonly string[] = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'];

/** Nodes kept between runs: enough to rejoin without the routers, few enough to ping quickly. */
export const MAX_SAVED_NODES = 200;

export interface DhtAddress {
  readonly host: string;
  readonly port: number;
}

export interface DhtOptions {
  /** UDP port (0: any free port). */
  readonly port: number;
  /** Address to bind (default 0.0.0.0). Tests bind 127.0.0.1. */
  readonly bindHost?: string;
  /** "host:port" routers to start from (none by default). */
  readonly bootstrap?: readonly string[];
  /** Nodes saved from an earlier run. */
  readonly savedNodes?: readonly DhtAddress[];
  /** A 20-byte node id kept between runs (random when absent). */
  readonly nodeId?: Uint8Array;
  /** Trouble the node recovers from (unreachable nodes, malformed packets, failed walks). */
  readonly onWarning?: WarningSink;
}

export interface DhtEvents {
  peer: [peer: DhtAddress, infoHash: InfoHash];
}

export class Dht extends EventEmitter<DhtEvents> {
  private constructor(
    private readonly dht: DHT,
    private readonly onWarning: WarningSink,
  ) {
    super();
  }

  private warn(detail: string): void {
    this.onWarning({ code: 'DHT_TROUBLE', source: 'DHT', detail });
  }

  /** Starts a DHT node, listening once this resolves. */
  static async start(o: DhtOptions): Promise<Dht> {
    const bootstrap = [...(o.savedNodes ?? []).map((n) => `${n.host}:${n.port}`), ...(o.bootstrap ?? [])];
    // Loaded with the first node: most runs start none (~5 MiB of peak RSS with its dependencies).
    const { default: DHTClass } = await import('bittorrent-dht');
    const dht = new DHTClass({
      bootstrap,
      // Every incoming packet is checked by isosync's bencode scanner before the library decodes it (guarded-udp.ts).
      socket: new GuardedUdpSocket(),
      verify: (sig, msg, k) => verifyItemSignature(sig, msg, k),
      ...(o.nodeId ? { nodeId: Buffer.from(o.nodeId) } : {}),
    });
    const self = new Dht(dht, o.onWarning ?? ignoreWarnings);
    dht.on('warning', (e) => self.warn(e.message));
    dht.on('peer', (peer, infoHash) => self.emit('peer', { host: peer.host, port: peer.port }, infoHashFromBytes(infoHash)));
    await new Promise<void>((resolve, reject) => {
      // A node that cannot bind is destroyed: its socket and timers would keep the process alive.
      const onError = (e: Error) => dht.destroy(() => reject(new IsosyncError('NETWORK', `Cannot start the DHT on UDP port ${o.port}: ${e.message}`, { port: o.port }, { cause: e })));
      dht.once('error', onError);
      dht.listen(o.port, o.bindHost ?? '0.0.0.0', () => {
        dht.removeListener('error', onError);
        dht.on('error', (e) => self.warn(e.message));
        resolve();
      });
    });
    return self;
  }

  get port(): number {
    return this.dht.address().port;
  }

  get nodeId(): Uint8Array {
    return new Uint8Array(this.dht.nodeId);
  }

  /** Resolves once the first round of bootstrapping is done (at once with nothing to bootstrap from). */
  ready(): Promise<void> {
    if (this.dht.ready) return Promise.resolve();
    return new Promise((resolve) => this.dht.once('ready', () => resolve()));
  }

  /** Whether the routing table holds any node (with none, lookups and announces reach nobody). */
  get connected(): boolean {
    return this.dht.toJSON().nodes.length > 0;
  }

  /** Asks the DHT for peers of `infoHash`: they arrive as `peer` events; resolves when the walk is done. */
  lookup(infoHash: Uint8Array): Promise<void> {
    if (!this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.dht.lookup(Buffer.from(infoHash), (err) => {
        if (err) this.warn(`lookup of ${hex(infoHash)}: ${err.message}`);
        resolve();
      });
    });
  }

  /** Tells the nodes nearest `infoHash` that we serve it on TCP `port`. */
  announce(infoHash: Uint8Array, port: number): Promise<void> {
    if (!this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.dht.announce(Buffer.from(infoHash), port, (err) => {
        if (err) this.warn(`announce of ${hex(infoHash)}: ${err.message}`);
        resolve();
      });
    });
  }

  /** Adds a node (e.g. a peer's DHT port from its handshake, BEP 5 "port" message). */
  addNode(node: DhtAddress): void {
    this.dht.addNode({ host: node.host, port: node.port });
  }

  /** The routing table, to keep for the next run. */
  nodes(): DhtAddress[] {
    return this.dht.toJSON().nodes.slice(0, MAX_SAVED_NODES).map((n) => ({ host: n.host, port: n.port }));
  }

  /**
   * Stores a product's feed pointer under the publisher's key (BEP 44/46).
   * `sign` signs with the publisher's Ed25519 private key. Resolves with the
   * number of nodes that took it.
   */
  putFeedPointer(o: { publicKey: Uint8Array; product: string; seq: number; pointer: FeedPointer; sign: (message: Uint8Array) => Uint8Array }): Promise<number> {
    const salt = productSalt(o.product);
    const v = encodeFeedPointer(o.pointer);
    const sig = o.sign(signingInput(o.seq, v, salt));
    return new Promise((resolve, reject) => {
      this.dht.put(
        { k: Buffer.from(o.publicKey), seq: o.seq, salt: Buffer.from(salt), v: toBuffers(v), sig: Buffer.from(sig) },
        (err, _hash, n) => {
          if (err) reject(new IsosyncError('NETWORK', `Cannot store the feed pointer of ${JSON.stringify(o.product)} in the DHT: ${err.message}`, { product: o.product }));
          else resolve(n);
        },
      );
    });
  }

  /** The newest feed pointer of a product signed by `publicKey`, or undefined when no node has one. */
  getFeedPointer(publicKey: Uint8Array, product: string): Promise<{ seq: number; pointer: FeedPointer } | undefined> {
    const salt = productSalt(product);
    const target = mutableTarget(publicKey, salt);
    return new Promise((resolve, reject) => {
      this.dht.get(Buffer.from(target), { salt: Buffer.from(salt), cache: false }, (err, res) => {
        if (err) return reject(new IsosyncError('NETWORK', `Cannot look up the feed of ${JSON.stringify(product)} in the DHT: ${err.message}`, { product }));
        if (!res || !res.k || Buffer.compare(res.k, publicKey) !== 0) return resolve(undefined);
        try {
          resolve({ seq: res.seq ?? 0, pointer: decodeFeedPointer(res.v) });
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.dht.destroy(() => resolve()));
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function toBuffers(v: Record<string, Uint8Array | string>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x)]));
}

/** Where a DHT node's state is kept between runs (the catalog implements it). */
export interface DhtStateStore {
  dhtState(): { nodeId?: Uint8Array; nodes: { host: string; port: number }[] };
  saveDhtState(nodeId: Uint8Array, nodes: readonly { host: string; port: number }[]): void;
}

/** Starts a node from the kept state (same id, the saved nodes as first contacts). */
export async function startWithState(store: DhtStateStore, o: Omit<DhtOptions, 'savedNodes' | 'nodeId'>): Promise<Dht> {
  const kept = store.dhtState();
  return Dht.start({ ...o, savedNodes: kept.nodes.slice(0, MAX_SAVED_NODES), ...(kept.nodeId ? { nodeId: kept.nodeId } : {}) });
}

/** Keeps the node's state for the next run, then stops it. */
export async function closeWithState(dht: Dht, store: DhtStateStore): Promise<void> {
  const nodes = dht.nodes();
  if (nodes.length > 0) store.saveDhtState(dht.nodeId, nodes);
  await dht.close();
}
