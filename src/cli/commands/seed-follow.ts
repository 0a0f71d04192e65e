/**
 * `isosync seed --follow PRODUCT`: seeds a followed product's images on
 * disk and each new release as soon as `isosync update` has fetched it,
 * until SIGINT/SIGTERM (src/feed/follow-seeder.ts). With --json, one JSON
 * object per line per event, so a supervisor can read them as they come.
 */
import { FollowSeeder, type FollowSeedEvent } from '../../feed/follow-seeder.js';
import { openCatalog } from '../../library/catalog.js';
import { formatBytes } from '../format.js';
import { warningJson } from '../../core/warnings.js';
import { printWarning, say } from '../output.js';
import { untilInterrupted } from '../common.js';

export interface SeedFollowOptions {
  readonly product: string;
  readonly home?: string;
  readonly host: string;
  readonly json: boolean;
  readonly uploadSlots?: number;
  readonly uploadLimit?: number;
}

function print(e: FollowSeedEvent, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(e.type === 'warning' ? { event: e.type, warning: warningJson(e.warning) } : { event: e.type, ...e, type: undefined })}\n`);
    return;
  }
  if (e.type === 'warning') printWarning(e.warning);
  else if (e.type === 'seeding') say(`seeding ${e.product} ${e.release} (infohash ${e.infoHash}) from ${e.path} on ${e.host}:${e.port}${e.verified === 'catalog' ? ' (verified earlier, per the catalog)' : ''}`);
  else say(`stopped seeding ${e.product} ${e.release} (${e.path} is gone); uploaded ${formatBytes(e.uploaded)}`);
}

export async function seedFollow(o: SeedFollowOptions): Promise<void> {
  const catalog = openCatalog(o.home);
  try {
    const seeder = await FollowSeeder.start({
      catalog,
      product: o.product,
      host: o.host,
      ...(o.uploadSlots ? { uploadSlots: o.uploadSlots } : {}),
      ...(o.uploadLimit ? { uploadLimit: o.uploadLimit } : {}),
      onEvent: (e) => print(e, o.json),
    });
    if (!o.json) say(`following ${o.product}: each release update fetches is seeded; Ctrl-C to stop`);
    await untilInterrupted();
    const total = seeder.seeds().reduce((n, s) => n + s.uploaded, 0);
    await seeder.close();
    if (o.json) process.stdout.write(`${JSON.stringify({ event: 'stopped-all', uploaded: total })}\n`);
    else say(`stopped; uploaded ${formatBytes(total)}`);
  } finally {
    catalog.close();
  }
}
