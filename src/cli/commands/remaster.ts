/**
 * `isosync remaster BASE.iso TREE -o NEW.iso [-V VOLID] [--max-waste PCT] [--piece-length SIZE|auto] [--verify-content] [--force] [--json]`:
 * writes TREE as a new image laid out over BASE (unchanged files keep their
 * blocks; a file whose size and mtime equal the base's is taken as
 * unchanged unless --verify-content). Boot options, spelled as
 * `xorriso -as mkisofs` takes them but with two dashes for the long ones
 * (-b, --boot-load-size, --boot-info-table, -e, -c, --isohybrid-mbr, -G),
 * replace the base's El Torito catalog and system area. Volume dates come from SOURCE_DATE_EPOCH when it is set, so the
 * same inputs give the same bytes. The human form is a few lines of figures;
 * --json reports kept, moved, new and dead bytes, what moved, the piece
 * length the image was packed for (--piece-length auto lets remaster choose
 * it: publish with that one) and what a stock client fetches at it.
 */
import type { Command } from 'commander';
import { IsosyncError } from '../../errors.js';
import { remaster } from '../../iso/remaster.js';
import { action, printJson, withCommon } from '../common.js';
import { sizeOption } from '../size.js';
import { checkPieceLength } from '../../torrent/piece-length.js';

interface RemasterCliOptions {
  output?: string;
  volid?: string;
  maxWaste?: string;
  force?: boolean;
  verifyContent?: boolean;
  pieceLength?: string;
  bootImage?: string;
  bootLoadSize?: string;
  bootInfoTable?: boolean;
  efiBoot?: string;
  bootCatalog?: string;
  isohybridMbr?: string;
  systemArea?: string;
  json?: boolean;
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org): seconds since 1970, else now. */
export function sourceDateMs(env: NodeJS.ProcessEnv = process.env, now = Date.now()): number {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return now;
  if (!/^\d+$/.test(v)) throw new IsosyncError('BAD_ARGUMENT', `Invalid SOURCE_DATE_EPOCH ${JSON.stringify(v)}: not a whole number of seconds`);
  return Number(v) * 1000;
}

function percent(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/%$/, ''));
  if (!/^\d+(\.\d+)?%?$/.test(v) || !(n >= 0 && n < 100)) throw new IsosyncError('BAD_ARGUMENT', `Invalid --max-waste ${JSON.stringify(v)}: give a percentage from 0 to below 100`);
  return n / 100;
}

function sectors(v: string): number {
  if (!/^\d+$/.test(v)) throw new IsosyncError('BAD_ARGUMENT', `Invalid --boot-load-size ${JSON.stringify(v)}: give a whole number of 512-byte sectors`);
  return Number(v);
}

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

export function register(program: Command): void {
  withCommon(program.command('remaster')
    .argument('<base>', 'the previous release image (never modified)')
    .argument('<tree>', 'folder holding the new release')
    .requiredOption('-o, --output <new.iso>', 'image to write')
    .option('-V, --volid <id>', 'volume identifier (default: the base\'s)')
    .option('--max-waste <pct>', 'most dead space left in the image, in percent', '5')
    .option('--piece-length <size>', 'piece length the image will be published with: changes are packed into as few pieces as the waste allows (default as publish\'s: 256K up to 4 GiB); auto: the largest from that default down at which a stock client fetches at most 1.05 x the changed bytes (publish with the one reported)')
    .option('--verify-content', 'compare every file with the base byte for byte, even when its size and mtime match')
    .option('--force', 'replace an existing output image')
    .option('-b, --boot-image <path>', 'new boot setup: BIOS El Torito image in TREE, no emulation (as mkisofs -b ... -no-emul-boot)')
    .option('--boot-load-size <sectors>', '512-byte sectors the BIOS loads from the -b image (default 4)')
    .option('--boot-info-table', 'patch a boot information table into the -b image (isolinux, GRUB)')
    .option('-e, --efi-boot <path>', 'new boot setup: EFI El Torito image in TREE (a FAT image), no emulation')
    .option('-c, --boot-catalog <path>', 'where the boot catalog shows in the tree (default: the base\'s, else hidden)')
    .option('--isohybrid-mbr <file>', 'system area: MBR boot code from FILE (isohdpfx.bin), pointed at the -b image, one partition over the image')
    .option('-G, --system-area <file>', 'system area: the first 32 KiB of FILE, as they are')
    .description('write TREE as a new image in which files unchanged since BASE keep their blocks'))
    .action(action(async (base: string, tree: string, opts: RemasterCliOptions) => {
      const pieceBytes = opts.pieceLength === 'auto' ? 'auto' : sizeOption('--piece-length', opts.pieceLength);
      if (typeof pieceBytes === 'number') checkPieceLength(pieceBytes, opts.pieceLength);
      const r = await remaster(base, tree, opts.output!, {
        dateMs: sourceDateMs(),
        ...(opts.volid !== undefined ? { volumeId: opts.volid } : {}),
        ...(opts.maxWaste !== undefined ? { maxWaste: percent(opts.maxWaste)! } : {}),
        ...(opts.force ? { force: true } : {}),
        ...(opts.verifyContent ? { verifyContent: true } : {}),
        ...(pieceBytes !== undefined ? { pieceBytes } : {}),
        boot: {
          ...(opts.bootImage !== undefined ? { bios: opts.bootImage } : {}),
          ...(opts.bootLoadSize !== undefined ? { biosLoadSectors: sectors(opts.bootLoadSize) } : {}),
          ...(opts.bootInfoTable ? { bootInfoTable: true } : {}),
          ...(opts.efiBoot !== undefined ? { efi: opts.efiBoot } : {}),
          ...(opts.bootCatalog !== undefined ? { catalog: opts.bootCatalog } : {}),
          ...(opts.isohybridMbr !== undefined ? { isohybridMbr: opts.isohybridMbr } : {}),
          ...(opts.systemArea !== undefined ? { systemArea: opts.systemArea } : {}),
        },
      });
      if (opts.json) {
        printJson({
          output: r.output, imageBytes: r.imageBytes, keptBytes: r.keptBytes, movedBytes: r.movedBytes, newBytes: r.newBytes,
          deadBytes: r.deadBytes, metadataBytes: r.metadataBytes, wastePercent: Number(((100 * r.deadBytes) / r.imageBytes).toFixed(3)),
          files: r.files, moved: r.moved, pieceLength: r.pieceBytes, stockFetchBytes: r.stockFetchBytes,
        });
        return;
      }
      const lines = [
        `wrote ${r.output}: ${r.imageBytes} bytes`,
        `  kept in place  ${mib(r.keptBytes)} (${r.files.kept} files; ${r.files.compared} compared byte for byte, ${r.files.quick} unchanged by size and mtime)`,
        `  new or changed ${mib(r.newBytes)} (${r.files.fresh} files)`,
        `  moved          ${mib(r.movedBytes)} (${r.moved.length} files)`,
        `  dead space     ${mib(r.deadBytes)} (${((100 * r.deadBytes) / r.imageBytes).toFixed(2)} %)`,
        `  metadata       ${mib(r.metadataBytes)}`,
        `  packed for     ${r.pieceBytes / 1024} KiB pieces: a stock client with BASE fetches at most ${mib(r.stockFetchBytes)}`,
      ];
      for (const m of r.moved) lines.push(`  moved ${m.path} (${m.bytes} bytes)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }));
}
