/**
 * What the tests of misbehaving peers share: the raw BEP 3 messages a
 * hand-written client sends, and the suite set-up they run against, one
 * `isosync seed` of a published fixture on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { cli, tempDir } from '../helpers/env.js';
import { isosyncSeed, type Peer } from './peers.js';

/** BEP 3 handshake; `fast` sets the BEP 6 bit. `peerId` is 20 ASCII characters. */
export function handshake(infoHash: Uint8Array, peerId: string, fast = true): Buffer {
  const reserved = Buffer.alloc(8);
  if (fast) reserved[7] = 0x04;
  return Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(infoHash), Buffer.from(peerId)]);
}

/** A BEP 3 message: length, id, then 32-bit big-endian integers. */
export function message(id: number, ...ints: number[]): Buffer {
  const b = Buffer.alloc(5 + 4 * ints.length);
  b.writeUInt32BE(1 + 4 * ints.length, 0);
  b[4] = id;
  ints.forEach((v, i) => b.writeUInt32BE(v, 5 + 4 * i));
  return b;
}

export interface RawPeerOptions {
  /** Sets the BEP 6 bit in the handshake (default true). */
  readonly fast?: boolean;
  /** Ends the session after this long (default 30 s). */
  readonly ms?: number;
  /** Called once the seed's handshake has come. */
  readonly onHandshake?: (socket: net.Socket) => void;
  /** Each message in turn: its id (-1 for a keep-alive), its payload after the id; returning true ends the session. */
  readonly onMessage: (id: number, payload: Buffer, socket: net.Socket) => boolean | void;
  /** Called when the seed closed the connection first. */
  readonly onClose?: () => void;
}

/**
 * A hand-written client on 127.0.0.1:`port`: handshakes as `peerId`, then
 * frames what the seed sends into messages for `onMessage` until it says
 * enough, the connection closes, or `ms` pass. Resolves once the socket is gone.
 */
export function rawPeer(port: number, infoHash: Uint8Array, peerId: string, o: RawPeerOptions): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  let shook = false;
  let ended = false;
  return new Promise((resolve) => {
    const done = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, o.ms ?? 30_000);
    socket.on('close', () => {
      if (!ended) o.onClose?.();
      done();
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!shook) {
        if (buf.length < 68) return;
        shook = true;
        buf = buf.subarray(68);
        o.onHandshake?.(socket);
      }
      while (!ended && buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const id = n > 0 ? buf[4]! : -1;
        const payload = buf.subarray(5, 4 + n);
        buf = buf.subarray(4 + n);
        if (o.onMessage(id, payload, socket) === true) return done();
      }
    });
    socket.write(handshake(infoHash, peerId, o.fast ?? true));
  });
}

/** Publishes `image` (as it is, in place) into DIR/d.torrent; returns the torrent's path. */
export function publishInPlace(dir: string, image: string): string {
  const torrent = join(dir, 'd.torrent');
  const r = cli(['publish', image, '--product', 'distro', '--release', '1.01', '--home', join(dir, 'pub'), '-o', torrent]);
  assert.equal(r.status, 0, r.stderr);
  return torrent;
}

export interface SeededSuite {
  /** The suite's temp folder, the torrent and the running seed (set once `before` ran). */
  readonly dir: string;
  readonly torrent: string;
  readonly seed: Peer;
}

/** Hooks the current suite: before it, publish `image` and start `isosync seed` of it with `seedArgs`; after it, stop and clean. */
export function seededSuite(prefix: string, image: string, seedArgs: string[]): SeededSuite {
  let t: ReturnType<typeof tempDir> | undefined;
  let torrent: string | undefined;
  let seed: Peer | undefined;
  before(async () => {
    t = tempDir(prefix);
    torrent = publishInPlace(t.dir, image);
    seed = await isosyncSeed(torrent, image, seedArgs);
  });
  after(async () => {
    await seed?.stop();
    t?.cleanup();
  });
  const must = <T>(v: T | undefined, what: string): T => {
    assert.ok(v !== undefined, `the suite's ${what} is set up before its tests`);
    return v;
  };
  return {
    get dir() {
      return must(t, 'folder').dir;
    },
    get torrent() {
      return must(torrent, 'torrent');
    },
    get seed() {
      return must(seed, 'seed');
    },
  };
}
