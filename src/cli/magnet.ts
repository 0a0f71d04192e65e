/**
 * `isosync sync 'magnet:?xt=...'`: the command-line side of magnet links and
 * of the DHT/LSD options of sync. The info dictionary comes from peers
 * (src/swarm/magnet-target.ts); it is saved as NAME.torrent beside the image
 * (torrent-name.ts), so the same sync can later be run, or resumed, from the
 * file; then the sync goes on as with a torrent file, dialing first the peers
 * that sent the dictionary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { DiscoveryOptions } from '../discovery/discovery.js';
import { bootstrapFromEnv } from '../discovery/discovery.js';
import type { DhtStateStore } from '../discovery/dht.js';
import { writeFileAtomic } from '../library/atomic-write.js';
import { torrentFileName } from '../library/torrent-name.js';
import { parseMagnet } from '../torrent/magnet.js';
import type { Metainfo } from '../torrent/metainfo.js';
import type { WarningSink } from '../core/warnings.js';
import { collect } from './common.js';

export { isMagnet } from '../torrent/magnet.js';

export interface DiscoveryArgs {
  dht?: boolean;
  dhtBootstrap?: string[];
  lsd?: boolean;
}

/** MSE/PE policy names on the command line, as the swarm knows them. */
export const ENCRYPTION_MODES = { auto: 'prefer-plaintext', require: 'require' } as const;

/** `--encryption auto|require`: plaintext first and MSE/PE for a peer that hangs up on it, or MSE/PE both ways. */
export function encryptionOption(): Option {
  return new Option('--encryption <mode>', 'MSE/PE: auto (plaintext, encrypted for a peer that refuses it) or require (encrypted both ways)').choices(Object.keys(ENCRYPTION_MODES)).default('auto');
}

export function encryptionPolicy(mode: string | undefined): 'prefer-plaintext' | 'require' {
  return mode === 'require' ? 'require' : 'prefer-plaintext';
}

/** --no-dht, --dht-bootstrap and --lsd (sync; seed has its own, with --dht-port). */
export function discoveryOptions(cmd: Command): Command {
  return cmd
    .option('--no-dht', 'do not look peers up in the DHT (BEP 5) nor announce there')
    .addOption(new Option('--dht-bootstrap <host:port>', 'a DHT node to start from; repeatable (default $ISOSYNC_DHT_BOOTSTRAP, else public routers)').argParser(collect))
    .option('--lsd', 'find peers on the local network by multicast (BEP 14 local peer discovery)');
}

/**
 * The DHT and LSD settings of a sync, or undefined when neither can find
 * anyone: --no-dht, or no node to start from (no router configured and none
 * kept in the catalog), and no --lsd.
 */
export function discoverySettings(opts: DiscoveryArgs, store: DhtStateStore | undefined): Pick<DiscoveryOptions, 'dht' | 'lsd'> | undefined {
  const bootstrap = opts.dhtBootstrap ?? bootstrapFromEnv();
  const known = bootstrap.length > 0 || (store?.dhtState().nodes.length ?? 0) > 0;
  const dht = opts.dht !== false && known ? { bootstrap, ...(store ? { store } : {}) } : false;
  if (dht === false && opts.lsd !== true) return undefined;
  return { dht, lsd: opts.lsd === true };
}

export interface MagnetTargetOptions extends DiscoveryArgs {
  readonly peer?: readonly string[];
  readonly host?: string;
  readonly output?: string;
  /** Save the torrent beside the image (sync; not plan, which writes nothing). */
  readonly save: boolean;
  /** Seconds without the dictionary before giving up. */
  readonly timeoutSeconds?: number;
  readonly store?: DhtStateStore;
  readonly encryption?: string;
  readonly onWarning: WarningSink;
  /** What the progress line says while the dictionary is fetched. */
  readonly onPhase: (text: string) => void;
}

/** The target of a magnet link, as `targetOf` in sync.ts returns it for a torrent file. */
export async function magnetTarget(uri: string, o: MagnetTargetOptions): Promise<{ target: Metainfo; torrentFile: Uint8Array; extraSeeds: string[]; preferredTrackers: string[]; peers: string[] }> {
  const link = parseMagnet(uri);
  for (const why of link.ignored) o.onWarning({ code: 'MAGNET_PARAM_IGNORED', source: 'magnet link', detail: `ignored ${why}` });
  const discovery = discoverySettings(o, o.store);
  o.onPhase('fetching the torrent from peers');
  // The swarm's modules load only for a magnet link (session.ts: a web-seed-only sync never loads them).
  const { resolveMagnet } = await import('../swarm/magnet-target.js');
  const got = await resolveMagnet(link, {
    peers: o.peer ?? [],
    host: o.host ?? '127.0.0.1',
    dht: discovery?.dht ?? false,
    lsd: discovery?.lsd ?? false,
    ...(o.timeoutSeconds ? { timeoutMs: o.timeoutSeconds * 1000 } : {}),
    encryption: encryptionPolicy(o.encryption),
    onWarning: o.onWarning,
    onPeers: (n) => o.onPhase(`fetching the torrent from peers (${n} connected)`),
  });
  if (!o.save) return { target: got.metainfo, torrentFile: got.torrentFile, extraSeeds: [], preferredTrackers: [], peers: [...got.peers] };
  const output = resolve(o.output ?? got.metainfo.name);
  const torrentPath = join(dirname(output), torrentFileName(basename(output)));
  // Nothing is lost: a different torrent file already under that name stays.
  if (!existsSync(torrentPath)) writeFileAtomic(torrentPath, got.torrentFile);
  else if (!Buffer.from(readFileSync(torrentPath)).equals(Buffer.from(got.torrentFile))) {
    o.onWarning({ code: 'MAGNET_TORRENT_NOT_SAVED', source: torrentPath, detail: 'another torrent file is already there: the magnet link\'s torrent is not saved' });
  }
  return { target: got.metainfo, torrentFile: got.torrentFile, extraSeeds: [], preferredTrackers: [], peers: [...got.peers] };
}
