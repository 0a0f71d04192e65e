/**
 * What the swarm exchanged with each peer, by address (a peer that
 * reconnects keeps its line): bytes up and down, and how it ended (banned,
 * dropped and why). Also the per-link counters the choker reads.
 */
import type { PeerLink } from './peer-link.js';

export interface PeerReport {
  address: string;
  peerId?: string;
  downloaded: number;
  uploaded: number;
  banned?: boolean;
  dropped?: string;
}

export class Ledger {
  private readonly reports = new Map<string, PeerReport>();
  uploaded = 0;
  downloaded = 0;

  /** The line of `address` (made on first sight). */
  of(address: string): PeerReport {
    let r = this.reports.get(address);
    if (!r) this.reports.set(address, (r = { address, downloaded: 0, uploaded: 0 }));
    return r;
  }

  sent(link: PeerLink, n: number): void {
    link.uploaded += n;
    link.roundUp += n;
    this.uploaded += n;
    this.of(link.address).uploaded += n;
  }

  received(link: PeerLink, n: number, now: number): void {
    link.downloaded += n;
    link.roundDown += n;
    link.lastBlockAt = now;
    this.downloaded += n;
    this.of(link.address).downloaded += n;
  }

  /** The link closed with `reason` (a ban is recorded by `banned`; a duplicate connection is no drop). */
  closed(link: PeerLink, reason: string): void {
    const r = this.of(link.address);
    if (!r.banned && reason !== 'duplicate connection') r.dropped = reason;
  }

  list(): PeerReport[] {
    return [...this.reports.values()].map((r) => ({ ...r }));
  }
}
