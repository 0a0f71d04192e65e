/**
 * The processes a bench starts, so that it stops every one of them: at its
 * end, on failure, and when the bench itself gets SIGINT or SIGTERM. Each
 * child runs in its own process group (detached), and stopping it signals
 * the group, so a wrapper (/usr/bin/time, bash running a script) goes
 * together with what it started; a terminal's Ctrl-C reaches the bench
 * alone, which then stops the groups itself.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { constants } from 'node:os';

/** A group asked to stop (SIGTERM) gets this long before SIGKILL. */
const STOP_GRACE_MS = 5000;

export class Children {
  private readonly live = new Set<ChildProcess>();

  /** `cmd args` in its own process group, tracked until it exits. */
  spawn(cmd: string, args: readonly string[], opts: Omit<SpawnOptions, 'detached'> = {}): ChildProcess {
    const child = spawn(cmd, args, { ...opts, detached: true });
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    child.once('error', () => this.live.delete(child));
    return child;
  }

  /** Runs `cmd args` to its end (its group is killed after `timeoutMs`): exit code (1 when killed or not started) and output. */
  exec(cmd: string, args: readonly string[], cwd?: string, timeoutMs = 1_800_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = this.spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 1, stdout, stderr: `${stderr}${e.message}` });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  }

  /** SIGTERM to every group still running, SIGKILL to those still there after the grace period; resolves when all have exited. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.live].map(async (child) => {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        if (child.exitCode !== null || child.signalCode !== null) return;
        signalGroup(child, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /**
   * Until the returned function is called: on SIGINT or SIGTERM, stop every
   * child, then `last()` (nginx, the temp folder), then end the process with
   * the signal's exit status (128 + its number).
   */
  onSignals(last: () => Promise<void> | void): () => void {
    let stopping = false;
    const handler = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      void (async () => {
        try {
          await this.stopAll();
          await last();
        } finally {
          process.exit(128 + (constants.signals[sig] ?? 0));
        }
      })();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    /* the group is gone */
  }
}
