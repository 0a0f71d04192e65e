/**
 * What `isosync publish` does once its words are parsed: the command line
 * (publish.ts, through commander) and bin/isosync's short path
 * (quick-publish.ts) both run runPublish, so both print, write and fail
 * alike. It imports no commander.
 */
import { IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { basename } from 'node:path';
import { DEFAULT_VERSION, publishRelease, type PublishPhase, type PublishResult } from '../../library/publish.js';
import type { MetaVersion } from '../../torrent/metainfo.js';
import type { PublishedFeedResult } from '../../feed/publisher.js';
import { printWarning, say } from '../output.js';
import { ProgressLine } from '../progress.js';
import { checkPieceLength } from '../../torrent/piece-length.js';
import { sizeOption } from '../size.js';
import { printJson, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { metainfoJson } from '../metainfo-json.js';
import { startPublishHashing, type StartedHashing } from '../../library/publish-hashing.js';

export interface PublishCliOptions extends CommonOptions {
  product: string;
  release: string;
  previous?: string[];
  tracker?: string[];
  webSeed?: string[];
  pieceLength?: string;
  comment?: string;
  output?: string;
  force?: boolean;
  outDir?: string;
  publicUrl?: string;
  sign?: string;
  rotateFrom?: string;
  feedExpires?: string;
  v1?: boolean;
  v2?: boolean;
  hybrid?: boolean;
}

/** --v1 / --v2 / --hybrid: at most one; none means the library's default. */
function versionOption(opts: PublishCliOptions): MetaVersion | undefined {
  const chosen = (['v1', 'v2', 'hybrid'] as const).filter((v) => opts[v] === true);
  if (chosen.length > 1) throw new IsosyncError('BAD_ARGUMENT', `Invalid options ${chosen.map((v) => `--${v}`).join(' ')}: choose one torrent version`);
  return chosen[0];
}

/** $SOURCE_DATE_EPOCH (reproducible builds) fixes the creation date, else now. */
function creationDateFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new IsosyncError('BAD_ARGUMENT', `Invalid SOURCE_DATE_EPOCH ${JSON.stringify(v)}: not a whole number of seconds`);
  return Number(v);
}

/** Whole days, as --feed-expires takes them, in seconds. */
function feedLifetime(days: string | undefined): number | undefined {
  if (days === undefined) return undefined;
  if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 36500) throw new IsosyncError('BAD_ARGUMENT', `Invalid --feed-expires ${JSON.stringify(days)}: a whole number of days from 1 to 36500`);
  return Number(days) * 86400;
}

function resultJson(r: PublishResult, feed?: PublishedFeedResult, signer?: string) {
  const m = r.metainfo;
  return {
    torrent: r.outPath,
    ...metainfoJson(m),
    lineage: r.lineage.map((e) => ({ release: e.release, infoHash: e.infoHash })),
    previous: r.previous.map((p) => ({ release: p.release, infoHash: p.infoHash, imagePath: p.imagePath ?? null, via: p.via })),
    hints: r.hints,
    catalog: r.outcome,
    hashSeconds: Number(r.hashSeconds.toFixed(3)),
    autoPieceLength: r.autoPieceLength
      ? { pieceLength: r.autoPieceLength.pieceLength, against: r.autoPieceLength.against, fetchBytes: r.autoPieceLength.fetchBytes, changedBytes: r.autoPieceLength.changedBytes }
      : null,
    outDir: r.layout ? { image: r.layout.image, torrent: r.layout.torrent, sums: r.layout.sums, imageBy: r.layout.imageBy, sha256: r.layout.sha256 } : null,
    signedBy: signer ?? null,
    feed: feed ? { path: feed.path, urlPath: feed.urlPath, sequence: feed.sequence, releases: feed.releases, rotated: feed.rotated, expires: feed.expires ?? null } : null,
  };
}

function phaseWords(p: PublishPhase): string {
  switch (p.phase) {
    case 'checking':
      return `checking ${basename(p.image)}`;
    case 'piece-length':
      return `choosing a piece length against ${p.against}`;
    case 'hashing':
      return `hashing ${basename(p.image)}`;
    case 'hints':
      return `computing delta hints against ${p.against.join(', ')}`;
    case 'writing':
      return `writing ${basename(p.torrent)}`;
  }
}

/** The modules of --sign: key files, torrent signatures, the signed feed. */
async function loadFeed() {
  const [keyFile, publisher, signature] = await Promise.all([import('../../feed/key-file.js'), import('../../feed/publisher.js'), import('../../feed/torrent-signature.js')]);
  return { readKeyFile: keyFile.readKeyFile, checkFeed: publisher.checkFeed, publishFeed: publisher.publishFeed, signTorrent: signature.signTorrent };
}

/** Publishes `image` as the command line's options say; errors are thrown (the caller prints them). */
/**
 * `early`: the pass quick-publish.ts started before it loaded this module, for options that give no piece length
 * and no version (earlyHashing); the same pass this would start.
 */
export async function runPublish(image: string, opts: PublishCliOptions, early?: StartedHashing): Promise<void> {
  let started = early;
  try {
    const creationDate = creationDateFromEnv();
    const pieceLength = opts.pieceLength === 'auto' ? 'auto' : sizeOption('--piece-length', opts.pieceLength);
    if (typeof pieceLength === 'number') checkPieceLength(pieceLength, opts.pieceLength);
    const version = versionOption(opts);
    // Hashing starts first, before the catalog opens and the image is checked (library/publish-hashing.ts).
    started ??= pieceLength === 'auto' ? undefined : startPublishHashing(image, pieceLength, (version ?? DEFAULT_VERSION) !== 'v1');
    await publishWith(image, opts, { creationDate, pieceLength, version, started });
  } finally {
    // publishRelease adopts or cancels it; this ends it when publish failed before (after finish(), nothing is left to stop).
    started?.pass.cancel();
  }
}

