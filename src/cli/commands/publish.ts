/**
 * `isosync publish IMAGE --product NAME --release VERSION ...`: makes the
 * release's torrent (single file, BitTorrent v1 unless --hybrid or --v2,
 * with product, release, lineage and delta hints inside the info dictionary)
 * and records it in the catalog. The options are declared here; what they do
 * is publish-run.ts (bin/isosync's short path, quick-publish.ts, runs it too).
 */
import type { Command } from 'commander';
import { DEFAULT_VERSION } from '../../library/publish.js';
import { action, collect, withCommon } from '../common.js';
import { runPublish, type PublishCliOptions } from './publish-run.js';

export function register(program: Command): void {
  const cmd = program
    .command('publish')
    .description("make a release's torrent (product, release, lineage inside the info dictionary) and record it in the catalog")
    .argument('<image>', 'the release image (ISO)')
    .requiredOption('--product <name>', 'product name, e.g. "distro"')
    .requiredOption('--release <version>', 'release label, e.g. "1.01"')
    .option('--previous <torrent|image>', 'an earlier release (a .torrent, or its image); repeatable; default: the catalog\'s previous release of the product', collect)
    .option('--tracker <url>', 'tracker URL; repeat for more tiers, comma-separate URLs of one tier', collect)
    .option('--web-seed <url>', 'web seed (BEP 19; http, https or ftp): the image URL, or a folder URL ending in "/"; repeatable', collect)
    .option('--piece-length <size>', 'piece length: a power of two from 2K to 16M (default by image size: 256K up to 4 GiB); auto: the largest from that default down to 16K at which a stock client with the previous release\'s image fetches at most 1.05 x the changed bytes (for images that keep files in place, such as remaster\'s)')
    .option('--hybrid', `a hybrid BitTorrent v1 + v2 torrent (BEP 52): v2 clients verify 16 KiB blocks; Transmission 3.00 and aria2 1.36 cannot use it${DEFAULT_VERSION === 'hybrid' ? ' (default)' : ''}`)
    .option('--v1', `a plain BitTorrent v1 torrent (BEP 3)${DEFAULT_VERSION === 'v1' ? ' (default)' : ''}`)
    .option('--v2', 'a BitTorrent v2-only torrent (BEP 52): clients without v2 cannot use it')
    .option('--comment <text>', 'comment stored in the torrent')
    .option('-o, --output <file>', 'where to write the torrent (default IMAGE.torrent beside the image); an existing different file needs --force')
    .option('--out-dir <dir>', 'lay out a static mirror in DIR: the image (hard link or copy), IMAGE.torrent beside it, SHA256SUMS')
    .option('--public-url <url>', "the mirror folder's URL: the torrent's first web seed is its copy of the image")
    .option('--force', 'replace a release already published under the same product and release with other content, and an existing different torrent file')
    .option('--sign <keyfile>', "sign the torrent with this Ed25519 key (outside the info dictionary: the infohash does not change); with --out-dir, also add the release to the signed feed DIR/feeds/PRODUCT")
    .option('--rotate-from <keyfile>', "with --sign and --out-dir: the key that signed the feed so far; the feed announces the new key under the old one's signature")
    .option('--feed-expires <days>', 'with --sign and --out-dir: followers refuse the feed this many days after signing unless it is re-signed (default: no expiry)');
  // Not runPublish itself: commander passes the command as a third argument, where runPublish takes an early pass.
  withCommon(cmd).action(action((image: string, opts: PublishCliOptions) => runPublish(image, opts)));
}
