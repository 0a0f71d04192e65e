/**
 * `isosync seed TORRENT IMAGE [--port N] [--host ADDR] [--peer HOST:PORT ...]`:
 * verifies IMAGE against TORRENT (unless the catalog recorded it verified and
 * it is unchanged), then seeds it until SIGINT/SIGTERM, and stops cleanly
 * (trackers told `stopped`, peers closed). Thin: src/swarm/seed.ts does it;
 * src/discovery announces it to the DHT (unless --no-dht or a private
 * torrent) and, with --lsd, on the LAN.
 */
import { tuneForLongRun } from '../../core/long-running.js';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { openCatalogIfExists } from '../../library/catalog.js';
import { readTorrentFile } from '../../library/previous.js';
import { Discovery } from '../../discovery/discovery.js';
import { seedImage } from '../../swarm/seed.js';
import { seedFromLooseFiles } from '../../subset/loose-seed.js';
import { truncatedV2, type Metainfo } from '../../torrent/metainfo.js';
import { IsosyncError } from '../../errors.js';
import { mirrorUrls } from '../sync-checks.js';
import { action, collect, intOption, printJson, printWarning, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { seedFollow } from './seed-follow.js';
import { sizeOption } from '../size.js';
import { encryptionOption, encryptionPolicy } from '../magnet.js';

interface SeedOptions extends CommonOptions {
  source?: string[];
  mirror?: string[];
  port?: string;
  host?: string;
  peer?: string[];
  uploadSlots?: string;
  uploadLimit?: string;
  superSeed?: boolean;
  catalog?: boolean;
  follow?: string;
  dht?: boolean;
  dhtPort?: string;
  dhtBootstrap?: string[];
  lsd?: boolean;
  encryption?: string;
  utp?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('seed')
    .description('seed IMAGE to BitTorrent peers until interrupted (verifies it first); with --source DIR, the pieces loose files rebuild; or, with --follow PRODUCT, every release update fetches')
    .argument('[torrent]', 'the torrent of the image')
    .argument('[image]', 'the image file (or --source DIR: no image, loose files)')
    .option('--follow <product>', 'seed a followed product: its images on disk, and each new release as soon as isosync update fetched it')
    .addOption(new Option('--source <dir>', 'no image: seed every piece the loose files in DIR rebuild and verify; repeatable').argParser(collect))
    .addOption(new Option('--mirror <url>', "with --source: where to read the image's directory tree (http, https, ftp); repeatable").argParser(collect))
    .option('--port <n>', 'port to listen on for peers (0: any free port)', '6881')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--peer <host:port>', 'a peer to connect to; repeatable').argParser(collect))
    .option('--upload-slots <n>', 'peers uploaded to at once')
    .option('--upload-limit <rate>', 'upload rate limit per second, e.g. 5M (0: none)')
    .option('--super-seed', 'BEP 16 super-seeding: reveal pieces one at a time (a first seed)')
    .option('--no-catalog', 'do not trust the catalog: always verify the image')
    .option('--no-dht', 'do not announce to the DHT (BEP 5)')
    .option('--dht-port <n>', 'UDP port of the DHT node (default: the peer port, else any)')
    .addOption(new Option('--dht-bootstrap <host:port>', 'a DHT node to start from; repeatable (default $ISOSYNC_DHT_BOOTSTRAP, else public routers)').argParser(collect))
    .option('--lsd', 'announce on the local network by multicast (BEP 14 local peer discovery)')
    .addOption(encryptionOption())
    .option('--no-utp', 'TCP only: no uTP (BEP 29)');
  withCommon(cmd).action(
    action(async (torrentArg: string | undefined, imageArg: string | undefined, opts: SeedOptions) => {
      tuneForLongRun();
      if (opts.follow !== undefined) {
        if (torrentArg !== undefined) throw new IsosyncError('BAD_ARGUMENT', 'Invalid seed --follow: give a product, not TORRENT and IMAGE');
        const uploadSlots = intOption('--upload-slots', opts.uploadSlots, 1);
        const uploadLimit = intOption('--upload-limit', opts.uploadLimit, 0);
        return seedFollow({ product: opts.follow, host: opts.host ?? '127.0.0.1', json: opts.json ?? false, ...(opts.home !== undefined ? { home: opts.home } : {}), ...(uploadSlots ? { uploadSlots } : {}), ...(uploadLimit ? { uploadLimit } : {}) });
      }
      if (torrentArg === undefined) throw new IsosyncError('BAD_ARGUMENT', 'Invalid seed: give TORRENT and IMAGE (or --source DIR, or --follow PRODUCT)');
      const torrent = readTorrentFile(torrentArg);
      if (opts.source?.length) {
        if (imageArg !== undefined) throw new IsosyncError('BAD_ARGUMENT', 'Cannot seed: give an IMAGE or --source DIR, not both');
        return seedLoose(torrent, opts);
      }
      if (opts.mirror?.length) throw new IsosyncError('BAD_ARGUMENT', 'Invalid --mirror: it is where --source reads the directory tree from');
      if (imageArg === undefined) throw new IsosyncError('BAD_ARGUMENT', 'Cannot seed: give the IMAGE, or --source DIR to seed from loose files');
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
        encryption: encryptionPolicy(opts.encryption),
        ...(opts.utp === false ? { utp: false } : {}),
        onWarning: printWarning,
      });
      const dhtState = opts.dht !== false && opts.catalog !== false ? openCatalogIfExists(opts.home) : undefined;
      const dhtPort = intOption('--dht-port', opts.dhtPort, 0);
      const discovery = await Discovery.start({
        // A hybrid is in two swarms (BEP 52): its v1 infohash and its truncated v2 one.
        serving: [torrent.infoHash, ...(torrent.version === 'hybrid' && torrent.v2 ? [truncatedV2(torrent.v2).hex] : [])].map((infoHash) => ({ infoHash, private: torrent.private })),
        wanted: [],
        tcpPort: seeding.port,
        host: seeding.host,
        dht: opts.dht === false ? false : { ...(dhtPort !== undefined ? { port: dhtPort } : {}), ...(opts.dhtBootstrap ? { bootstrap: opts.dhtBootstrap } : {}), ...(dhtState ? { store: dhtState } : {}) },
        lsd: opts.lsd === true,
        onWarning: printWarning,
      });
      const where = `${seeding.host}:${seeding.port}`;
      const dhtNote = discovery.dhtPort !== undefined ? `, DHT on UDP ${discovery.dhtPort}` : '';
      if (opts.json) printJson({ seeding: torrent.name, infoHash: torrent.infoHash, host: seeding.host, port: seeding.port, dhtPort: discovery.dhtPort ?? null, verified: verified ? 'catalog' : 'hashed' });
      else process.stdout.write(`seeding ${torrent.name} (${formatBytes(torrent.length)}, infohash ${torrent.infoHash}) on ${where}${dhtNote}${verified ? ' (verified earlier, per the catalog)' : ''}; Ctrl-C to stop\n`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      const s = seeding.stats();
      await discovery.close();
      dhtState?.close();
      await seeding.close();
      if (opts.json) printJson({ stopped: true, uploaded: s.uploaded, peers: s.peers });
      else process.stdout.write(`stopped; uploaded ${formatBytes(s.uploaded)} to ${s.peers.length} peer(s)\n`);
    }),
  );
}

