/**
 * The ut_pex extension (BEP 11) on a bittorrent-protocol wire: glue between
 * one peer's wire and the pure codec and policy in src/discovery/pex.ts.
 *
 * It tells the peer whom else we are connected to (first as soon as there
 * is anyone to tell, then at most once a minute: PexSchedule), and passes
 * the peers it is told about to the swarm, which dials them. The swarm calls
 * `poke` when its set of connected peers changes, so a peer that connected
 * before the others learns about them without waiting a minute.
 *
 * Nothing here throws into bittorrent-protocol's parser: a malformed message
 * is ignored.
 */
import type Wire from 'bittorrent-protocol';
import { decodePex, encodePex, PexSchedule, UT_PEX, type PexPeer } from '../discovery/pex.js';

export interface PexHooks {
  /** Listening addresses of the peers we are connected to (this one left out by the extension). */
  connected(): PexPeer[];
  /** Peers this one told us about. */
  onPeers(peers: readonly PexPeer[]): void;
  /** Registers `poke` to be called when our connected set changes; returns the unregistration. */
  subscribe(poke: () => void): () => void;
  /** The listening address of the peer on this wire, once known. */
  peerAddress(): { host: string; port: number } | undefined;
  now(): number;
}

interface ExtensionWire {
  extended(name: string, payload: Uint8Array): void;
  once(event: 'close', fn: () => void): void;
  peerExtendedMapping: Record<string, number>;
}

export interface PexExtensionClass {
  new (wire: Wire): { onExtendedHandshake(h: unknown): void; onMessage(buf: Uint8Array): void };
  prototype: { name: string };
}

export function pexExtension(hooks: PexHooks): PexExtensionClass {
  class UtPex {
    private readonly wire: ExtensionWire;
    private schedule: PexSchedule | undefined;
    private timer: NodeJS.Timeout | undefined;
    private unsubscribe: (() => void) | undefined;

    constructor(wire: Wire) {
      this.wire = wire as unknown as ExtensionWire;
      this.wire.once('close', () => this.stop());
    }

    get name(): string {
      return UT_PEX;
    }

    /** Called by bittorrent-protocol when the peer advertises ut_pex too. */
    onExtendedHandshake(): void {
      if (this.schedule) return;
      this.schedule = new PexSchedule(hooks.peerAddress() ?? { host: '', port: 0 });
      this.unsubscribe = hooks.subscribe(() => this.send());
      this.send();
    }

    private send(): void {
      const s = this.schedule;
      if (!s) return;
      const me = hooks.peerAddress();
      const list = hooks.connected().filter((p) => !me || p.host !== me.host || p.port !== me.port);
      const wait = s.waitMs(hooks.now());
      if (wait > 0) {
        // Rate limited: try again when allowed (one timer at a time).
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.send();
        }, wait).unref();
        return;
      }
      const m = s.next(hooks.now(), list);
      if (!m) return;
      try {
        this.wire.extended(UT_PEX, encodePex(m));
      } catch {
        // The wire is closing.
      }
    }

    onMessage(buf: Uint8Array): void {
      let m;
      try {
        m = decodePex(buf);
      } catch {
        return;
      }
      if (m.added.length > 0) hooks.onPeers(m.added);
    }

    private stop(): void {
      clearTimeout(this.timer);
      this.unsubscribe?.();
    }
  }
  return UtPex as unknown as PexExtensionClass;
}
