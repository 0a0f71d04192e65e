/**
 * A token bucket for `--upload-limit` / `--download-limit` (bytes per
 * second). `take(n)` resolves when n bytes may pass; waiters are served in
 * order. The bucket holds at most one second of tokens (BURST_SECONDS), so an
 * idle link does not later burst far above the limit. Unlimited (0) passes
 * everything at once.
 */

/** Seconds of tokens the bucket can hold. */
export const BURST_SECONDS = 1;

export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: { n: number; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Bytes per second; 0 means unlimited. */
    readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate * BURST_SECONDS;
    this.last = now();
  }

  get unlimited(): boolean {
    return this.rate <= 0;
  }

  take(n: number): Promise<void> {
    if (this.unlimited) return Promise.resolve();
    return new Promise((resolve) => {
      this.queue.push({ n, resolve });
      this.drain();
    });
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate * BURST_SECONDS, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  private drain(): void {
    this.refill();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      // A request larger than the burst passes once the bucket is full (tokens go negative).
      const need = Math.min(head.n, this.rate * BURST_SECONDS);
      if (this.tokens < need) break;
      this.tokens -= head.n;
      this.queue.shift();
      head.resolve();
    }
    if (this.queue.length > 0 && !this.timer) {
      const head = this.queue[0]!;
      const wait = Math.max(1, ((Math.min(head.n, this.rate * BURST_SECONDS) - this.tokens) / this.rate) * 1000);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, wait);
    }
  }

  /** Releases every waiter and stops the timer (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.queue.splice(0)) w.resolve();
  }
}
