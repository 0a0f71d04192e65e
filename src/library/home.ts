/**
 * Where isosync keeps its catalog: --home DIR, else $ISOSYNC_HOME, else
 * $XDG_DATA_HOME/isosync, else ~/.local/share/isosync.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveHome(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (option) return resolve(option);
  const fromEnv = env['ISOSYNC_HOME'];
  if (fromEnv) return resolve(fromEnv);
  const xdg = env['XDG_DATA_HOME'];
  if (xdg) return join(resolve(xdg), 'isosync');
  return join(homedir(), '.local', 'share', 'isosync');
}
