/**
 * `isosync serve DIR`: one HTTP server for plain downloads, torrents, a
 * tracker and web seeding (src/serve/server.ts). Runs until SIGINT or
 * SIGTERM, then stops everything it started and exits 0.
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { asIsosyncError, IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { resolveHome } from '../../library/home.js';
import { DEFAULT_MIN_TORRENT_BYTES } from '../../serve/served-torrents.js';
import { seeder } from '../../serve/seeder.js';
import { tuneForLongRun } from '../../core/long-running.js';
import { IsosyncServer } from '../../serve/server.js';
import { Tracker } from '../../tracker/server.js';
import { createWriteStream, openSync } from 'node:fs';
import { action, collect, portOption, printJson, printWarning, withCommon, type CommonOptions, untilInterrupted } from '../common.js';
import { outputSettings, say } from '../output.js';
import { plainReason } from '../system-errors.js';
import { formatBytes } from '../format.js';
import { sizeOption } from '../size.js';
import { Discovery } from '../../discovery/discovery.js';
import { discoverySettings, type DiscoveryArgs } from '../magnet.js';

interface ServeCliOptions extends CommonOptions, Omit<DiscoveryArgs, 'lsd'> {
  host: string;
  port: string;
  publicUrl?: string;
  minSize?: string;
  listing?: boolean;
  dotfiles?: boolean;
  udp?: boolean;
  seed?: boolean;
  accessLog?: string;
}

/** Where request log lines go: --access-log FILE (appended), else stdout with -v, else nowhere. */
async function accessLogSink(opts: ServeCliOptions): Promise<{ write?: (line: string) => void; close: () => Promise<void> }> {
  if (opts.accessLog !== undefined) {
    const path = resolve(opts.accessLog);
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o644);
    } catch (e) {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot open --access-log ${JSON.stringify(opts.accessLog)}: ${plainReason(e as NodeJS.ErrnoException)}`, { path });
    }
    const stream = createWriteStream(path, { fd, flags: 'a' });
    stream.on('error', (e) => printWarning({ code: 'ACCESS_LOG_FAILED', source: path, detail: `cannot write the access log: ${plainReason(e as NodeJS.ErrnoException)}` }));
    return { write: (line) => void stream.write(`${line}\n`), close: () => new Promise((r) => stream.end(() => r())) };
  }
  if (outputSettings().verbosity === 'verbose' && !opts.json) return { write: (line) => process.stdout.write(`${line}\n`), close: async () => undefined };
  return { close: async () => undefined };
}


export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve DIR over HTTP: files as usual, a torrent for each big file (web seed + tracker here), /status')
    .argument('<dir>', 'the folder to serve')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option('--public-url <url>', 'the URL clients reach this server at (default http://HOST:PORT)')
    .option('--min-size <size>', `smallest file that gets a torrent (default ${formatBytes(DEFAULT_MIN_TORRENT_BYTES)})`)
    .option('--listing', 'answer folder URLs with an HTML listing')
    .option('--dotfiles', 'serve names starting with "."')
    .option('--udp', 'also run the tracker over UDP (BEP 15) on the same port number')
    .option('--no-seed', 'do not seed the images over BitTorrent (web seed and tracker only)')
    .option('--no-dht', 'do not announce the seeds to the DHT (BEP 5)')
    .addOption(new Option('--dht-bootstrap <host:port>', 'a DHT node to start from; repeatable (default $ISOSYNC_DHT_BOOTSTRAP, else public routers)').argParser(collect))
    .option('--access-log <file>', 'append a line per request in the combined log format (with -v and no file: to stdout)');
  withCommon(cmd).action(
    action(async (dir: string, opts: ServeCliOptions) => {
      tuneForLongRun();
      const root = resolve(dir);
      let st;
      try {
        st = statSync(root);
      } catch {
        throw new IsosyncError('NOT_FOUND', `Cannot serve ${JSON.stringify(dir)}: no such folder`);
      }
      if (!st.isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot serve ${JSON.stringify(dir)}: not a folder`);
      // The catalog (SQLite, with every path it knows) must not become a served file.
      const home = resolveHome(opts.home);
      const inside = relative(root, home);
      const hidden = !opts.dotfiles && inside.split(sep).some((seg) => seg.startsWith('.'));
      if (!hidden && (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)))) {
        throw new IsosyncError('BAD_ARGUMENT', `Cannot serve ${JSON.stringify(dir)}: the catalog folder ${JSON.stringify(home)} is inside it and would be published (give --home outside it)`);
      }
      const port = portOption('--port', opts.port)!;
      const minSize = sizeOption('--min-size', opts.minSize, { min: 1 }) ?? DEFAULT_MIN_TORRENT_BYTES;
      if (opts.publicUrl !== undefined) {
        let u: URL | undefined;
        try {
          u = new URL(opts.publicUrl);
        } catch {
          u = undefined;
        }
        if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new IsosyncError('BAD_ARGUMENT', `Invalid --public-url ${JSON.stringify(opts.publicUrl)}: not an http(s) URL`);
      }
      const log = await accessLogSink(opts);
      const catalog = openCatalog(opts.home);
      const tracker = new Tracker({});
      // One DHT node announces every seed of the server (each on its own port).
      const dht = opts.seed === false ? undefined : discoverySettings({ ...opts, lsd: false }, catalog)?.dht;
      const discovery = dht ? await Discovery.start({ serving: [], wanted: [], later: true, tcpPort: 0, host: opts.host, dht, lsd: false, onWarning: printWarning }) : undefined;
      let server: IsosyncServer;
      try {
        server = await IsosyncServer.start({
          root,
          host: opts.host,
          port,
          minSize,
          catalog,
          listing: opts.listing ?? false,
          dotfiles: opts.dotfiles ?? false,
          ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
          tracker,
          ...(opts.seed === false ? {} : { seed: seeder({ host: opts.host, onWarning: printWarning, ...(discovery ? { discovery } : {}) }) }),
          onWarning: printWarning,
          ...(log.write ? { accessLog: log.write } : {}),
        });
      } catch (e) {
        await discovery?.close();
        catalog.close();
        await tracker.close();
        await log.close();
        throw new IsosyncError('IO', `Cannot listen on ${opts.host}:${port}: ${plainReason({ ...(e as NodeJS.ErrnoException), port })}`);
      }
      let udpPort: number | undefined;
      if (opts.udp) {
        try {
          udpPort = await tracker.listenUdp(server.port, opts.host);
        } catch (e) {
          await server.close();
          await discovery?.close();
          catalog.close();
          await log.close();
          throw new IsosyncError('IO', `Cannot listen on UDP ${opts.host}:${server.port}: ${plainReason({ ...(e as NodeJS.ErrnoException), port: server.port })}`);
        }
      }
      if (opts.json) printJson({ url: server.url, root, port: server.port, udpPort: udpPort ?? null, minSize, tracker: `${server.url}/announce` });
      else {
        say(`isosync serve: ${root} at ${server.url}/`);
        say(`  torrents for files of ${formatBytes(minSize)} or more: ${server.url}/FILE.torrent; tracker: ${server.url}/announce${udpPort ? ` (and udp port ${udpPort})` : ''}; status: ${server.url}/status`);
      }
      server.warm().catch((e: unknown) => {
        const error = asIsosyncError(e);
        printWarning({ code: 'TORRENT_FAILED', source: root, detail: `cannot prepare torrents: ${error.message}`, error });
      });
      await untilInterrupted();
      const s = await server.status();
      await server.close();
      await discovery?.close();
      catalog.close();
      await log.close();
      if (!opts.json) say(`isosync serve: stopped after ${s.requests} requests; sent ${formatBytes(s.http.bytesSent)} over HTTP, ${formatBytes(s.bittorrent.bytesSent)} over BitTorrent; saved ${formatBytes(s.saved.bytes)} compared with plain HTTP`);
    }),
  );
}