interface Settled {
  readonly creationDate: number | undefined;
  readonly pieceLength: number | 'auto' | undefined;
  readonly version: MetaVersion | undefined;
  readonly started: StartedHashing | undefined;
}

async function publishWith(image: string, opts: PublishCliOptions, { creationDate, pieceLength, version, started }: Settled): Promise<void> {
  if (opts.sign === undefined && (opts.rotateFrom !== undefined || opts.feedExpires !== undefined)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${opts.rotateFrom !== undefined ? '--rotate-from' : '--feed-expires'}: it needs --sign KEYFILE (and --out-dir DIR for the feed)`);
  }
  const lifetime = feedLifetime(opts.feedExpires);
  // Signing and the feed load only with --sign.
  const feedMod = opts.sign !== undefined ? await loadFeed() : undefined;
  const key = feedMod ? feedMod.readKeyFile(opts.sign!, printWarning) : undefined;
  const rotateFrom = feedMod && opts.rotateFrom !== undefined ? feedMod.readKeyFile(opts.rotateFrom, printWarning) : undefined;
  if ((rotateFrom || lifetime !== undefined) && opts.outDir === undefined) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${rotateFrom ? '--rotate-from' : '--feed-expires'}: the feed is written only with --out-dir DIR`);
  }
  const line = new ProgressLine().start(`checking ${basename(image)}`);
  const catalog = openCatalog(opts.home);
  try {
    // The feed's key rule is checked before anything is written.
    if (key && opts.outDir !== undefined) feedMod!.checkFeed(catalog, opts.outDir, opts.product, key, rotateFrom);
    const r = await publishRelease(catalog, {
      imagePath: image,
      product: opts.product,
      release: opts.release,
      previous: opts.previous ?? [],
      trackers: (opts.tracker ?? []).map((t) => t.split(',').map((u) => u.trim()).filter((u) => u.length > 0)),
      webSeeds: opts.webSeed ?? [],
      force: opts.force ?? false,
      ...(pieceLength !== undefined ? { pieceLength } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
      ...(opts.output !== undefined ? { out: opts.output } : {}),
      ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
      ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
      ...(creationDate !== undefined ? { creationDate } : {}),
      ...(key ? { sign: (bytes: Uint8Array, label: string) => feedMod!.signTorrent(bytes, key, label) } : {}),
      ...(started ? { started } : {}),
      onProgress: (done: number, total: number) => line.update({ doneBytes: done, totalBytes: total }),
      onPhase: (p: PublishPhase) => {
        line.update({ doneBytes: undefined, totalBytes: undefined });
        line.setPhase(phaseWords(p));
      },
    });
    line.stop();
    const feed = key && r.layout
      ? feedMod!.publishFeed({
          catalog,
          outDir: opts.outDir!,
          metainfo: r.metainfo,
          torrentPath: r.outPath,
          ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
          key,
          ...(rotateFrom ? { rotateFrom } : {}),
          ...(lifetime !== undefined ? { lifetime } : {}),
          now: Math.floor(Date.now() / 1000),
        })
      : undefined;
    if (opts.json) {
      printJson(resultJson(r, feed, key?.publicKey.id));
      return;
    }
    // The text needs none of the JSON's summaries (the hints' decoded again and measured: ~0.1 CPU s on a 348 MiB pair).
    const m = r.metainfo;
    const note = r.outcome === 'unchanged' ? ' (already in the catalog, unchanged)' : r.outcome === 'replaced' ? ' (replaced the earlier record)' : '';
    say(`published ${opts.product} ${opts.release}${note}`);
    say(`  torrent     ${r.outPath}`);
    say(`  infohash    ${m.infoHash}${m.version === 'v2' ? ' (v2, truncated)' : m.version === 'hybrid' ? ' (v1)' : ''}`);
    if (m.v2) say(`  infohash v2 ${m.v2.infoHash}`);
    say(`  pieces      ${m.pieceCount} of ${formatBytes(m.pieceLength)} (${formatBytes(m.length)} hashed in ${r.hashSeconds.toFixed(2)} s)`);
    const a = r.autoPieceLength;
    if (a) {
      const ratio = a.changedBytes > 0 ? ` (${(a.fetchBytes / a.changedBytes).toFixed(3)} x the changed bytes)` : '';
      say(`  auto        a stock client with ${a.against} fetches ${formatBytes(a.fetchBytes)}${ratio} at this piece length`);
    }
    say(`  lineage     ${r.lineage.length > 0 ? r.lineage.map((e) => `${e.release} ${e.infoHash}`).join('\n              ') : 'none (first release)'}`);
    say(`  hints       ${r.hints ? `against ${r.previous.filter((p) => p.imagePath).map((p) => p.release).join(', ')}` : 'none'}`);
    if (r.layout) say(`  mirror      ${r.layout.image} (${r.layout.imageBy}), ${r.layout.torrent}, ${r.layout.sums}`);
    if (key) say(`  signed by   ${key.publicKey.id}`);
    if (feed) {
      const exp = feed.expires !== undefined ? `, expires ${new Date(feed.expires * 1000).toISOString().replace('.000Z', 'Z')}` : '';
      say(`  feed        ${feed.path} (sequence ${feed.sequence}, ${feed.releases} release(s)${exp}${feed.rotated ? `, key rotated from ${rotateFrom!.publicKey.id}` : ''}); served at /${feed.urlPath}`);
    } else if (key) say('  feed        none (give --out-dir DIR to publish the signed feed DIR/feeds/PRODUCT)');
  } finally {
    line.stop();
    catalog.close();
  }
}
