/**
 * The manual page isosync(1), generated from the commander program (commands,
 * arguments, options) and help-text.ts (examples, environment, exit codes).
 * `npm run man` writes man/isosync.1; a test checks the committed page is
 * what this renders, so it cannot go stale. Pure: returns roff text.
 */
import type { Command } from 'commander';
import { ENVIRONMENT, EXAMPLES, EXIT_CODES, SIZES } from './help-text.js';

/** Escapes text for roff: backslashes, leading dots and quotes, hyphens in option names. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

function optionItems(c: Command): string[] {
  return c.options
    .filter((o) => !o.hidden)
    .flatMap((o) => ['.TP', `.B ${esc(o.flags)}`, esc(o.description + (o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? ` (default: ${String(o.defaultValue)})` : ''))]);
}

function usage(c: Command): string {
  const args = (c as unknown as { registeredArguments: { name(): string; required: boolean; variadic: boolean }[] }).registeredArguments.map((a) => {
    const n = `${a.name().toUpperCase()}${a.variadic ? '...' : ''}`;
    return a.required ? n : `[${n}]`;
  });
  return `isosync ${c.name()} ${args.join(' ')}${c.options.length > 0 ? ' [options]' : ''}`.trim();
}

export function manPage(program: Command, version: string): string {
  const out: string[] = [
    `.TH ISOSYNC 1 "" "isosync ${version}" "User Commands"`,
    '.SH NAME',
    `isosync \\- ${esc(program.description().replace(/^./, (ch) => ch.toLowerCase()))}`,
    '.SH SYNOPSIS',
    '.B isosync',
    '[\\fICOMMAND\\fR] [\\fIoptions\\fR]',
    '.br',
    '.B isosync',
    '\\fITARGET\\fR [\\fIoptions\\fR]  (the same as \\fBisosync sync\\fR \\fITARGET\\fR)',
    '.SH DESCRIPTION',
    esc('isosync distributes ISO images so that nobody downloads the same bytes twice. A release team publishes each release as a standard BitTorrent torrent that names its product, its earlier releases and carries delta hints; a user who has an earlier release on disk runs one command, and isosync rebuilds every byte it can from local data, fetches only what changed from BitTorrent peers and HTTP mirrors, verifies every piece and leaves the new image.'),
    '.PP',
    esc(SIZES),
    '.SH GLOBAL OPTIONS',
    esc('These work anywhere on the command line, before or after the command.'),
    ...optionItems(program),
    '.SH COMMANDS',
  ];
  for (const c of program.commands) {
    if ((c as unknown as { _hidden?: boolean })._hidden) continue;
    out.push('.SS', `.B ${esc(usage(c))}`, '.PP', esc(c.description()));
    for (const item of optionItems(c)) out.push(item);
    const ex = EXAMPLES[c.name()] ?? [];
    if (ex.length > 0) {
      out.push('.PP', 'Examples:');
      for (const [cmd, what] of ex) out.push('.RS', '.nf', esc(cmd), '.fi', '.RE', '.RS 8', esc(what), '.RE');
    }
  }
  out.push('.SH ENVIRONMENT');
  for (const [k, v] of ENVIRONMENT) out.push('.TP', `.B ${esc(k)}`, esc(v));
  out.push('.SH EXIT STATUS');
  for (const [k, v] of EXIT_CODES) out.push('.TP', `.B ${k}`, esc(v));
  out.push('.SH EXAMPLES');
  for (const [cmd, what] of EXAMPLES[''] ?? []) out.push('.TP', `.B ${esc(cmd)}`, esc(what));
  out.push('.SH FILES', '.TP', '.I ~/.local/share/isosync/catalog.sqlite', esc('the catalog of published and synced releases and their images'));
  out.push('.SH SEE ALSO', '.BR aria2c (1),', '.BR transmission\\-cli (1),', '.BR xorriso (1)');
  return `${out.join('\n')}\n`;
}
