/**
 * The live progress line, like aria2c's or curl's, on stderr when it is a
 * terminal (output.ts decides: not with --json, -q or --no-progress):
 *
 *   fetching  43% 142.0/330.0 MiB (reused 120.2 MiB, resumed 0 B, fetched 21.8 MiB) ↓ 5.2 MiB/s ↑ 1.1 MiB/s ETA 0:36 · 3 peers, 1 web seed
 *   computing delta hints against 1.00 · 0:07
 *
 * renderLine and RateWindow are pure (an injected clock, table-tested);
 * ProgressLine only draws: every 100 ms, and only when the text changed, as
 * "\r" + text + erase-to-end-of-line, cut to the terminal's width so it
 * never wraps (a wrapped line cannot be redrawn in place: that flickers).
 */
import { formatBytes } from './format.js';
import { outputSettings, setLiveLine, type LiveLine } from './output.js';

/** Redraw period: 10 Hz is smooth to the eye and costs nothing. */
export const REDRAW_MS = 100;
/** Rates are averaged over this window: steady enough to read, quick to follow a change. */
export const RATE_WINDOW_MS = 5000;

export interface ProgressState {
  /** The step in words: "planning", "fetching", "computing delta hints against 1.00". */
  phase: string;
  /** Bytes done of total (omitted: a step without a measure; the line shows the time in it). */
  doneBytes?: number;
  totalBytes?: number;
  /** The done bytes by where they came from. */
  reusedBytes?: number;
  resumedBytes?: number;
  fetchedBytes?: number;
  /** What the plan fetches in all (for the ETA). */
  toFetchBytes?: number;
  /** Bytes received so far, verified or not: shown as fetched while pieces are still arriving. */
  receivedBytes?: number;
  /** Rates in bytes per second (undefined: not measured yet). */
  downRate?: number;
  upRate?: number;
  /** Connected peers and live web seeds; undefined when the step has none. */
  peers?: number;
  webSeeds?: number;
  /** When the phase started (ms, same clock as `now`). */
  phaseStarted: number;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** 0:07, 12:34, 1:02:03. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Seconds left: what is still to fetch at the download rate; undefined when unknown. */
export function etaSeconds(s: ProgressState): number | undefined {
  if (s.toFetchBytes === undefined || s.fetchedBytes === undefined) return undefined;
  const left = Math.max(0, s.toFetchBytes - s.fetchedBytes);
  if (left === 0) return 0;
  if (!s.downRate || s.downRate <= 0) return undefined;
  return left / s.downRate;
}

/**
 * What the line shows as fetched: the verified bytes, or the bytes received
 * so far when more (a piece counts as verified only when all of it is in),
 * never more than the plan fetches.
 */
function shownState(s: ProgressState): ProgressState {
  if (s.fetchedBytes === undefined || s.receivedBytes === undefined || s.receivedBytes <= s.fetchedBytes) return s;
  const fetched = Math.max(s.fetchedBytes, Math.min(s.receivedBytes, s.toFetchBytes ?? s.receivedBytes));
  return { ...s, fetchedBytes: fetched, ...(s.doneBytes !== undefined ? { doneBytes: s.doneBytes + fetched - s.fetchedBytes } : {}) };
}

/** The line for `state` at time `now`, at most `width` characters. */
export function renderLine(state: ProgressState, now: number, width: number): string {
  const s = shownState(state);
  const parts: string[] = [s.phase];
  if (s.totalBytes !== undefined && s.doneBytes !== undefined && s.totalBytes > 0) {
    const pct = Math.min(100, Math.floor((100 * s.doneBytes) / s.totalBytes));
    parts[0] = `${s.phase} ${String(pct).padStart(3)}%`;
    const total = formatBytes(s.totalBytes);
    const unit = total.split(' ')[1];
    const done = formatBytes(s.doneBytes);
    parts.push(done.split(' ')[1] === unit ? `${done.split(' ')[0]}/${total}` : `${done}/${total}`);
    const from: string[] = [];
    if (s.reusedBytes !== undefined) from.push(`reused ${formatBytes(s.reusedBytes)}`);
    if (s.resumedBytes !== undefined) from.push(`resumed ${formatBytes(s.resumedBytes)}`);
    if (s.fetchedBytes !== undefined) from.push(`fetched ${formatBytes(s.fetchedBytes)}`);
    if (from.length > 0) parts.push(`(${from.join(', ')})`);
  }
  if (s.downRate !== undefined) parts.push(`↓ ${formatRate(s.downRate)}`);
  if (s.upRate !== undefined) parts.push(`↑ ${formatRate(s.upRate)}`);
  if (s.toFetchBytes !== undefined) {
    const eta = etaSeconds(s);
    parts.push(`ETA ${eta === undefined ? '-:--' : formatClock(eta)}`);
  } else if (s.totalBytes === undefined) {
    parts.push(`· ${formatClock((now - s.phaseStarted) / 1000)}`);
  }
  const sources: string[] = [];
  if (s.peers !== undefined) sources.push(plural(s.peers, 'peer', 'peers'));
  if (s.webSeeds !== undefined) sources.push(plural(s.webSeeds, 'web seed', 'web seeds'));
  if (sources.length > 0) parts.push(`· ${sources.join(', ')}`);
  const line = parts.join(' ');
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** A rate over the last `windowMs` of samples of a growing counter. */
export class RateWindow {
  private readonly samples: { t: number; v: number }[] = [];
  private head = 0;

  constructor(private readonly windowMs: number = RATE_WINDOW_MS) {}

  add(t: number, value: number): void {
    this.samples.push({ t, v: value });
    while (this.head < this.samples.length - 1 && this.samples[this.head + 1]!.t <= t - this.windowMs) this.head++;
    if (this.head > 1024) {
      this.samples.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Bytes per second over the window; undefined until two samples at least 0.5 s apart exist. */
  rate(): number | undefined {
    const first = this.samples[this.head];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < 500) return undefined;
    return Math.max(0, ((last.v - first.v) * 1000) / (last.t - first.t));
  }
}

export interface Counters {
  downloaded: number;
  /** Omitted when nothing can be uploaded (no peers): the line then shows no upload rate. */
  uploaded?: number;
  /** Live source counts, when the step has them. */
  peers?: number;
  webSeeds?: number;
}

/** Draws a ProgressState on stderr at 10 Hz while enabled (see the module comment). */
export class ProgressLine implements LiveLine {
  readonly enabled: boolean;
  private state: ProgressState;
  private timer: NodeJS.Timeout | undefined;
  private drawn = '';
  private counters: (() => Counters) | undefined;
  private readonly down = new RateWindow();
  private readonly up = new RateWindow();

  constructor(enabled: boolean = outputSettings().progress, private readonly now: () => number = Date.now) {
    this.enabled = enabled;
    this.state = { phase: '', phaseStarted: now() };
  }

  /** Starts drawing (no-op when disabled). */
  start(phase: string): this {
    this.setPhase(phase);
    if (!this.enabled || this.timer) return this;
    setLiveLine(this);
    this.timer = setInterval(() => this.tick(), REDRAW_MS);
    this.timer.unref();
    return this;
  }

  setPhase(phase: string): void {
    if (phase === this.state.phase) return;
    this.state = { ...this.state, phase, phaseStarted: this.now() };
  }

  /** Merges measured fields (bytes done, by source, peers ...). */
  update(fields: Partial<Omit<ProgressState, 'phase' | 'phaseStarted'>>): void {
    this.state = { ...this.state, ...fields };
  }

  /** Counters sampled every tick: bytes for the download and upload rates, and the live source counts. */
  measure(counters: () => Counters): void {
    this.counters = counters;
  }

  get current(): Readonly<ProgressState> {
    return this.state;
  }

  private tick(): void {
    const t = this.now();
    if (this.counters) {
      const c = this.counters();
      this.down.add(t, c.downloaded);
      this.state.receivedBytes = c.downloaded;
      this.state.downRate = this.down.rate() ?? 0;
      if (c.uploaded !== undefined) {
        this.up.add(t, c.uploaded);
        this.state.upRate = this.up.rate() ?? 0;
      }
      if (c.peers !== undefined) this.state.peers = c.peers;
      if (c.webSeeds !== undefined) this.state.webSeeds = c.webSeeds;
    }
    const width = Math.max(20, (process.stderr.columns ?? 100) - 1);
    const text = renderLine(this.state, t, width);
    if (text === this.drawn) return;
    process.stderr.write(`\r${text}\x1b[K`);
    this.drawn = text;
  }

  /** Clears the drawn line (before other text); the next tick draws it again. */
  clear(): void {
    if (!this.drawn) return;
    process.stderr.write('\r\x1b[K');
    this.drawn = '';
  }

  /** Stops drawing and clears the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    setLiveLine(undefined);
  }
}
