/**
 * BEP 52 hash messages on a peer link: the glue between a SafeWire and the
 * pure codec (torrent/hash-messages.ts).
 *
 * Serving side (`serveHashes`): a `hash request` (21) is answered with
 * `hashes` (22) from the trees we seed (torrent/hash-server.ts), or a `hash
 * reject` (23) when we cannot (not our file, outside its tree, too much to
 * read). At most MAX_HASH_ANSWERS_IN_FLIGHT requests of one peer are being
 * answered at a time; more are rejected at once. A request that is not well
 * formed breaks the protocol: the peer is dropped.
 *
 * Asking side (`HashAsker`): sends hash requests and resolves each with the
 * peer's `hashes` (decoded; the caller checks them against what it trusts)
 * or undefined when the peer rejects it, closes, or is silent for
 * HASH_REPLY_TIMEOUT_MS. A `hashes` reply nobody asked for is ignored, as
 * libtorrent does; one that is not well formed drops the peer.
 */
import {
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashRequest,
  MSG_HASH_REJECT,
  MSG_HASH_REQUEST,
  MSG_HASHES,
  type HashesReply,
  type HashRequest,
} from '../torrent/hash-messages.js';
import type { PeerLink } from './peer-link.js';
import { guarded } from './safe-wire.js';

/** Requests of one peer answered at once at most (each may read a piece from disk). */
export const MAX_HASH_ANSWERS_IN_FLIGHT = 8;
/** A hash request unanswered this long counts as rejected. */
export const HASH_REPLY_TIMEOUT_MS = 10_000;

export interface HashAnswerer {
  answer(r: HashRequest): Promise<HashesReply | undefined>;
}

/** The same request, by value (the reply carries the request's 48 bytes). */
function keyOf(r: HashRequest): string {
  return `${Buffer.from(r.piecesRoot).toString('hex')}:${r.baseLayer}:${r.index}:${r.length}:${r.proofLayers}`;
}

interface Pending {
  resolve(reply: HashesReply | undefined): void;
  timer: NodeJS.Timeout;
}

/**
 * Routes a link's hash messages: requests to `server` (when we seed a v2
 * tree), replies to the link's asker. Attach before the handshake.
 */
export function attachHashes(link: PeerLink, server: HashAnswerer | undefined): HashAsker {
  const wire = link.wire;
  const asker = new HashAsker(link);
  let inFlight = 0;
  wire.on(
    'unknownmessage',
    guarded(wire, (buf: Uint8Array) => {
      const id = buf[0];
      const payload = buf.subarray(1);
      if (id === MSG_HASH_REQUEST) {
        const r = decodeHashRequest(payload);
        if (!server || inFlight >= MAX_HASH_ANSWERS_IN_FLIGHT) return wire.send(MSG_HASH_REJECT, encodeHashRequest(r));
        inFlight++;
        void server
          .answer(r)
          .catch(() => undefined)
          .then((reply) => {
            inFlight--;
            if (link.closed) return;
            wire.send(reply ? MSG_HASHES : MSG_HASH_REJECT, reply ? encodeHashes(reply) : encodeHashRequest(r));
          });
      } else if (id === MSG_HASHES) asker.settle(decodeHashes(payload), true);
      else if (id === MSG_HASH_REJECT) asker.settle(decodeHashRequest(payload, 'hash reject'), false);
    }),
  );
  const close = link.onClose;
  link.onClose = (reason) => {
    asker.closed();
    close(reason);
  };
  return asker;
}

/** Hash requests this side made of one peer, waiting for its answer. */
export class HashAsker {
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly link: PeerLink) {}

  /** Asks the peer; resolves with its (decoded, unchecked) reply, or undefined. */
  ask(r: HashRequest): Promise<HashesReply | undefined> {
    if (this.link.closed) return Promise.resolve(undefined);
    const k = keyOf(r);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.take(k)?.resolve(undefined), HASH_REPLY_TIMEOUT_MS);
      timer.unref();
      const list = this.pending.get(k) ?? [];
      list.push({ resolve, timer });
      this.pending.set(k, list);
      this.link.wire.send(MSG_HASH_REQUEST, encodeHashRequest(r));
    });
  }

  get waiting(): number {
    let n = 0;
    for (const l of this.pending.values()) n += l.length;
    return n;
  }

  /** A reply (or reject) for the request with the same header. */
  settle(r: HashRequest | HashesReply, ok: boolean): void {
    const p = this.take(keyOf(r));
    p?.resolve(ok ? (r as HashesReply) : undefined);
  }

  closed(): void {
    for (const [k] of this.pending) for (let p = this.take(k); p; p = this.take(k)) p.resolve(undefined);
  }

  private take(k: string): Pending | undefined {
    const list = this.pending.get(k);
    const p = list?.shift();
    if (list && list.length === 0) this.pending.delete(k);
    if (p) clearTimeout(p.timer);
    return p;
  }
}
