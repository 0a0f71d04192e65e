/**
 * A one-line progress bar on stderr when it is a terminal; nothing in a pipe
 * or with --json. Redrawn at most every 100 ms.
 */
import { formatBytes } from './format.js';

const REDRAW_MS = 100;
const WIDTH = 30;

export class ProgressBar {
  private last = 0;
  private drawn = false;
  readonly enabled: boolean;

  constructor(enabled: boolean = Boolean(process.stderr.isTTY)) {
    this.enabled = enabled;
  }

  update(done: number, total: number, label: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < REDRAW_MS) return;
    this.last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const fill = Math.round(frac * WIDTH);
    const bar = '#'.repeat(fill) + '-'.repeat(WIDTH - fill);
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${label}\x1b[K`);
    this.drawn = true;
  }

  /** A message above the bar (warnings), without breaking it. */
  note(line: string): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${line}\n`);
  }

  done(): void {
    if (this.enabled && this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }

  static bytesLabel(fetched: number, reused: number): string {
    return `reused ${formatBytes(reused)}, fetched ${formatBytes(fetched)}`;
  }
}
