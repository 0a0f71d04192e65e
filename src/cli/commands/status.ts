/**
 * `isosync status [PRODUCT] [--json]`: what this machine follows, from the
 * catalog alone (no network): the feed and its pinned key, the release in
 * use, the releases on disk, the newest one the last accepted feed names,
 * and the last check with what it found.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { say } from '../output.js';
import { parseFeed } from '../../feed/feed-format.js';
import { FollowStore, type Follow } from '../../feed/follow-store.js';
import { installedImages } from '../../feed/installed.js';
import { newestFirst } from '../../feed/update-plan.js';
import { openCatalogIfExists, type Catalog } from '../../library/catalog.js';
import { action, printJson, withCommon, type CommonOptions } from '../common.js';

export interface StatusJson {
  product: string;
  url: string;
  key: string;
  pinned: 'first-use' | 'given';
  dir: string | null;
  keep: number | null;
  inUse: { release: string; infoHash: string; path: string | null } | null;
  installed: { release: string; infoHash: string; path: string }[];
  newest: { release: string; infoHash: string; date: number } | null;
  feed: { sequence: number; updated: number; expires: number | null; releases: number } | null;
  lastCheck: { at: number; outcome: string | null } | null;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export function statusOf(catalog: Catalog, f: Follow): StatusJson {
  const installed = newestFirst(installedImages(catalog, f.product));
  let feed: StatusJson['feed'] = null;
  let newest: StatusJson['newest'] = null;
  if (f.feed) {
    const body = parseFeed(f.feed, f.url).body;
    feed = { sequence: body.sequence, updated: body.updated, expires: body.expires ?? null, releases: body.releases.length };
    const n = body.releases[0];
    if (n) newest = { release: n.release, infoHash: n.infoHash, date: n.date };
  }
  const current = f.current ? catalog.byInfoHash(f.current) : undefined;
  return {
    product: f.product,
    url: f.url,
    key: f.key.id,
    pinned: f.pinned,
    dir: f.dir,
    keep: f.keep,
    inUse: f.current ? { release: current?.release ?? '?', infoHash: f.current, path: installed.find((i) => i.infoHash === f.current)?.path ?? null } : null,
    installed: installed.map((i) => ({ release: i.release, infoHash: i.infoHash, path: i.path })),
    newest,
    feed,
    lastCheck: f.checked !== null ? { at: f.checked, outcome: f.outcome } : null,
  };
}

function printText(s: StatusJson): void {
  const lines: [string, string][] = [
    ['feed', `${s.url}${s.feed ? ` (sequence ${s.feed.sequence}, signed ${iso(s.feed.updated)}, ${s.feed.expires !== null ? `expires ${iso(s.feed.expires)}` : 'no expiry'})` : ''}`],
    ['key', `${s.key} (${s.pinned === 'given' ? 'given with --key' : 'pinned on first use'})`],
    ['in use', s.inUse ? `${s.inUse.release}  ${s.inUse.path ?? '(image not on disk)'}` : 'nothing yet (isosync update)'],
    ['on disk', s.installed.length > 0 ? s.installed.map((i) => `${i.release}  ${i.path}`).join('\n') : 'nothing'],
    ['newest', s.newest ? `${s.newest.release} (published ${iso(s.newest.date)})${s.inUse && s.newest.infoHash === s.inUse.infoHash ? ', in use' : ', not installed'}` : 'unknown'],
    ['last check', s.lastCheck ? `${new Date(s.lastCheck.at).toISOString().replace(/\.\d+Z$/, 'Z')}: ${s.lastCheck.outcome ?? ''}` : 'never'],
  ];
  say(`${s.product}`);
  for (const [k, v] of lines) {
    const [first, ...rest] = v.split('\n');
    say(`  ${k.padEnd(11)} ${first}`);
    for (const r of rest) say(`  ${' '.repeat(11)} ${r}`);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description('list followed products: feed and key, release in use, releases on disk, newest available, last check')
    .argument('[product]', 'one followed product (default: every one)');
  withCommon(cmd).action(
    action(async (product: string | undefined, opts: CommonOptions) => {
      const catalog = openCatalogIfExists(opts.home);
      if (!catalog) {
        if (product !== undefined) throw new IsosyncError('NOT_FOUND', `Cannot find product ${JSON.stringify(product)}: this machine follows no product (isosync follow URL)`, { product });
        if (opts.json) return printJson([]);
        return say('this machine follows no product (isosync follow URL)');
      }
      try {
        const store = new FollowStore(catalog);
        const follows = product !== undefined ? [store.require(product)] : store.all();
        const out = follows.map((f) => statusOf(catalog, f));
        if (opts.json) return printJson(out);
        if (out.length === 0) say('this machine follows no product (isosync follow URL)');
        out.forEach((s) => printText(s));
      } finally {
        catalog.close();
      }
    }),
  );
}
