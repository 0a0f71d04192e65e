/**
 * `isosync tracker [--host ADDR] [--port N] [--udp] [--interval S]`: the
 * tracker alone (src/tracker/server.ts): HTTP /announce and /scrape on the
 * port, BEP 15 on UDP on the same port number with --udp. Runs until
 * SIGINT or SIGTERM, then closes its sockets and exits 0.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { startTracker } from '../../tracker/http-server.js';
import { action, intOption, printJson, withCommon, type CommonOptions, untilInterrupted } from '../common.js';
import { plainReason } from '../system-errors.js';

/** BEP 3 trackers conventionally listen on 6969. */
const DEFAULT_PORT = 6969;

interface TrackerCliOptions extends CommonOptions {
  host?: string;
  port?: string;
  udp?: boolean;
  interval?: string;
  minInterval?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('tracker')
    .description('run a BitTorrent tracker (HTTP /announce and /scrape, UDP with --udp) until interrupted')
    .option('--host <addr>', 'address to listen on (0.0.0.0 or :: for every interface)', '127.0.0.1')
    .option('--port <n>', `port for HTTP (and UDP with --udp); 0 picks a free one (default ${DEFAULT_PORT})`)
    .option('--udp', 'also answer UDP tracker requests (BEP 15) on the same port number')
    .option('--interval <s>', 'seconds between announces that clients are told (default 1800)')
    .option('--min-interval <s>', 'seconds clients must wait at least between announces (default half the interval)');
  withCommon(cmd).action(
    action(async (opts: TrackerCliOptions) => {
      const port = intOption('--port', opts.port) ?? DEFAULT_PORT;
      if (port > 65535) throw new IsosyncError('BAD_ARGUMENT', `Invalid --port "${opts.port}": must be at most 65535`);
      const interval = intOption('--interval', opts.interval, 1);
      const minInterval = intOption('--min-interval', opts.minInterval, 1);
      const host = opts.host ?? '127.0.0.1';
      let t;
      try {
        t = await startTracker({
          host,
          port,
          ...(opts.udp ? { udp: true } : {}),
          ...(interval !== undefined ? { interval } : {}),
          ...(minInterval !== undefined ? { minInterval } : {}),
        });
      } catch (e) {
        throw new IsosyncError('IO', `Cannot listen on ${host}:${port}: ${plainReason({ ...(e as NodeJS.ErrnoException), port })}`, { host, port });
      }
      // Handlers first: whoever reads the line below may signal at once.
      const stopped = untilInterrupted();
      // A wildcard address is where it listens, not an address a client can announce to.
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      const info = {
        announce: `http://${shown}:${t.httpPort}/announce`,
        ...(t.udpPort !== undefined ? { udp: `udp://${shown}:${t.udpPort}/announce` } : {}),
        interval: t.tracker.interval,
        minInterval: t.tracker.minInterval,
        pid: process.pid,
      };
      if (opts.json) printJson(info);
      else {
        process.stdout.write(`Tracker listening: ${info.announce}${info.udp ? ` and ${info.udp}` : ''} (interval ${info.interval} s)\n`);
      }
      await stopped;
      await t.close();
      if (!opts.json) process.stdout.write('Tracker stopped\n');
    }),
  );
}
