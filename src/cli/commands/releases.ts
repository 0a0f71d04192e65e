/**
 * `isosync releases [PRODUCT] [--json]`: the catalog's releases, each
 * product's newest first, with infohash, image, size and date.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { join } from 'node:path';
import { CATALOG_FILE, openCatalogIfExists, type ReleaseRecord } from '../../library/catalog.js';
import { resolveHome } from '../../library/home.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';

export interface ReleasesJson {
  product: string;
  releases: {
    release: string;
    infoHash: string;
    imagePath: string | null;
    imageSize: number;
    created: string;
    lineage: { release: string; infoHash: string }[];
  }[];
}

function toJson(product: string, rs: readonly ReleaseRecord[]): ReleasesJson {
  return {
    product,
    releases: rs.map((r) => ({
      release: r.release,
      infoHash: r.infoHash,
      imagePath: r.imagePath,
      imageSize: r.imageSize,
      created: new Date(r.created).toISOString(),
      lineage: r.lineage.map((e) => ({ release: e.release, infoHash: e.infoHash })),
    })),
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('releases')
    .description("list the catalog's releases, each product's lineage newest first")
    .argument('[product]', 'only this product');
  withCommon(cmd).action(
    action(async (product: string | undefined, opts: CommonOptions) => {
      const catalog = openCatalogIfExists(opts.home);
      const where = catalog?.path ?? join(resolveHome(opts.home), CATALOG_FILE);
      try {
        const products = product !== undefined ? [product] : (catalog?.products() ?? []);
        const out = products.map((p) => toJson(p, catalog?.releasesOf(p) ?? []));
        if (product !== undefined && out[0]!.releases.length === 0) {
          throw new IsosyncError('NOT_FOUND', `No releases of ${JSON.stringify(product)} in ${JSON.stringify(where)}`, { product });
        }
        if (opts.json) {
          printJson(out);
          return;
        }
        if (out.length === 0) process.stdout.write(`No releases recorded in ${where}\n`);
        for (const p of out) {
          process.stdout.write(`${p.product}\n`);
          const w = p.releases.reduce((n, r) => Math.max(n, r.release.length), 0);
          for (const r of p.releases) {
            const date = r.created.slice(0, 16).replace('T', ' ');
            process.stdout.write(`  ${r.release.padEnd(w)}  ${r.infoHash}  ${date}  ${formatBytes(r.imageSize).padStart(10)}  ${r.imagePath ?? '-'}\n`);
          }
        }
      } finally {
        catalog?.close();
      }
    }),
  );
}
