/**
 * What benches ask of the machine and of the processes they start: whether
 * a tool is installed, a file's SHA-256, and a child's output as it comes
 * (stdout as lines, the tail of stderr).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Whether `tool` is on PATH. */
export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** The SHA-256 of a file, read in 4 MiB chunks. */
export async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Collects `child`'s stdout lines into `lines` as they end, and the last `stderrChars` of its stderr. */
export function captureOutput(child: ChildProcess, lines: string[], stderrChars = 1_000_000): { stderr: () => string } {
  let buf = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-stderrChars)));
  return { stderr: () => err };
}

/** Puts `src` into the served folder `www` as `name`: a hard link, or a symlink across file systems. */
export function serveFile(src: string, www: string, name: string): void {
  const dst = join(www, name);
  try {
    linkSync(src, dst);
  } catch {
    symlinkSync(src, dst);
  }
}
