/**
 * A source's measured rate: the bytes it sent over the time it had asks out
 * (busy time), the way the mirror handle measures a web seed
 * (webseed/mirror-handle.ts). Time with nothing asked of it does not count:
 * a peer the scheduler left idle is not thereby slow. Recent busy time
 * counts most: past 2 x RATE_WINDOW_MS of it, bytes and time are scaled
 * down to one window (the rate kept), so a seed peer's slow first replies
 * (cold reads, a handshake on a loaded machine: 0.5 s for its first 64
 * blocks, then 5-50 ms) fade within seconds. Pure: the engine passes the
 * time; the scheduler compares rates to split the web seeds' queues
 * (scheduler.ts keptQueue).
 */

/** Busy time before the rate is a measure: the first blocks of a fast source, come in a few ms, are not taken for its rate. */
export const RATE_MEASURE_MS = 500;
/** Busy time the rate is about (between one and two of these). */
export const RATE_WINDOW_MS = 2000;

export interface Meter {
  /** Bytes received (scaled with busyMs). */
  bytes: number;
  /** Busy time (ms) up to busySince, or in all while idle. */
  busyMs: number;
  /** When the current busy stretch began (or was last folded in); undefined while nothing is asked of it. */
  busySince: number | undefined;
}

export function freshMeter(): Meter {
  return { bytes: 0, busyMs: 0, busySince: undefined };
}

/** Folds the busy stretch up to `now` in, and scales an old history down to one window. */
function fold(m: Meter, now: number): void {
  if (m.busySince !== undefined) {
    m.busyMs += Math.max(0, now - m.busySince);
    m.busySince = now;
  }
  if (m.busyMs > 2 * RATE_WINDOW_MS) {
    m.bytes *= RATE_WINDOW_MS / m.busyMs;
    m.busyMs = RATE_WINDOW_MS;
  }
}

/** Bytes arrived from it. */
export function onBytes(m: Meter, n: number, now: number): void {
  fold(m, now);
  m.bytes += n;
}

/** Whether asks are out with it now (the engine tells it after every turn). */
export function setBusy(m: Meter, busy: boolean, now: number): void {
  fold(m, now);
  if (busy) m.busySince ??= now;
  else m.busySince = undefined;
}

/** Bytes per second over its recent busy time; undefined until RATE_MEASURE_MS of it. */
export function rateOf(m: Meter, now: number): number | undefined {
  const busy = m.busyMs + (m.busySince === undefined ? 0 : Math.max(0, now - m.busySince));
  return busy < RATE_MEASURE_MS ? undefined : (m.bytes * 1000) / busy;
}
