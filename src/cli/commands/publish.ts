/**
 * `isosync publish IMAGE --product NAME --release VERSION ...`: makes the
 * release's torrent (BEP 3 single file, with product, release, lineage and
 * delta hints inside the info dictionary) and records it in the catalog.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { openCatalog } from '../../library/catalog.js';
import { basename } from 'node:path';
import { publishRelease, type PublishPhase, type PublishResult } from '../../library/publish.js';
import { say } from '../output.js';
import { ProgressLine } from '../progress.js';
import { checkPieceLength } from '../../torrent/piece-length.js';
import { sizeOption } from '../size.js';
import { action, collect, printJson, withCommon, type CommonOptions } from '../common.js';
import { formatBytes } from '../format.js';
import { metainfoJson } from '../metainfo-json.js';

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
    ...metainfoJson(m),
    lineage: r.lineage.map((e) => ({ release: e.release, infoHash: e.infoHash })),
    previous: r.previous.map((p) => ({ release: p.release, infoHash: p.infoHash, imagePath: p.imagePath ?? null, via: p.via })),
    hints: r.hints,
    catalog: r.outcome,
    hashSeconds: Number(r.hashSeconds.toFixed(3)),
    outDir: r.layout ? { image: r.layout.image, torrent: r.layout.torrent, sums: r.layout.sums, imageBy: r.layout.imageBy, sha256: r.layout.sha256 } : null,
  };
}

function phaseWords(p: PublishPhase): string {
  switch (p.phase) {
    case 'checking':
      return `checking ${basename(p.image)}`;
    case 'hashing':
      return `hashing ${basename(p.image)}`;
    case 'hints':
      return `computing delta hints against ${p.against.join(', ')}`;
    case 'writing':
      return `writing ${basename(p.torrent)}`;
  }
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
    .option('--web-seed <url>', 'web seed (BEP 19; http, https or ftp): the image URL, or a folder URL ending in "/"; repeatable', collect)
    .option('--piece-length <size>', 'piece length: a power of two from 2K to 16M (default by image size: 256K up to 4 GiB)')
    .option('--comment <text>', 'comment stored in the torrent')
    .option('-o, --output <file>', 'where to write the torrent (default IMAGE.torrent beside the image); an existing different file needs --force')
    .option('--out-dir <dir>', 'lay out a static mirror in DIR: the image (hard link or copy), IMAGE.torrent beside it, SHA256SUMS')
    .option('--public-url <url>', "the mirror folder's URL: the torrent's first web seed is its copy of the image")
    .option('--force', 'replace a release already published under the same product and release with other content, and an existing different torrent file');
  withCommon(cmd).action(
    action(async (image: string, opts: PublishCliOptions) => {
      const creationDate = creationDateFromEnv();
      const pieceLength = sizeOption('--piece-length', opts.pieceLength);
      if (pieceLength !== undefined) checkPieceLength(pieceLength, opts.pieceLength);
      const line = new ProgressLine().start(`checking ${basename(image)}`);
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
          ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
          ...(opts.output !== undefined ? { out: opts.output } : {}),
          ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
          ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
          ...(creationDate !== undefined ? { creationDate } : {}),
          onProgress: (done: number, total: number) => line.update({ doneBytes: done, totalBytes: total }),
          onPhase: (p: PublishPhase) => {
            line.update({ doneBytes: undefined, totalBytes: undefined });
            line.setPhase(phaseWords(p));
          },
        });
        line.stop();
        const j = resultJson(r);
        if (opts.json) {
          printJson(j);
          return;
        }
        const note = r.outcome === 'unchanged' ? ' (already in the catalog, unchanged)' : r.outcome === 'replaced' ? ' (replaced the earlier record)' : '';
        say(`published ${j.product} ${j.release}${note}`);
        say(`  torrent     ${j.torrent}`);
        say(`  infohash    ${j.infoHash}`);
        say(`  pieces      ${j.pieceCount} of ${formatBytes(j.pieceLength)} (${formatBytes(j.length)} hashed in ${j.hashSeconds.toFixed(2)} s)`);
        say(`  lineage     ${j.lineage.length > 0 ? j.lineage.map((e) => `${e.release} ${e.infoHash}`).join('\n              ') : 'none (first release)'}`);
        say(`  hints       ${r.hints ? `against ${r.previous.filter((p) => p.imagePath).map((p) => p.release).join(', ')}` : 'none'}`);
        if (r.layout) say(`  mirror      ${r.layout.image} (${r.layout.imageBy}), ${r.layout.torrent}, ${r.layout.sums}`);
      } finally {
        line.stop();
        catalog.close();
      }
    }),
  );
}
