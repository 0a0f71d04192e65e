/**
 * `isosync follow URL [--key KEY]`: subscribe this machine to a product's
 * signed release feed (src/feed/follow.ts). Exit 0 when followed, 4 when the
 * feed is refused (unsigned, wrongly signed, another key, expired), 1 when
 * it cannot be fetched, 2 for bad input.
 */
import type { Command } from 'commander';
import { say } from '../output.js';
import { refusalOf } from '../../feed/feed-verify.js';
import { followFeed } from '../../feed/follow.js';
import { parsePublicKey } from '../../feed/keys.js';
import { EXIT_CODES } from '../../feed/update-plan.js';
import { openCatalog } from '../../library/catalog.js';
import { action, printJson, reportError, debugRequested, withCommon, type CommonOptions } from '../common.js';

interface FollowOptions extends CommonOptions {
  key?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('follow')
    .description("subscribe this machine to a product's signed release feed (then: isosync update)")
    .argument('<url>', 'the feed URL, e.g. http://mirror.example/feeds/distro')
    .option('--key <pubkey>', 'the publisher key to require (ed25519:..., as isosync keygen prints it); default: pin the feed\'s key on first use')
    .addHelpText('after', '\nExit codes: 0 followed, 1 the feed could not be fetched, 2 bad input, 4 the feed was refused.\n');
  withCommon(cmd).action(
    action(async (url: string, opts: FollowOptions) => {
      const given = opts.key !== undefined ? parsePublicKey(opts.key, '--key') : undefined;
      const catalog = openCatalog(opts.home);
      try {
        const r = await followFeed(catalog, url, given, Date.now());
        const body = r.accepted.feed.body;
        const newest = body.releases[0];
        if (opts.json) {
          printJson({ product: r.product, url: r.url, key: r.key.id, pinned: r.pinned, pinnedNow: r.pinnedNow, sequence: body.sequence, newest: newest ? { release: newest.release, infoHash: newest.infoHash } : null, rotatedFrom: r.accepted.rotatedFrom.map((k) => k.id) });
          return;
        }
        say(`${r.again ? 'still following' : 'following'} ${r.product} at ${r.url}`);
        if (r.pinnedNow) say(`  key       ${r.key.id}: pinned on first use; check it against the key the publisher announces (feeds signed by any other key will be refused)`);
        else say(`  key       ${r.key.id} (${r.pinned === 'given' ? 'given with --key' : 'pinned on first use'})`);
        for (const k of r.accepted.rotatedFrom) say(`  rotated   from ${k.id}, under its signature`);
        say(`  feed      sequence ${body.sequence}, ${body.releases.length} release(s)${newest ? `, newest ${newest.release}` : ''}`);
        say(`  next      isosync update ${r.product}`);
      } catch (e) {
        if (!refusalOf(e)) throw e;
        reportError(e, debugRequested());
        process.exitCode = EXIT_CODES.refused;
      } finally {
        catalog.close();
      }
    }),
  );
}
