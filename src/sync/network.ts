/**
 * The network side of a sync: one download engine (engine/engine.ts) with
 * every remote source as one of its handles: the torrent's web seeds and the
 * --web-seed/--mirror URLs (webseed/web-peer.ts for http and https,
 * ftp/ftp-peer.ts for ftp; a URL of another scheme is skipped with a
 * warning), and, when the sync talks
 * to BitTorrent peers, the swarm's peers (swarm/sync-peers.ts). Peer-only,
 * web-seed-only and mixed syncs all go through the one scheduler.
 */
import type { PieceIndex } from '../core/ids.js';
import type { WarningSink } from '../core/warnings.js';
import { Engine } from '../engine/engine.js';
import type { ByteGate } from '../engine/handle.js';
import { FtpPeer } from '../ftp/ftp-peer.js';
import { WebPeer, webSeedFileUrl } from '../webseed/web-peer.js';
import type { Spool } from '../webseed/whole-file.js';

/** A mirror as the report sees it: an HTTP web seed or an FTP mirror. */
export type MirrorPeer = WebPeer | FtpPeer;

export interface NetworkOptions {
  readonly length: number;
  readonly pieceLength: number;
  /** The file's name, for web-seed URLs that name a directory (BEP 19). */
  readonly name: string;
  /** Web seed and mirror URLs (duplicates count once). */
  readonly webSeeds: readonly string[];
  /** A web seed that sends nothing for this long is dropped. */
  readonly stallMs?: number;
  /** The swarm's side (swarm/sync-peers.ts, or sync/peers-on-need.ts that starts it when needed). */
  readonly peers?: NetworkPeers;
  /** A block ask unanswered this long goes to another source. */
  readonly requestTimeoutMs?: number;
  /** A piece no source has for this long, while peers may still come, fails the sync. */
  readonly noPeerMs?: number;
  readonly onWarning?: WarningSink;
  /** The download limit, shared by the swarm's peers, HTTP web seeds and FTP mirrors (engine/handle.ts ByteGate). */
  readonly downloadGate?: ByteGate;
  /** Where each received block is written as it arrives (the .part: a killed run keeps it). */
  readonly received?: ReceivedStore;
}

/** The peers' side of a network: their peers become sources of the engine; they may watch the mirrors. */
export interface NetworkPeers {
  attach(engine: Engine, mirrors: readonly MirrorPeer[]): void;
}

/**
 * The mirror URLs a sync can use, each once, with their transport; a URL of
 * another scheme is left out (openNetwork warns of it).
 */
export function usableMirrors(webSeeds: readonly string[], name: string): { url: string; ftp: boolean }[] {
  return [...new Set(webSeeds.map((u) => webSeedFileUrl(u, name)))].flatMap((url) => {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    return scheme === 'ftp' || scheme === 'http' || scheme === 'https' ? [{ url, ftp: scheme === 'ftp' }] : [];
  });
}

/** The .part as the network sees it: where received bytes go, and the spool of a server without ranges. */
export interface ReceivedStore extends Spool {
  writeBlock(piece: PieceIndex, offset: number, bytes: Uint8Array): unknown;
}

export interface Network {
  readonly engine: Engine;
  readonly webPeers: readonly MirrorPeer[];
  /** Some source exists (a web seed or the swarm): the engine may be asked. */
  readonly hasSources: boolean;
  webSeedReport(): { url: string; bytes: number; dropped?: string }[];
  /** Web-seed bytes received so far (replies in flight too). */
  webReceived(): number;
  close(): void;
}

export function openNetwork(o: NetworkOptions): Network {
  const opts = { ...(o.stallMs ? { stallMs: o.stallMs } : {}), ...(o.onWarning ? { onWarning: o.onWarning } : {}) };
  const gated = { ...opts, ...(o.downloadGate ? { gate: o.downloadGate } : {}) };
  const webOpts = { ...gated, ...(o.received ? { spool: o.received } : {}) };
  const usable = usableMirrors(o.webSeeds, o.name);
  for (const u of new Set(o.webSeeds.map((w) => webSeedFileUrl(w, o.name)))) {
    if (!usable.some((m) => m.url === u)) o.onWarning?.({ code: 'WEB_SEED_DROPPED', source: `web seed ${u}`, detail: 'skipped: only http, https and ftp mirrors are supported' });
  }
  const webPeers: MirrorPeer[] = usable.map((m) => (m.ftp ? new FtpPeer(m.url, o.length, o.pieceLength, gated) : new WebPeer(m.url, o.length, o.pieceLength, webOpts)));
  const engine = new Engine({
    length: o.length,
    pieceLength: o.pieceLength,
    withPeers: o.peers !== undefined,
    webSeeds: webPeers.length,
    ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    ...(o.noPeerMs ? { noPeerMs: o.noPeerMs } : {}),
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    ...(o.received ? { onReceived: (b, bytes) => o.received!.writeBlock(b.piece, b.piece * o.pieceLength + b.offset, bytes) } : {}),
  });
  for (const w of webPeers) engine.add(w);
  o.peers?.attach(engine, webPeers);
  return {
    engine,
    webPeers,
    hasSources: webPeers.length > 0 || o.peers !== undefined,
    webSeedReport: () => webPeers.map((w) => ({ url: w.url, bytes: w.bytes, ...(w.failure ? { dropped: w.failure } : {}) })),
    webReceived: () => webPeers.reduce((n, w) => n + w.received, 0),
    close: () => {
      engine.close();
      for (const w of webPeers) w.close();
    },
  };
}
