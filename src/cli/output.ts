/**
 * Where a command's words go, set once from the global options:
 *   -q/--quiet     only errors (and what --json asked for);
 *   (default)      reports on stdout, warnings on stderr;
 *   -v/--verbose   also per-source detail and notes (stderr);
 *   --no-progress  no live progress line (it is drawn only on a terminal anyway).
 * Warnings and notes written while a progress line is drawn clear it first
 * (the line redraws itself on its next tick), so nothing is torn.
 */

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface OutputSettings {
  verbosity: Verbosity;
  /** A progress line may be drawn (stderr is a terminal, no --json, no --no-progress, not quiet). */
  progress: boolean;
  json: boolean;
}

/** What a drawn progress line must do before other text goes to the terminal. */
export interface LiveLine {
  clear(): void;
}

const state: { settings: OutputSettings; line: LiveLine | undefined } = {
  settings: { verbosity: 'normal', progress: Boolean(process.stderr.isTTY), json: false },
  line: undefined,
};

export function configureOutput(o: { quiet?: boolean; verbose?: boolean; progress?: boolean; json?: boolean }, stderrIsTty: boolean = Boolean(process.stderr.isTTY)): OutputSettings {
  const verbosity: Verbosity = o.quiet ? 'quiet' : o.verbose ? 'verbose' : 'normal';
  state.settings = { verbosity, json: Boolean(o.json), progress: stderrIsTty && o.progress !== false && !o.json && verbosity !== 'quiet' };
  return state.settings;
}

export function outputSettings(): Readonly<OutputSettings> {
  return state.settings;
}

export function setLiveLine(line: LiveLine | undefined): void {
  state.line = line;
}

function toStderr(text: string): void {
  state.line?.clear();
  process.stderr.write(text);
}

/** A line of the human report on stdout (not with -q). */
export function say(line: string): void {
  if (state.settings.verbosity === 'quiet') return;
  state.line?.clear();
  process.stdout.write(`${line}\n`);
}

/** A warning on stderr (not with -q). */
export function warn(message: string): void {
  if (state.settings.verbosity === 'quiet') return;
  toStderr(`isosync: warning: ${message}\n`);
}

/** Detail shown only with -v, on stderr. */
export function detail(message: string): void {
  if (state.settings.verbosity !== 'verbose') return;
  toStderr(`isosync: ${message}\n`);
}

/** An error line (always shown). */
export function errorLine(message: string): void {
  toStderr(`isosync: ${message}\n`);
}
