/**
 * One update (or rollback) of a product at a time: the timer's run and a
 * hand-started one would otherwise write the same .part. The lock is a file
 * in the images folder, `.isosync-PRODUCT.lock`, created exclusively and
 * holding the owner's pid; a lock whose process is gone (a killed run) is
 * taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';

/** Whether a process with this pid exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `product` in `dir`; returns its release. Throws CONFLICT while another live process holds it. */
export function lockUpdate(dir: string, product: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `.isosync-${product}.lock`);
  // Two tries: the second after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new IsosyncError('IO', `Cannot lock ${JSON.stringify(dir)} for ${product}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: dir });
      }
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // vanished meanwhile: try again
      }
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new IsosyncError('CONFLICT', `Cannot update ${product}: another isosync (pid ${pid}) is updating it in ${dir}`, { product, pid });
      }
      rmSync(path, { force: true });
    }
  }
  throw new IsosyncError('CONFLICT', `Cannot update ${product}: another isosync keeps taking the lock ${path}`, { product });
}
