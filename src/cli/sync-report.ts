/**
 * The human reports of plan and sync: what was reused (by source and by
 * reason), what was fetched (by web seed and peer with -v), which files
 * changed (every one with -v, else the first CHANGED_FILES_SHOWN and a
 * count of the rest), and where the image is.
 */
import type { PlanReport, SyncReport } from '../sync/session.js';
import { formatBytes, formatSeconds, percent } from './format.js';
import { outputSettings, say } from './output.js';

/** Changed files listed without -v: enough to see what a release touched, not a screenful. */
export const CHANGED_FILES_SHOWN = 10;

const REASONS: Record<string, string> = {
  hint: 'delta hints',
  'same-file': 'same file, same place',
  'moved-file': 'moved files',
  'loose-file': 'loose files',
  'same-offset': 'same offset',
  zero: 'zeros',
  fetched: 'metadata fetched to plan',
  resumed: 'resumed from .part',
  received: 'received before, unverified',
};

export function printPlan(r: PlanReport, verb: 'will be' | 'were'): void {
  const verbose = outputSettings().verbosity === 'verbose';
  say(`${r.name}  ${formatBytes(r.targetBytes)}  infohash ${r.infoHash}`);
  for (const s of r.sources) {
    say(`  source ${s.kind === 'image' ? 'image' : 'file '} ${s.path}${s.via ? ` (${s.via})` : ''}${s.hints ? ` [hints: ${s.hints}]` : ''}: ${formatBytes(s.reusedBytes)}`);
  }
  say(`  reused:  ${formatBytes(r.reusedBytes)} (${percent(r.reusedBytes, r.targetBytes)})`);
  for (const [k, v] of Object.entries(r.byReason)) if (v) say(`    ${(REASONS[k] ?? k).padEnd(26)} ${formatBytes(v)}`);
  say(`  fetch:   ${formatBytes(r.fetchBytes)} ${verb} fetched (${percent(r.fetchBytes, r.targetBytes)})`);
  if (r.changedFiles) {
    say(`  changed files: ${r.changedFiles.length}`);
    const shown = verbose ? r.changedFiles : r.changedFiles.slice(0, CHANGED_FILES_SHOWN);
    for (const f of shown) say(`    ${f.path}  ${formatBytes(f.size)}, fetch ${formatBytes(f.fetchBytes)}`);
    const rest = r.changedFiles.length - shown.length;
    if (rest > 0) say(`    … and ${rest} more (-v lists them all)`);
  }
  for (const n of r.notes) say(`  note: ${n}`);
}

export function printSyncReport(report: SyncReport): void {
  const verbose = outputSettings().verbosity === 'verbose';
  printPlan(report, 'were');
  const seeds = report.webSeeds;
  if (verbose) {
    for (const w of seeds) say(`  web seed ${w.url}: ${formatBytes(w.bytes)}${w.dropped ? ` (dropped: ${w.dropped})` : ''}`);
  } else if (seeds.length > 0) {
    const used = seeds.filter((w) => w.bytes > 0).length;
    const dropped = seeds.filter((w) => w.dropped).length;
    say(`  web seeds: ${formatBytes(seeds.reduce((n, w) => n + w.bytes, 0))} from ${used} of ${seeds.length}${dropped ? ` (${dropped} dropped; -v says why)` : ''}`);
  }
  if (report.peers) {
    if (report.peers.started === false) say('  peers: not started (the web seeds kept up)');
    else say(`  peers: ${formatBytes(report.peers.downloaded)} from ${report.peers.list.filter((p) => p.downloaded > 0).length} peer(s), ${formatBytes(report.peers.uploaded)} uploaded`);
    if (verbose) for (const p of report.peers.list) if (p.downloaded > 0 || p.banned || p.dropped) say(`    peer ${p.address}: ${formatBytes(p.downloaded)}${p.banned ? ' (banned)' : p.dropped ? ` (dropped: ${p.dropped})` : ''}`);
  }
  say(`  fetched ${formatBytes(report.fetchedBytes)} in total${report.guessedWrongBytes ? ` (${formatBytes(report.guessedWrongBytes)} guessed wrong, fetched again)` : ''}${report.wastedBytes ? ` (${formatBytes(report.wastedBytes)} failed verification)` : ''}${report.duplicateBytes ? ` (${formatBytes(report.duplicateBytes)} more came twice, from two sources)` : ''}; ${report.resumedBytes ? `${formatBytes(report.resumedBytes)} resumed from .part; ` : ''}${formatSeconds(report.seconds)}`);
  say(`wrote ${report.output} (every piece verified)`);
}
