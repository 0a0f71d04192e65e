/** Shared by the tracker tests: a real opentracker on 127.0.0.1, free ports, waiting for events. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from '../helpers/env.js';

export { freePort };

export interface Opentracker {
  readonly port: number;
  /** Its process id (benches read its CPU time). */
  readonly pid: number;
  readonly announce: string;
  readonly udp: string;
  stop(): Promise<void>;
}

/**
 * Starts opentracker on 127.0.0.1 (HTTP and UDP on one port). Debian's build
 * tracks only whitelisted torrents, so the infohashes are written to a
 * whitelist in its chroot folder.
 */
export async function startOpentracker(infoHashesHex: readonly string[]): Promise<Opentracker> {
  const tmp = tempDir('isosync-opentracker-');
  writeFileSync(join(tmp.dir, 'whitelist.txt'), infoHashesHex.map((h) => `${h}\n`).join(''), { mode: 0o644 });
  // Started as root, opentracker chroots there and drops to user nobody, who must still read the list.
  chmodSync(tmp.dir, 0o755);
  const port = await freePort();
  const child: ChildProcess = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', tmp.dir, '-w', 'whitelist.txt'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`opentracker exited ${child.exitCode}: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`opentracker did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: child.pid!,
    announce: `http://127.0.0.1:${port}/announce`,
    udp: `udp://127.0.0.1:${port}/announce`,
    stop: async () => {
      if (child.exitCode === null) {
        const closed = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await closed;
      }
      tmp.cleanup();
    },
  };
}

/** Resolves with the first payload of `event` that satisfies `pred`, or rejects after `ms`. */
export function waitFor<T>(emitter: EventEmitter, event: string, pred: (v: T) => boolean = () => true, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no matching "${event}" within ${ms} ms`));
    }, ms);
    const on = (v: T): void => {
      if (!pred(v)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(v);
    };
    emitter.on(event, on);
  });
}

export function ids(n: number): { infoHash: Uint8Array; peerId: Uint8Array } {
  const infoHash = new Uint8Array(20).fill(0xa0 + (n & 0x0f));
  const peerId = Buffer.from(`-IS0100-${String(n).padStart(12, '0')}`, 'latin1');
  return { infoHash, peerId };
}
