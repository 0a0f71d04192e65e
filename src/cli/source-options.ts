/**
 * The sources a sync may take bytes from, declared once for every command
 * that syncs (`sync`, `plan`, `get`), so their options stay in step: local
 * images and loose files to reuse, mirrors, peers, and how long a source
 * may stay silent. Checked by sync-checks.ts (SyncArgs).
 */
import { Option, type Command } from 'commander';
import { collect } from './common.js';
import type { CheckedSync, SyncArgs } from './sync-checks.js';

export function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--from <image>', 'an earlier (or later) image on disk to reuse; repeatable').argParser(collect))
    .addOption(new Option('--source <dir>', 'a folder of loose files (e.g. .debs) to reuse; repeatable').argParser(collect))
    .addOption(new Option('--web-seed <url>', 'an extra mirror of the image (BEP 19); repeatable').argParser(collect))
    .addOption(new Option('--mirror <url>', 'a mirror: the image URL (http, https, ftp), or its folder ending in "/"; repeatable').argParser(collect))
    .option('--mirrors <file>', 'a file of mirror URLs, one per line (# starts a comment)')
    .option('--no-catalog', 'do not look for local images in the catalog')
    .option('--timeout <seconds>', 'drop a web seed that sends nothing for this long; ask a block of another source when one goes unanswered this long', '20')
    .addOption(new Option('--peer <host:port>', 'a BitTorrent peer to connect to; repeatable').argParser(collect));
}

/** The sources part of a sync's input: the options, and what looking the target up brought (its image URL as a web seed, the trackers its server prefers). */
export function sourceInput(opts: SyncArgs, c: CheckedSync, t: { extraSeeds: readonly string[]; preferredTrackers: readonly string[] }) {
  return {
    from: opts.from ?? [],
    sourceDirs: opts.source ?? [],
    webSeeds: [...t.extraSeeds, ...(opts.webSeed ?? []), ...c.mirrors],
    ...(t.preferredTrackers.length > 0 ? { preferredTrackers: [...t.preferredTrackers] } : {}),
    stallMs: 1000 * c.timeoutSeconds,
  };
}
