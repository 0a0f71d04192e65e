/**
 * `isosync serve DIR`: one HTTP server for plain downloads, torrents, a
 * tracker and web seeding (src/serve/server.ts). Runs until SIGINT or
 * SIGTERM, then stops everything it started and exits 0.
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { asIsosyncError, IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { resolveHome } from '../../library/home.js';
import { DEFAULT_MIN_TORRENT_BYTES } from '../../serve/served-torrents.js';
import { seeder } from '../../serve/seeder.js';
import { IsosyncServer } from '../../serve/server.js';
import { Tracker } from '../../tracker/server.js';
import { action, intOption, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { sizeOption } from '../size.js';

interface ServeCliOptions extends CommonOptions {
  host: string;
  port: string;
  publicUrl?: string;
  minSize?: string;
  listing?: boolean;
  dotfiles?: boolean;
  udp?: boolean;
  seed?: boolean;
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
    .option('--no-seed', 'do not seed the images over BitTorrent (web seed and tracker only)');
  withCommon(cmd).action(
    action(async (dir: string, opts: ServeCliOptions) => {
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
      const port = intOption('--port', opts.port, 0)!;
      if (port > 65535) throw new IsosyncError('BAD_ARGUMENT', `Invalid --port ${JSON.stringify(opts.port)}: above 65535`);
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
      const catalog = openCatalog(opts.home);
      const tracker = new Tracker({});
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
          ...(opts.seed === false ? {} : { seed: seeder({ host: opts.host, onWarning: printWarning }) }),
          onWarning: printWarning,
        });
      } catch (e) {
        catalog.close();
        await tracker.close();
        const err = e as NodeJS.ErrnoException;
        throw new IsosyncError('IO', `Cannot listen on ${opts.host}:${port}: ${err.code ?? err.message}`);
      }
      let udpPort: number | undefined;
      if (opts.udp) {
        try {
          udpPort = await tracker.listenUdp(server.port, opts.host);
        } catch (e) {
          await server.close();
          catalog.close();
          throw new IsosyncError('IO', `Cannot listen on UDP ${opts.host}:${server.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      if (opts.json) printJson({ url: server.url, root, port: server.port, udpPort: udpPort ?? null, minSize, tracker: `${server.url}/announce` });
      else {
        process.stdout.write(`isosync serve: ${root} at ${server.url}/\n`);
        process.stdout.write(`  torrents for files of ${formatBytes(minSize)} or more: ${server.url}/FILE.torrent; tracker: ${server.url}/announce${udpPort ? ` (and udp port ${udpPort})` : ''}; status: ${server.url}/status\n`);
      }
      server.warm().catch((e: unknown) => {
        const error = asIsosyncError(e);
        printWarning({ code: 'TORRENT_FAILED', source: root, detail: `cannot prepare torrents: ${error.message}`, error });
      });
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const s = await server.status();
      await server.close();
      catalog.close();
      if (!opts.json) process.stdout.write(`isosync serve: stopped after ${s.requests} requests; sent ${formatBytes(s.http.bytesSent)} over HTTP, ${formatBytes(s.bittorrent.bytesSent)} over BitTorrent\n`);
    }),
  );
}
