/**
 * Which queued request a seeder serves next. Pure: `P` is a peer, times are
 * passed in.
 *
 *   - Rarest sent first: the request whose piece went to the fewest other
 *     peers (any of its bytes), then the oldest, as libtorrent's seed mode
 *     spreads distinct pieces: a capped seed puts out each piece once before
 *     any piece twice, and the leechers pass the copies on.
 *   - Share first (a publisher's seed, `shareWaitMs`): a request for a piece
 *     another connected peer got waits while pieces sent to nobody else go
 *     out, so the leechers trade the copies among themselves: until
 *     shareWaitMs after a peer announced the piece (the asker, told of it
 *     too, takes it from that peer and cancels here), or, while nobody has,
 *     UNANNOUNCED_WAIT_FACTOR times as long after the ask. A wait counted
 *     from the ask alone (1.5 s) ran out on a loaded machine before the
 *     peer that got the piece had verified and announced it: eight clients
 *     of one `isosync serve` were sent their pieces again, and the copies
 *     they had cancelled meanwhile arrived all the same (0.5-0.6 of a delta
 *     in a round of 1.9-2.4 deltas, load 20-30).
 *   - A peer that left complete on us (both sides seeds) still counts as a
 *     holder for SHARE_MEMORY_MS: it may still serve the others.
 */

/** A piece sent to another peer that nobody announced yet: its ask waits this many times shareWaitMs (the peer may be slow to verify it). */
export const UNANNOUNCED_WAIT_FACTOR = 4;

/** A peer that completed and closed on us counts as holding its pieces this long (it may still serve others). */
export const SHARE_MEMORY_MS = 60_000;

export interface Queued<P> {
  readonly peer: P;
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
  /** Order of arrival. */
  readonly seq: number;
  /** When it was queued (ms). */
  readonly at: number;
}

export class UploadQueue<P, U extends Queued<P> = Queued<P>> {
  private queue: U[] = [];
  /** The peers each piece was sent to. */
  private readonly sentTo = new Map<number, Set<P>>();
  /** Peers that closed on us as seeds, with when. */
  private readonly departed = new Map<P, number>();
  /** When a peer first announced each piece (share first). */
  private readonly announcedAt = new Map<number, number>();

  constructor(private readonly shareWaitMs: number) {}

  get size(): number {
    return this.queue.length;
  }

  push(u: U): void {
    this.queue.push(u);
  }

  /** A cancel: the first queued request of `peer` for exactly these bytes goes. */
  cancel(peer: P, piece: number, offset: number, length: number): void {
    const i = this.queue.findIndex((u) => u.peer === peer && u.piece === piece && u.offset === offset && u.length === length);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /**
   * Takes the request to serve next (see the module comment), skipping
   * requests held back by share-first until their wait ends; drops requests
   * of peers `live` says no longer take them (closed, choked).
   */
  next(now: number, live: (peer: P) => boolean, connected: (peer: P) => boolean): U | undefined {
    this.queue = this.queue.filter((u) => live(u.peer));
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < this.queue.length; i++) {
      const u = this.queue[i]!;
      let others = 0;
      for (const o of this.sentTo.get(u.piece) ?? []) if (o !== u.peer && (connected(o) || this.departed.has(o))) others++;
      if (others > 0 && now < this.dueAt(u)) continue;
      const score = others * 2 ** 32 + u.seq;
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best < 0) return undefined;
    const u = this.queue.splice(best, 1)[0]!;
    this.sent(u.peer, u.piece);
    return u;
  }

  /**
   * Takes every request that may go now, as repeated next() calls would (the
   * same requests in the same order), in one pass over the queue and a heap:
   * a next() per request scanned the queue once each, and a seed with ~3,000
   * asks held at the end of an update stalled for seconds.
   */
  takeReady(now: number, live: (peer: P) => boolean, connected: (peer: P) => boolean): U[] {
    this.queue = this.queue.filter((u) => live(u.peer));
    const others = (u: U): number => {
      let n = 0;
      for (const o of this.sentTo.get(u.piece) ?? []) if (o !== u.peer && (connected(o) || this.departed.has(o))) n++;
      return n;
    };
    // Scores only grow as requests are taken (a taken piece has one more holder), so a score is checked again when its
    // request surfaces: pushed back when it grew, else taken, or left queued when held back.
    const heap = new ScoreHeap<U>();
    for (const u of this.queue) heap.push(u, others(u) * 2 ** 32 + u.seq);
    const taken = new Set<U>();
    for (let top = heap.pop(); top; top = heap.pop()) {
      const n = others(top.item);
      if (n * 2 ** 32 + top.item.seq > top.score) heap.push(top.item, n * 2 ** 32 + top.item.seq);
      else if (n === 0 || now >= this.dueAt(top.item)) {
        taken.add(top.item);
        this.sent(top.item.peer, top.item.piece);
      }
    }
    if (taken.size > 0) this.queue = this.queue.filter((u) => !taken.has(u));
    return [...taken];
  }

  /** When the next held-back request may go (ms), if any waits. */
  nextWake(): number | undefined {
    if (this.shareWaitMs <= 0 || this.queue.length === 0) return undefined;
    let due = Infinity;
    for (const u of this.queue) due = Math.min(due, this.dueAt(u));
    return due;
  }

  /** When `u`, if its piece went to another peer, may go (see share first in the module comment). */
  private dueAt(u: U): number {
    const had = this.announcedAt.get(u.piece);
    return had === undefined ? u.at + this.shareWaitMs * UNANNOUNCED_WAIT_FACTOR : Math.max(u.at, had) + this.shareWaitMs;
  }

  /** A peer announced `piece` (it has it now and may pass it on). */
  announced(piece: number, now: number): void {
    if (this.shareWaitMs > 0 && !this.announcedAt.has(piece)) this.announcedAt.set(piece, now);
  }

  /** `peer` is being sent bytes of `piece` (recorded at once, so later choices see it). */
  sent(peer: P, piece: number): void {
    let s = this.sentTo.get(piece);
    if (!s) this.sentTo.set(piece, (s = new Set()));
    s.add(peer);
  }

  /** `peer` left: as a complete peer it still counts as a holder for a while; otherwise it is forgotten. */
  left(peer: P, complete: boolean, now: number): void {
    if (complete) this.departed.set(peer, now);
    else this.forget(peer);
  }

  /** Departed seeds older than SHARE_MEMORY_MS are forgotten. */
  expire(now: number): void {
    for (const [p, at] of this.departed) if (now - at >= SHARE_MEMORY_MS) this.forget(p);
  }

  private forget(peer: P): void {
    this.departed.delete(peer);
    for (const s of this.sentTo.values()) s.delete(peer);
  }
}

/** A binary min-heap of items by score (takeReady). */
class ScoreHeap<T> {
  private readonly a: { item: T; score: number }[] = [];

  push(item: T, score: number): void {
    const a = this.a;
    let i = a.push({ item, score }) - 1;
    while (i > 0 && a[(i - 1) >> 1]!.score > score) {
      [a[i], a[(i - 1) >> 1]] = [a[(i - 1) >> 1]!, a[i]!];
      i = (i - 1) >> 1;
    }
  }

  pop(): { item: T; score: number } | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    a[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.score < a[m]!.score) m = l;
      if (r < a.length && a[r]!.score < a[m]!.score) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }
}
