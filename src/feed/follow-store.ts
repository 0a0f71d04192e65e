/**
 * The feed tables of the catalog (migration 3 in src/library/migrations.ts):
 * what this machine follows (`follows`) and, on a publisher, the feed it
 * last signed per product (`published_feeds`).
 *
 * A follow row changes in three ways only: `follow` creates it (pinning a
 * key), an accepted feed raises its sequence (and may move the pinned key
 * along a signed rotation), and update/rollback set the release in use.
 */
import { IsosyncError } from '../errors.js';
import type { Catalog } from '../library/catalog.js';
import type { InfoHash } from '../torrent/info-hash.js';
import { publicKeyFromRaw, type PublicKey } from './keys.js';

export type Pinned = 'first-use' | 'given';

export interface Follow {
  readonly product: string;
  readonly url: string;
  readonly key: PublicKey;
  readonly pinned: Pinned;
  /** Images folder last used by update (null: the default under the home). */
  readonly dir: string | null;
  /** --keep last used (null: the default). */
  readonly keep: number | null;
  /** Highest feed sequence accepted, with that feed's bytes. */
  readonly sequence: number | null;
  readonly feed: Uint8Array | null;
  /** The release in use. */
  readonly current: InfoHash | null;
  /** Last check, ms since 1970, and what it found. */
  readonly checked: number | null;
  readonly outcome: string | null;
  readonly created: number;
}

interface FollowRow {
  product: string;
  url: string;
  key: Buffer;
  pinned: string;
  dir: string | null;
  keep: number | null;
  sequence: number | null;
  feed: Buffer | null;
  current: string | null;
  checked: number | null;
  outcome: string | null;
  created: number;
}

export interface PublishedFeed {
  readonly product: string;
  readonly sequence: number;
  readonly feed: Uint8Array;
  readonly updated: number;
}

export class FollowStore {
  constructor(private readonly catalog: Catalog) {}

  private get db() {
    return this.catalog.sql;
  }

  get(product: string): Follow | undefined {
    const row = this.db.prepare<[string], FollowRow>('SELECT * FROM follows WHERE product = ?').get(product);
    return row && toFollow(row);
  }

  /** The follow of `product`, or NOT_FOUND naming the followed products. */
  require(product: string): Follow {
    const f = this.get(product);
    if (f) return f;
    const all = this.all().map((x) => x.product);
    throw new IsosyncError('NOT_FOUND', `Cannot find product ${JSON.stringify(product)}: this machine follows ${all.length > 0 ? all.map((p) => JSON.stringify(p)).join(', ') : 'no product (isosync follow URL)'}`, { product });
  }

  all(): Follow[] {
    return this.db.prepare<[], FollowRow>('SELECT * FROM follows ORDER BY product').all().map(toFollow);
  }

  /** Creates the follow, or points an existing one at a new URL (same key). */
  add(f: { product: string; url: string; key: PublicKey; pinned: Pinned; sequence: number; feed: Uint8Array; now: number; outcome: string }): void {
    this.db
      .prepare(
        `INSERT INTO follows (product, url, key, pinned, sequence, feed, checked, outcome, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (product) DO UPDATE SET url = excluded.url, sequence = excluded.sequence, feed = excluded.feed, checked = excluded.checked, outcome = excluded.outcome`,
      )
      .run(f.product, f.url, f.key.raw, f.pinned, f.sequence, f.feed, f.now, f.outcome, f.now);
  }

  /** An accepted feed: its sequence and bytes, the key it is signed by now (after a rotation), and the check. */
  accept(product: string, a: { key: PublicKey; sequence: number; feed: Uint8Array; now: number }): void {
    this.db.prepare('UPDATE follows SET key = ?, sequence = ?, feed = ?, checked = ? WHERE product = ?').run(a.key.raw, a.sequence, a.feed, a.now, product);
  }

  /** What the last check found ("updated to 1.01", "refused: ...", ...). */
  noteOutcome(product: string, outcome: string, now: number): void {
    this.db.prepare('UPDATE follows SET outcome = ?, checked = ? WHERE product = ?').run(outcome, now, product);
  }

  setCurrent(product: string, infoHash: InfoHash): void {
    this.db.prepare('UPDATE follows SET current = ? WHERE product = ?').run(infoHash, product);
  }

  setPlace(product: string, dir: string, keep: number): void {
    this.db.prepare('UPDATE follows SET dir = ?, keep = ? WHERE product = ?').run(dir, keep, product);
  }

  publishedFeed(product: string): PublishedFeed | undefined {
    const row = this.db.prepare<[string], { product: string; sequence: number; feed: Buffer; updated: number }>('SELECT * FROM published_feeds WHERE product = ?').get(product);
    return row && { product: row.product, sequence: row.sequence, feed: new Uint8Array(row.feed), updated: row.updated };
  }

  recordPublishedFeed(product: string, sequence: number, feed: Uint8Array, now: number): void {
    this.db
      .prepare(
        `INSERT INTO published_feeds (product, sequence, feed, updated) VALUES (?, ?, ?, ?)
         ON CONFLICT (product) DO UPDATE SET sequence = excluded.sequence, feed = excluded.feed, updated = excluded.updated`,
      )
      .run(product, sequence, feed, now);
  }
}

function toFollow(r: FollowRow): Follow {
  const key = publicKeyFromRaw(new Uint8Array(r.key));
  if (!key) throw new IsosyncError('IO', `Cannot read the follow of ${JSON.stringify(r.product)} from the catalog: its pinned key is damaged`);
  return {
    product: r.product,
    url: r.url,
    key,
    pinned: r.pinned === 'given' ? 'given' : 'first-use',
    dir: r.dir,
    keep: r.keep,
    sequence: r.sequence,
    feed: r.feed ? new Uint8Array(r.feed) : null,
    current: r.current as InfoHash | null,
    checked: r.checked,
    outcome: r.outcome,
    created: r.created,
  };
}
