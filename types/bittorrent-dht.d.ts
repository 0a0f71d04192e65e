/**
 * Local typings for bittorrent-dht 11 (no published typings). Only what
 * src/discovery/dht.ts uses is declared.
 */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface DhtNode {
    host: string;
    port: number;
    id?: Buffer;
  }

  export interface DhtConstructorOptions {
    /** 20-byte node id (random when absent). */
    nodeId?: Buffer;
    /** false: contact nothing; a list of "host:port" or {host, port}: those routers. */
    bootstrap?: false | (string | { host: string; port: number })[];
    /** Our own address as peers should see it (added to our own peer table on announce). */
    host?: string | false;
    /** ed25519 signature check for BEP 44 mutable items: (sig, message, publicKey) -> valid. */
    verify?: (sig: Buffer, msg: Buffer, pubkey: Buffer) => boolean;
    /** The UDP socket (passed on to k-rpc-socket): a dgram socket, or one with its events, send, bind, address and close. */
    socket?: EventEmitter;
    timeBucketOutdated?: number;
    maxAge?: number;
    maxValues?: number;
    maxPeers?: number;
    maxTables?: number;
  }

  export interface PutOptions {
    v: Buffer | Record<string, unknown>;
    k?: Buffer;
    seq?: number;
    salt?: Buffer;
    cas?: number;
    sign?: (msg: Buffer) => Buffer;
    sig?: Buffer;
  }

  export interface GetResult {
    id: Buffer;
    v: Buffer | Record<string, unknown>;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DhtConstructorOptions);
    readonly nodeId: Buffer;
    listening: boolean;
    destroyed: boolean;
    ready: boolean;
    listen(port: number, address: string, cb?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: DhtNode): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, nodes?: number) => void): () => void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void;
    put(opts: PutOptions, cb?: (err: Error | null, hash: Buffer, n: number) => void): Buffer;
    get(key: Buffer | string, opts: { salt?: Buffer; verify?: DhtConstructorOptions['verify']; cache?: boolean }, cb: (err: Error | null, res: GetResult | null) => void): void;
    toJSON(): { nodes: { host: string; port: number }[]; values: Record<string, unknown> };
    destroy(cb?: () => void): void;
    on(event: 'peer', fn: (peer: { host: string; port: number }, infoHash: Buffer, from: DhtNode | null) => void): this;
    on(event: 'ready' | 'listening' | 'close', fn: () => void): this;
    on(event: 'error' | 'warning', fn: (err: Error) => void): this;
    on(event: 'node', fn: (node: DhtNode) => void): this;
    on(event: 'announce', fn: (peer: { host: string; port: number }, infoHash: Buffer) => void): this;
    once(event: 'ready' | 'listening' | 'close', fn: () => void): this;
    once(event: 'error', fn: (err: Error) => void): this;
    removeListener(event: string, fn: (...args: never[]) => void): this;
  }
}
