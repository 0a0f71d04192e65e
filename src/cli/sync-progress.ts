/**
 * What a sync shows while it runs: session events turned into the progress
 * line (progress.ts) and warnings, and what is left behind when it stops
 * early. Ctrl-C (or SIGTERM) clears the line and ends with one last line:
 * "interrupted: kept 286 MiB in X.part; run the same command again to
 * resume" (exit 130); a .part that holds nothing yet is removed instead. A
 * failed sync says the same after its error line.
 */
import { rmSync } from 'node:fs';
import type { SyncEvent } from '../sync/session.js';
import { formatWarning, type Warning } from '../core/warnings.js';
import { EXIT_INTERRUPTED } from './common.js';
import { formatBytes } from './format.js';
import { detail, errorLine, warn } from './output.js';
import { ProgressLine } from './progress.js';

type Phase = Extract<SyncEvent, { type: 'phase' }>['phase'];

const PHASE_WORDS: Record<Phase, string> = {
  'verify-part': 'checking the .part of an earlier run',
  sources: 'reading local sources',
  metadata: "reading the target's layout",
  plan: 'planning',
  assemble: 'fetching',
  finish: 'finishing',
};

export class SyncProgress {
  readonly line = new ProgressLine();
  private partPath: string | undefined;
  private kept = 0;
  private removed = false;
  private sawWebSeeds = false;
  private readonly interrupt = (): void => this.interrupted();

  /** `hasPeers`: the sync talks to BitTorrent peers (then the line counts them). */
  constructor(private readonly hasPeers: boolean) {}

  /** Starts the line, and the Ctrl-C handling. */
  start(phase: string): this {
    this.line.start(phase);
    process.once('SIGINT', this.interrupt);
    process.once('SIGTERM', this.interrupt);
    return this;
  }

  /** Stops the line and the Ctrl-C handling (the report follows; --seed handles Ctrl-C itself). */
  stop(): void {
    this.line.stop();
    process.off('SIGINT', this.interrupt);
    process.off('SIGTERM', this.interrupt);
  }

  /** Warnings clear the line first (output.ts warn). */
  readonly onWarning = (w: Warning): void => warn(formatWarning(w));

  readonly onEvent = (e: SyncEvent): void => {
    switch (e.type) {
      case 'phase':
        this.line.setPhase(PHASE_WORDS[e.phase] ?? e.phase);
        detail(`${PHASE_WORDS[e.phase] ?? e.phase}${e.detail ? ` (${e.detail})` : ''}`);
        return;
      case 'progress':
        this.kept = e.doneBytes;
        this.line.setPhase(e.toFetchBytes > 0 ? 'fetching' : 'copying local data');
        this.line.update({
          doneBytes: e.doneBytes,
          totalBytes: e.totalBytes,
          reusedBytes: e.reusedBytes,
          resumedBytes: e.resumedBytes,
          fetchedBytes: e.fetchedBytes,
          toFetchBytes: e.toFetchBytes,
        });
        return;
      case 'live':
        this.line.measure(() => {
          const s = e.sample();
          this.sawWebSeeds ||= s.webSeeds > 0;
          return { downloaded: s.downloaded, ...(this.hasPeers ? { uploaded: s.uploaded, peers: s.peers } : {}), ...(this.sawWebSeeds ? { webSeeds: s.webSeeds } : {}) };
        });
        return;
      case 'part':
        this.partPath = e.path;
        this.kept = e.resumedBytes;
        if (e.resumedBytes > 0) detail(`resuming: ${formatBytes(e.resumedBytes)} already verified in ${e.path}`);
        return;
      case 'part-kept':
        this.kept = e.bytes;
        return;
      case 'part-removed':
        this.removed = true;
        return;
      default:
        return;
    }
  };

  /** After a failure's error line: what became of the .part. */
  afterFailure(): void {
    if (this.partPath === undefined || this.removed) return;
    if (this.kept > 0) errorLine(`kept ${formatBytes(this.kept)} in ${this.partPath}; run the same command again to resume`);
  }

  private interrupted(): void {
    this.stop();
    if (this.partPath !== undefined && this.kept > 0) {
      errorLine(`interrupted: kept ${formatBytes(this.kept)} in ${this.partPath}; run the same command again to resume`);
    } else {
      if (this.partPath !== undefined) rmSync(this.partPath, { force: true });
      errorLine('interrupted before any piece was complete; nothing kept');
    }
    process.exit(EXIT_INTERRUPTED);
  }
}
