/**
 * "HOST:PORT" of a peer given on the command line (`--peer`), checked
 * before anything starts. A module of its own so that checking a sync's
 * options loads none of the swarm.
 */
import { IsosyncError } from '../errors.js';

export function parseHostPort(spec: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new IsosyncError('BAD_ARGUMENT', `Cannot use peer ${JSON.stringify(spec)}: expected HOST:PORT`);
  return { host: m[1]!, port };
}
