/**
 * `isosync seed TORRENT IMAGE [--port N] [--host ADDR] [--peer HOST:PORT ...]`:
 * verifies IMAGE against TORRENT (unless the catalog recorded it verified and
 * it is unchanged), then seeds it until SIGINT/SIGTERM, and stops cleanly
 * (trackers told `stopped`, peers closed). Thin: src/swarm/seed.ts does it.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { openCatalogIfExists } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { seedImage } from '../../swarm/seed.js';
import { action, collect, intOption, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { sizeOption } from '../size.js';

interface SeedOptions extends CommonOptions {
  port?: string;
  host?: string;
  peer?: string[];
  uploadSlots?: string;
  uploadLimit?: string;
  superSeed?: boolean;
  catalog?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('seed')
    .description('seed IMAGE to BitTorrent peers until interrupted (verifies it first)')
    .argument('<torrent>', 'the torrent of the image')
    .argument('<image>', 'the image file')
    .option('--port <n>', 'port to listen on for peers (0: any free port)', '6881')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--peer <host:port>', 'a peer to connect to; repeatable').argParser(collect))
    .option('--upload-slots <n>', 'peers uploaded to at once')
    .option('--upload-limit <rate>', 'upload rate limit per second, e.g. 5M (0: none)')
    .option('--super-seed', 'BEP 16 super-seeding: reveal pieces one at a time (a first seed)')
    .option('--no-catalog', 'do not trust the catalog: always verify the image');
  withCommon(cmd).action(
    action(async (torrentArg: string, imageArg: string, opts: SeedOptions) => {
      const torrent = readTorrentFile(torrentArg);
      const imagePath = resolve(imageArg);
      let verified = false;
      if (opts.catalog !== false) {
        const catalog = openCatalogIfExists(opts.home);
        try {
          const rec = catalog?.imageAt(imagePath);
          verified = Boolean(rec && rec.unchanged && rec.verifiedAt !== null && rec.infoHash === torrent.infoHash);
        } finally {
          catalog?.close();
        }
      }
      const uploadSlots = intOption('--upload-slots', opts.uploadSlots, 1);
      const uploadLimit = sizeOption('--upload-limit', opts.uploadLimit, { rate: true });
      const seeding = await seedImage({
        torrent,
        imagePath,
        host: opts.host ?? '127.0.0.1',
        port: intOption('--port', opts.port, 0) ?? 6881,
        peers: opts.peer ?? [],
        verified,
        ...(uploadSlots ? { uploadSlots } : {}),
        ...(uploadLimit ? { uploadLimit } : {}),
        ...(opts.superSeed ? { superSeed: true } : {}),
        onWarning: printWarning,
      });
      const where = `${seeding.host}:${seeding.port}`;
      if (opts.json) printJson({ seeding: torrent.name, infoHash: torrent.infoHash, host: seeding.host, port: seeding.port, verified: verified ? 'catalog' : 'hashed' });
      else process.stdout.write(`seeding ${torrent.name} (${formatBytes(torrent.length)}, infohash ${torrent.infoHash}) on ${where}${verified ? ' (verified earlier, per the catalog)' : ''}; Ctrl-C to stop\n`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      const s = seeding.stats();
      await seeding.close();
      if (opts.json) printJson({ stopped: true, uploaded: s.uploaded, peers: s.peers });
      else process.stdout.write(`stopped; uploaded ${formatBytes(s.uploaded)} to ${s.peers.length} peer(s)\n`);
    }),
  );
}