/** `seed TORRENT --source DIR`: no image; the pieces the loose files rebuild and verify (src/subset/loose-seed.ts). */
async function seedLoose(torrent: Metainfo, opts: SeedOptions): Promise<void> {
  const mirrors = mirrorUrls({ mirror: opts.mirror ?? [] });
  const uploadSlots = intOption('--upload-slots', opts.uploadSlots, 1);
  const uploadLimit = sizeOption('--upload-limit', opts.uploadLimit, { rate: true });
  const seeding = await seedFromLooseFiles({
    torrent,
    sourceDirs: opts.source ?? [],
    mirrors,
    peers: opts.peer ?? [],
    host: opts.host ?? '127.0.0.1',
    port: intOption('--port', opts.port, 0) ?? 6881,
    ...(uploadSlots ? { uploadSlots } : {}),
    ...(uploadLimit ? { uploadLimit } : {}),
    onWarning: printWarning,
  });
  const where = `${seeding.host}:${seeding.port}`;
  if (opts.json) printJson({ seeding: torrent.name, infoHash: torrent.infoHash, host: seeding.host, port: seeding.port, pieces: seeding.pieces, pieceCount: torrent.pieceCount, bytes: seeding.bytes, have: seeding.have.map((h) => (h ? '1' : '0')).join(''), looseFiles: seeding.looseFiles, matchedFiles: seeding.matchedFiles });
  else process.stdout.write(`seeding ${seeding.pieces} of ${torrent.pieceCount} pieces of ${torrent.name} (${formatBytes(seeding.bytes)}), rebuilt from ${seeding.matchedFiles} of ${seeding.looseFiles} loose files, on ${where}; Ctrl-C to stop\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  const s = seeding.peers.report();
  await seeding.close();
  if (opts.json) printJson({ stopped: true, uploaded: s.uploaded, peers: s.list });
  else process.stdout.write(`stopped; uploaded ${formatBytes(s.uploaded)} to ${s.list.length} peer(s)\n`);
}
