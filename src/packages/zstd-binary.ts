/**
 * A zstd decoder for compression.ts that runs the `zstd` program (Node 20
 * has no zstd; see compression.ts). I/O adapter: the parsers only see the
 * ZstdDecoder function type. Output beyond `maxBytes` kills the child.
 */
import { spawn, spawnSync } from 'node:child_process';
import { IsosyncError } from '../errors.js';
import type { ZstdDecoder } from './compression.js';

/** The decoder when `zstd` is on PATH, else undefined (zstd members are then reported unsupported). */
export function zstdViaBinary(): ZstdDecoder | undefined {
  if (spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  return (bytes, maxBytes) =>
    new Promise((resolve, reject) => {
      const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let total = 0;
      let stderr = '';
      let over = false;
      child.stdout.on('data', (c: Buffer) => {
        total += c.length;
        if (total > maxBytes) {
          over = true;
          child.kill();
        } else chunks.push(c);
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.on('error', () => undefined); // the child may exit before reading everything
      child.on('error', (e) => reject(new IsosyncError('IO', `Cannot run zstd: ${e.message}`)));
      child.on('close', (code) => {
        if (over) reject(new IsosyncError('BAD_PACKAGE', `Cannot decompress zstd data: output exceeds the limit of ${maxBytes} bytes`));
        else if (code !== 0) reject(new IsosyncError('BAD_PACKAGE', `Cannot decompress zstd data: ${stderr.trim().split('\n')[0] ?? `zstd exited with ${code}`}`));
        else resolve(Buffer.concat(chunks));
      });
      child.stdin.end(bytes);
    });
}
