/**
 * What /status draws over time: samples of the server's running totals —
 * bytes sent over HTTP, over BitTorrent, and the bytes plain HTTP would have
 * sent for the same downloads (every completed download at the image's
 * full size) — in a bounded ring, and the send rates and savings computed
 * from them. Pure: the caller passes the clock's time with each sample.
 */

export interface Totals {
  /** File bytes sent over HTTP (plain downloads and web-seed ranges). */
  readonly http: number;
  /** Payload bytes the server's seeds uploaded. */
  readonly bittorrent: number;
  /** What plain HTTP would have sent: completed downloads times the image size. */
  readonly baseline: number;
}

export interface Sample extends Totals {
  /** ms since 1970. */
  readonly t: number;
}

/** Samples kept: an hour at the default 10 s period. */
export const HISTORY_SAMPLES = 360;
/** Rates are averaged over this window. */
export const RATE_WINDOW_MS = 30_000;

/** Bytes the swarm (and local reuse) saved the server: what plain HTTP would have sent minus what was sent, never below 0. */
export function savedBytes(t: Totals): number {
  return Math.max(0, t.baseline - t.http - t.bittorrent);
}

export class StatusHistory {
  private readonly ring: Sample[] = [];
  private next = 0;

  constructor(private readonly capacity: number = HISTORY_SAMPLES) {}

  add(sample: Sample): void {
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  samples(): Sample[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** Send rates (bytes/s) between the newest sample at least `windowMs` before `now` (else the oldest) and `current`. */
  rates(current: Sample, windowMs: number = RATE_WINDOW_MS): { http: number; bittorrent: number } {
    const all = this.samples();
    let base: Sample | undefined;
    for (const s of all) {
      if (s.t <= current.t - windowMs) base = s;
      else break;
    }
    base ??= all[0];
    if (!base || current.t - base.t < 1000) return { http: 0, bittorrent: 0 };
    const dt = (current.t - base.t) / 1000;
    return { http: Math.max(0, (current.http - base.http) / dt), bittorrent: Math.max(0, (current.bittorrent - base.bittorrent) / dt) };
  }
}
