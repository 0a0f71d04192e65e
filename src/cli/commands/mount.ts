/**
 * `isosync mount IMAGE DIR` and `isosync umount DIR`: a read-only loop mount
 * (`mount -o loop,ro -t iso9660`) where the system permits one (root, a
 * kernel with iso9660, loop devices: containers usually lack one of these).
 *
 * Never a half-mounted state: IMAGE is checked to be an ISO 9660 image first;
 * DIR must be an empty directory, or absent (then it is created, and removed
 * again if the mount fails); when mount fails, DIR is left exactly as it was
 * and the one-line error says what to do instead (`isosync extract IMAGE -o
 * DIR`), exit 1. umount only unmounts an iso9660 mount point.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rmdir } from 'node:fs/promises';
import { safeComponents } from '../../iso/extract.js';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { IsosyncError, quote } from '../../errors.js';
import { withImage } from '../../iso/open-image.js';
import { action, withCommon, type CommonOptions } from '../common.js';

/** Mount points from /proc/self/mounts (octal escapes decoded) with their filesystem type. */
function mounts(): Array<{ dir: string; type: string }> {
  let text = '';
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    return { dir: unescape(f[1] ?? ''), type: f[2] ?? '' };
  });
}

/** Whether DIR is a mount point now (per /proc/self/mounts). */
function isMounted(dir: string): boolean {
  return mounts().some((m) => m.dir === dir);
}

/** DIR checked: 'absent' or an empty directory; anything else is refused. */
async function checkTarget(dir: string): Promise<'absent' | 'empty'> {
  let st;
  try {
    st = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new IsosyncError('IO', `Cannot mount on ${quote(dir)}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot mount on ${quote(dir)}: not a directory`, { path: dir });
  if ((await readdir(dir)).length > 0) throw new IsosyncError('BAD_ARGUMENT', `Cannot mount on ${quote(dir)}: the directory is not empty`, { path: dir });
  return 'empty';
}

export function register(program: Command): void {
  withCommon(program.command('mount')
    .argument('<image>', 'ISO 9660 image')
    .argument('<dir>', 'an empty directory (created if absent)')
    .description('mount an image read-only where the system permits (root, loop devices, iso9660); else use extract'), { json: false })
    .action(action(async (image: string, dirIn: string, _opts: CommonOptions) => {
      const dir = resolve(dirIn);
      const instead = `extract it instead: isosync extract ${image} -o ${dirIn}`;
      // A clear error for anything that is not an ISO image, and no mount of names that would escape it.
      await withImage(image, async (img) => {
        const byPath = new Map(img.entries.map((e) => [e.path, e]));
        for (const e of img.entries) {
          try {
            safeComponents(e, byPath, image);
          } catch (err) {
            const why = err instanceof IsosyncError && typeof err.fields['reason'] === 'string' ? err.fields['reason'] : String(err);
            throw new IsosyncError('UNSAFE_PATH', `Cannot mount ${quote(image)}: entry ${quote(e.path)} is unsafe: ${why}`, { path: e.path });
          }
        }
      });
      const state = await checkTarget(dir);
      if (process.getuid?.() !== 0) {
        throw new IsosyncError('UNSUPPORTED', `Cannot mount ${quote(image)}: a loop mount needs root; ${instead}`);
      }
      if (state === 'absent') await mkdir(dir);
      const r = spawnSync('mount', ['-o', 'loop,ro', '-t', 'iso9660', resolve(image), dir], { encoding: 'utf8' });
      if (r.status === 0 && isMounted(await realpath(dir))) {
        process.stdout.write(`Mounted ${image} read-only on ${dir} (isosync umount ${dirIn} to unmount)\n`);
        return;
      }
      // Undo whatever happened: a mount that half-succeeded, a directory we made.
      if (isMounted(dir)) spawnSync('umount', [dir], { stdio: 'ignore' });
      if (state === 'absent') await rmdir(dir).catch(() => undefined);
      const why = (r.error?.message ?? r.stderr.trim().split('\n')[0] ?? `mount exited with ${r.status}`).replace(/^mount: /, '').replace(/\.$/, '');
      throw new IsosyncError('IO', `Cannot mount ${quote(image)} on ${quote(dirIn)}: ${why}; ${instead}`);
    }));

  withCommon(program.command('umount')
    .argument('<dir>', 'a directory where isosync mount mounted an image')
    .description('unmount an image mounted with isosync mount'), { json: false })
    .action(action(async (dirIn: string, _opts: CommonOptions) => {
      let dir: string;
      try {
        dir = await realpath(dirIn);
      } catch {
        throw new IsosyncError('NOT_FOUND', `Cannot unmount ${quote(dirIn)}: no such directory`, { path: dirIn });
      }
      const m = mounts().filter((x) => x.dir === dir).pop();
      if (!m) throw new IsosyncError('BAD_ARGUMENT', `Cannot unmount ${quote(dirIn)}: not a mount point`, { path: dirIn });
      if (m.type !== 'iso9660') throw new IsosyncError('BAD_ARGUMENT', `Cannot unmount ${quote(dirIn)}: it is a ${m.type} mount, not an iso9660 image`, { path: dirIn });
      const r = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new IsosyncError('IO', `Cannot unmount ${quote(dirIn)}: ${(r.error?.message ?? r.stderr.trim().split('\n')[0] ?? '').replace(/^umount: /, '')}`);
      process.stdout.write(`Unmounted ${dirIn}\n`);
    }));
}
