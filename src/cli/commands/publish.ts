/**
 * `isosync publish IMAGE --product NAME --release VERSION ...`: makes the
 * release's torrent (single file, hybrid BitTorrent v1+v2 unless --v1 or
 * --v2, with product, release, lineage and delta hints inside the info
 * dictionary) and records it in the catalog.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { DEFAULT_VERSION, publishRelease, type PublishResult } from '../../library/publish.js';
import type { MetaVersion } from '../../torrent/metainfo.js';
import { parsePieceLength } from '../../torrent/piece-length.js';
import { action, collect, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { trackerTiers } from './info.js';

interface PublishCliOptions extends CommonOptions {
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

function resultJson(r: PublishResult) {
  const m = r.metainfo;
  return {
    torrent: r.outPath,
    infoHash: m.infoHash,
    version: m.version,
    infoHashV2: m.v2?.infoHash ?? null,
    name: m.name,
    length: m.length,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    product: m.isosync?.product ?? null,
    release: m.isosync?.release ?? null,
    lineage: r.lineage.map((e) => ({ release: e.release, infoHash: e.infoHash })),
    previous: r.previous.map((p) => ({ release: p.release, infoHash: p.infoHash, imagePath: p.imagePath ?? null, via: p.via })),
    trackers: trackerTiers(m),
    webSeeds: [...m.urlList],
    hints: r.hints,
    catalog: r.outcome,
    hashSeconds: Number(r.hashSeconds.toFixed(3)),
    outDir: r.layout ? { image: r.layout.image, torrent: r.layout.torrent, sums: r.layout.sums, imageBy: r.layout.imageBy, sha256: r.layout.sha256 } : null,
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('publish')
    .description("make a release's torrent (product, release, lineage inside the info dictionary) and record it in the catalog")
    .argument('<image>', 'the release image (ISO)')
    .requiredOption('--product <name>', 'product name, e.g. "distro"')
    .requiredOption('--release <version>', 'release label, e.g. "1.01"')
    .option('--previous <torrent|image>', 'an earlier release (a .torrent, or its image); repeatable; default: the catalog\'s previous release of the product', collect)
    .option('--tracker <url>', 'tracker URL; repeat for more tiers, comma-separate URLs of one tier', collect)
    .option('--web-seed <url>', 'HTTP web seed (BEP 19): the image URL, or a folder URL ending in "/"; repeatable', collect)
    .option('--piece-length <bytes>', 'piece length: a power of two from 2048 to 16M (default by image size: 256K up to 4 GiB)')
    .option('--hybrid', `a hybrid BitTorrent v1 + v2 torrent (BEP 52): every client reads it, v2 clients verify 16 KiB blocks${DEFAULT_VERSION === 'hybrid' ? ' (default)' : ''}`)
    .option('--v1', 'a plain BitTorrent v1 torrent (BEP 3); allows pieces below 16 KiB')
    .option('--v2', 'a BitTorrent v2-only torrent (BEP 52): clients without v2 cannot use it')
    .option('--comment <text>', 'comment stored in the torrent')
    .option('-o, --output <file>', 'where to write the torrent (default IMAGE without .iso, plus .torrent)')
    .option('--out-dir <dir>', 'lay out a static mirror in DIR: the image (hard link or copy), IMAGE.torrent beside it, SHA256SUMS')
    .option('--public-url <url>', "the mirror folder's URL: the torrent's first web seed is its copy of the image")
    .option('--force', 'replace a release already published under the same product and release with other content');
  withCommon(cmd).action(
    action(async (image: string, opts: PublishCliOptions) => {
      const creationDate = creationDateFromEnv();
      const pieceLength = opts.pieceLength !== undefined ? parsePieceLength(opts.pieceLength) : undefined;
      const version = versionOption(opts);
      const showProgress = !opts.json && process.stderr.isTTY === true;
      let lastPct = -1;
      const catalog = openCatalog(opts.home);
      try {
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
          ...(showProgress
            ? {
                onProgress: (done: number, total: number) => {
                  const pct = Math.floor((done / total) * 100);
                  if (pct !== lastPct) process.stderr.write(`\rhashing ${pct}%`);
                  lastPct = pct;
                },
              }
            : {}),
        });
        if (showProgress) process.stderr.write('\r\x1b[K');
        const j = resultJson(r);
        if (opts.json) {
          printJson(j);
          return;
        }
        const note = r.outcome === 'unchanged' ? ' (already in the catalog, unchanged)' : r.outcome === 'replaced' ? ' (replaced the earlier record)' : '';
        process.stdout.write(`published ${j.product} ${j.release}${note}\n`);
        process.stdout.write(`  torrent     ${j.torrent}\n`);
        process.stdout.write(`  infohash    ${j.infoHash}${j.version === 'v2' ? ' (v2, truncated)' : j.version === 'hybrid' ? ' (v1)' : ''}\n`);
        if (j.infoHashV2 !== null) process.stdout.write(`  infohash v2 ${j.infoHashV2}\n`);
        process.stdout.write(`  pieces      ${j.pieceCount} of ${formatBytes(j.pieceLength)} (${formatBytes(j.length)} hashed in ${j.hashSeconds.toFixed(2)} s)\n`);
        process.stdout.write(`  lineage     ${j.lineage.length > 0 ? j.lineage.map((e) => `${e.release} ${e.infoHash}`).join('\n              ') : 'none (first release)'}\n`);
        process.stdout.write(`  hints       ${r.hints ? 'included' : 'none'}\n`);
        if (r.layout) process.stdout.write(`  mirror      ${r.layout.image} (${r.layout.imageBy}), ${r.layout.torrent}, ${r.layout.sums}\n`);
      } finally {
        catalog.close();
      }
    }),
  );
}
