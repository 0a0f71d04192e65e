/**
 * Test helpers: where the repository is, how to run the CLI as a user would,
 * and how to skip a suite visibly when a Debian tool is missing.
 */
import { spawn, spawnSync, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

// Tests contact no public DHT router: every isosync process they start inherits an empty
// bootstrap list (a test that runs a DHT passes its own loopback nodes).
process.env['ISOSYNC_DHT_BOOTSTRAP'] ??= '';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

/** The repository root (where package.json is). */
export const ROOT = findRoot();
export const FIXTURES = join(ROOT, 'fixtures');
export const BIN = join(ROOT, 'bin', 'isosync');

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const testHomes: string[] = [];
process.on('exit', () => {
  for (const dir of testHomes) rmSync(dir, { recursive: true, force: true });
});

/**
 * The environment of an isosync child process: the tester's own, with
 * ISOSYNC_HOME set to a fresh temporary folder (removed when this process
 * exits) unless the test passes one, so no test reads or writes the real
 * default home (~/.local/share/isosync). A test that gives `--home` on the
 * command line decides itself, as that wins over ISOSYNC_HOME.
 */
export function isosyncEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (extra['ISOSYNC_HOME'] !== undefined) return { ...process.env, ...extra };
  const home = mkdtempSync(join(tmpdir(), 'isosync-home-'));
  testHomes.push(home);
  return { ...process.env, ISOSYNC_HOME: home, ...extra };
}

let bundleChecked = false;

/**
 * bin/isosync runs dist/bundle (scripts/bundle.js), which npm test and npm run build make
 * after tsc: after `tsc` alone, the CLI tests would run the code from before. Checked once.
 */
function assertBundleFresh(): void {
  if (bundleChecked) return;
  bundleChecked = true;
  const bundle = join(ROOT, 'dist', 'bundle', 'main.js');
  const src = join(ROOT, 'dist', 'src');
  const newest = Math.max(...readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js')).map((f) => statSync(join(src, f)).mtimeMs));
  assert.ok(existsSync(bundle) && statSync(bundle).mtimeMs >= newest, 'dist/bundle is older than dist/src: run `node scripts/bundle.js` after tsc (npm test and npm run build do)');
}

/** Runs `isosync ARGS` in a child process, as a user would, and captures its output. */
export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): CliResult {
  assertBundleFresh();
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: isosyncEnv(opts.env),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Whether a program is on PATH (or an absolute path exists). */
export function hasTool(name: string): boolean {
  if (name.startsWith('/')) return existsSync(name);
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Whether /usr/bin/python3 can import libtorrent (Debian's python3-libtorrent). */
export function hasLibtorrent(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
}

/**
 * The `skip` option for a suite that needs Debian tools: false when all are
 * present, else a reason that node's test runner prints ("# SKIP needs ...").
 * Also printed to stderr once so the note is visible in any reporter.
 */
export function needTools(...tools: string[]): string | false {
  const missing = tools.filter((t) => (t === 'libtorrent' ? !hasLibtorrent() : !hasTool(t)));
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(', ')} (install with .ci/run or apt-get)`;
  process.stderr.write(`# SKIP interop: ${reason}\n`);
  return reason;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'isosync-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Like cli(), but without blocking this process: use it whenever the test
 * process itself serves something (an HTTP server, a tracker) to the child.
 */
export function cliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: isosyncEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A port free for both TCP and UDP on 127.0.0.1 (trackers bind both under one number). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** The signal a tool died of by its own fault (a crash, not a timeout's kill), from the OS or from its own handler's report. */
export function toolCrash(r: { signal: NodeJS.Signals | null; status: number | null; stderr?: string | null }): string | undefined {
  if (r.signal === 'SIGSEGV' || r.signal === 'SIGBUS' || r.signal === 'SIGILL' || r.signal === 'SIGABRT') return r.signal;
  // xorriso catches the signal, reports "UNIX-SIGNAL: SIGSEGV" and exits non-zero.
  const own = r.status !== 0 ? /UNIX-SIGNAL:\s+(SIG(?:SEGV|BUS|ILL|ABRT))\b/.exec(r.stderr ?? '') : null;
  return own?.[1];
}

export const TOOL_CRASH_RUNS = 3;

/**
 * spawnSync for the real tools that build fixtures (xorriso, mksquashfs, ...), run again when the
 * tool crashed by its own fault (xorriso 1.5.4 once died of SIGSEGV in CI while writing an image
 * it writes fine every other time), at most TOOL_CRASH_RUNS runs in all, with a visible note.
 * Any other failure is returned as it is, for the caller to assert on.
 */
export function spawnTool(cmd: string, args: string[], opts: SpawnSyncOptionsWithStringEncoding = { encoding: 'utf8' }): SpawnSyncReturns<string> {
  for (let run = 1; ; run++) {
    const r = spawnSync(cmd, args, opts);
    const crash = toolCrash(r);
    if (crash === undefined || run >= TOOL_CRASH_RUNS) return r;
    process.stderr.write(`# note: ${cmd} crashed (${crash}) on run ${run}; running it again\n`);
  }
}

/** Runs CMD ARGS (60 s at most) and returns its stdout; fails the test unless it exits 0. */
export function runOk(cmd: string, args: string[]): string {
  const r = spawnTool(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
