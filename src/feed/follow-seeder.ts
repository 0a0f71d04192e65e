/**
 * `isosync seed --follow PRODUCT`: seeds every image of a followed product
 * that is on disk (the release in use and those --keep holds for rollback),
 * and follows the catalog: a release that `isosync update` fetched starts
 * being seeded at the next look (every POLL_MS), and an image update
 * removed stops being seeded. Peers still on the previous release keep a
 * seed for it as long as it is kept.
 *
 * One seed (src/swarm/seed.ts) per release, each on its own port; an image
 * the catalog recorded as verified and unchanged is trusted, any other is
 * hashed first. A coordinator: the polling is its only timer.
 */
import type { Catalog } from '../library/catalog.js';
import { seedImage, type Seeding } from '../swarm/seed.js';
import { parseMetainfo } from '../torrent/metainfo.js';
import { FollowStore } from './follow-store.js';
import { installedImages } from './installed.js';
import type { Warning } from '../core/warnings.js';
import { asIsosyncError } from '../errors.js';

/** How often the catalog is read for new or removed images. */
export const POLL_MS = 1000;

export type FollowSeedEvent =
  | { type: 'seeding'; product: string; release: string; infoHash: string; path: string; host: string; port: number; verified: 'catalog' | 'hashed' }
  | { type: 'stopped'; product: string; release: string; infoHash: string; path: string; uploaded: number }
  | { type: 'warning'; warning: Warning };

export interface FollowSeederOptions {
  readonly catalog: Catalog;
  readonly product: string;
  readonly host: string;
  readonly uploadSlots?: number;
  readonly uploadLimit?: number;
  readonly pollMs?: number;
  readonly onEvent: (e: FollowSeedEvent) => void;
}

interface Running {
  readonly release: string;
  readonly path: string;
  readonly seeding: Seeding;
}

export class FollowSeeder {
  private readonly running = new Map<string, Running>();
  private readonly failed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly o: FollowSeederOptions) {}

  /** Checks the product is followed, seeds what is on disk now, then keeps looking. */
  static async start(o: FollowSeederOptions): Promise<FollowSeeder> {
    new FollowStore(o.catalog).require(o.product);
    const s = new FollowSeeder(o);
    await s.look();
    s.timer = setInterval(() => void s.look(), o.pollMs ?? POLL_MS);
    return s;
  }

  /** The releases seeded now. */
  seeds(): { release: string; infoHash: string; path: string; port: number; uploaded: number }[] {
    return [...this.running.entries()].map(([infoHash, r]) => ({ release: r.release, infoHash, path: r.path, port: r.seeding.port, uploaded: r.seeding.stats().uploaded }));
  }

  /** One reconciliation at a time: a slow hash never overlaps the next look. */
  look(): Promise<void> {
    this.busy = this.busy
      .then(() => this.reconcile())
      .catch((e: unknown) => {
        const error = asIsosyncError(e);
        this.o.onEvent({ type: 'warning', warning: { code: 'CATALOG_UNREADABLE', source: 'catalog', detail: `cannot read the catalog: ${error.message}`, error } });
      });
    return this.busy;
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, { release: string; path: string }>();
    for (const i of installedImages(this.o.catalog, this.o.product)) if (!wanted.has(i.infoHash)) wanted.set(i.infoHash, { release: i.release, path: i.path });
    for (const [infoHash, r] of this.running) {
      const w = wanted.get(infoHash);
      if (w && w.path === r.path) continue;
      this.running.delete(infoHash);
      const uploaded = r.seeding.stats().uploaded;
      await r.seeding.close();
      this.o.onEvent({ type: 'stopped', product: this.o.product, release: r.release, infoHash, path: r.path, uploaded });
    }
    for (const [infoHash, w] of wanted) {
      if (this.closed || this.running.has(infoHash) || this.failed.has(`${infoHash}:${w.path}`)) continue;
      const rec = this.o.catalog.byInfoHash(infoHash);
      const img = this.o.catalog.imageAt(w.path);
      if (!rec || !img) continue;
      const verified = img.unchanged && img.verifiedAt !== null;
      try {
        const seeding = await seedImage({
          torrent: parseMetainfo(rec.torrent, `catalog record of ${this.o.product} ${rec.release}`),
          imagePath: w.path,
          host: this.o.host,
          port: 0,
          verified,
          ...(this.o.uploadSlots ? { uploadSlots: this.o.uploadSlots } : {}),
          ...(this.o.uploadLimit ? { uploadLimit: this.o.uploadLimit } : {}),
          onWarning: (warning) => this.o.onEvent({ type: 'warning', warning }),
        });
        if (this.closed) {
          await seeding.close();
          return;
        }
        this.running.set(infoHash, { release: w.release, path: w.path, seeding });
        this.o.onEvent({ type: 'seeding', product: this.o.product, release: w.release, infoHash, path: w.path, host: seeding.host, port: seeding.port, verified: verified ? 'catalog' : 'hashed' });
      } catch (e) {
        // Not retried until the image changes (a new path) or the process restarts.
        this.failed.add(`${infoHash}:${w.path}`);
        const error = asIsosyncError(e);
        this.o.onEvent({ type: 'warning', warning: { code: 'SEED_FAILED', source: w.path, detail: `cannot seed ${this.o.product} ${w.release}: ${error.message}`, error } });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.busy;
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.seeding.close().catch(() => undefined)));
  }
}
