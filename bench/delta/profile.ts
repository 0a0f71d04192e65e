/**
 * Where a sync's time goes, from a V8 CPU profile of its main thread
 * (`node --cpu-prof`): every sample is put in one bucket by its stack, the
 * most specific frame deciding (a hash update under the assembly is hashing,
 * a read under planning is reading), and the buckets are printed in seconds.
 *
 *   hashing    node:crypto and the piece checks (torrent/piece-check, merkle, hash workers' replies)
 *   reading    reads of local sources and the .part (store/, fs read calls)
 *   writing    writes of the .part and its journal (fs write, writev, fsync calls)
 *   copying    piece filling (delta/piece-fill, Buffer copies under assemble)
 *   network    the download engine, web seeds, HTTP parsing (engine/, net/, http)
 *   planning   ISO parsing, mapping and plan layers (iso/, delta/ but assembly, sync/prepare)
 *   assembly   the rest of delta/assemble and its helpers
 *   start-up   module loading and compilation
 *   gc         the garbage collector
 *   idle       the main thread waiting: for the thread pool's reads and writes, hash workers, the network
 *   other      anything else
 *
 * The CLI runs as one bundle (dist/bundle/main.cjs, scripts/bundle.js), so every frame of isosync's own code
 * has the bundle's URL: each frame is first given the module it lies in (by the frame's line and column, from
 * the bundle's module starts; `moduleUrls`), so that the folders below match.
 *
 * Wall-clock phases come from the samples' times: planning runs until the
 * first sample inside `assemble`, assembly from there to the first sample of
 * `finish` (fsync and rename), finishing after.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Frame {
  functionName: string;
  url: string;
  lineNumber?: number;
  columnNumber?: number;
}

interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * How bin/isosync starts node, so that a run under the profiler (`node FLAGS --cpu-prof bin/isosync`, which skips the
 * launcher's /bin/sh lines) runs as users run it: the V8 flags of its `exec node FLAGS "$0"` line (or of a
 * `#!... node FLAGS` line) and the numeric variables it exports (malloc's settings). Reading only a `#!` line found
 * no flags once the launcher became a /bin/sh script: the profiled run went without --max-semi-space-size.
 */
export function launcherOf(text: string): { flags: string[]; env: Record<string, string> } {
  const exec = /\bexec node (.*?) "\$0"/.exec(text) ?? /^#!.* node (.*)$/m.exec(text);
  const flags = exec?.[1]?.split(' ').filter(Boolean) ?? [];
  const env: Record<string, string> = {};
  for (const m of (/\bexport ([^;\n]*)/.exec(text)?.[1] ?? '').matchAll(/\b([A-Z][A-Z0-9_]*)=(\d+)(?=\s|$)/g)) env[m[1]!] = m[2]!;
  return { flags, env };
}

export const BUCKETS = ['hashing', 'reading', 'writing', 'copying', 'network', 'planning', 'assembly', 'start-up', 'gc', 'idle', 'other'] as const;
export type Bucket = (typeof BUCKETS)[number];

export interface Breakdown {
  /** Main-thread seconds per bucket. */
  seconds: Record<Bucket, number>;
  /** Wall seconds from the profile's start to the first assembly sample, to the first finish sample, to the end. */
  phases: { planning: number; assembly: number; finishing: number };
  totalSeconds: number;
}

/** Specific buckets, tried from the leaf up: the first frame that matches one decides. */
function specific(f: Frame): Bucket | undefined {
  const { functionName: fn, url } = f;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (/piece-check|merkle|hash-pieces|hash-pool|piece-hasher/.test(url) || (/internal\/crypto/.test(url) && /update|digest|Hash/.test(fn))) return 'hashing';
  if (/store\/(file-source|block-cache|byte-source|exact-io)/.test(url) || /readFully|readInto/.test(fn)) return 'reading';
  if (/store\/(part-file|journal-file|block-journal|direct-writes|verified-writes|write-batches)/.test(url) || /^(writeAll|writevAll|writePiece|datasync|sync|fsync|write|writev)$/.test(fn)) return 'writing';
  if (/delta\/piece-fill/.test(url)) return 'copying';
  if (/internal\/(modules|bootstrap)/.test(url) || fn === '(program)') return undefined;
  return undefined;
}

/** General buckets, tried from the leaf up after no specific one matched. */
function general(f: Frame): Bucket | undefined {
  const { functionName: fn, url } = f;
  if (/\/src\/(engine|net|swarm|http|webseed)\//.test(url) || /sync\/(network|plain-http|remote-target)|_http_|internal\/http|node:net|stream_base/.test(url)) return 'network';
  if (/delta\/(assemble|block-verify|probe|guess-policy|sure-bytes)/.test(url) || /sync\/(session|planning-check)/.test(url)) return 'assembly';
  if (/\/src\/(iso|delta|nested|squashfs|erofs|torrent)\//.test(url) || /sync\/(prepare|sources|nested-plan|changed-files)/.test(url)) return 'planning';
  if (/internal\/modules|internal\/bootstrap|internal\/process\/pre_execution|compileFunction|wrapSafe|code-cache|\/src\/cli\/|node_modules\/commander/.test(url + fn)) return 'start-up';
  return undefined;
}

/** Where a module starts in a bundle: line and column 0-based, as V8's lineNumber and columnNumber. */
export interface ModuleMark {
  line: number;
  column?: number;
  path: string;
}

/**
 * Where each module of a bundle starts, in order: for a minified CommonJS bundle, the rows of FILE.modules.json
 * that scripts/bundle.js derives from its source map; else (the ESM chunks) the line of its own that esbuild, not
 * minifying, writes before each module's code: `// dist/src/delta/assemble.js` (or `// node_modules/...`).
 */
function bundleModules(file: string): ModuleMark[] {
  if (existsSync(`${file}.modules.json`)) {
    return (JSON.parse(readFileSync(`${file}.modules.json`, 'utf8')) as [number, number, string][]).map(([line, column, path]) => ({ line, column, path }));
  }
  const marks: ModuleMark[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((l, line) => {
      const m = /^\/\/ ((?:dist|node_modules)\/\S+)$/.exec(l);
      if (m) marks.push({ line, path: m[1]! });
    });
  return marks;
}

/** The profile with each frame of a bundle (a file under dist/bundle/) given the URL of its module in the bundle: `BUNDLE#dist/src/...`. */
export function moduleUrls(profile: CpuProfile, read: (file: string) => ModuleMark[] = bundleModules): CpuProfile {
  const bundles = new Map<string, ModuleMark[] | undefined>();
  const marksOf = (url: string) => {
    if (!bundles.has(url)) {
      let marks: ModuleMark[] | undefined;
      try {
        marks = read(url.startsWith('file://') ? fileURLToPath(url) : url);
      } catch {
        marks = undefined;
      }
      bundles.set(url, marks);
    }
    return bundles.get(url);
  };
  const nodes = profile.nodes.map((n) => {
    const { url, lineNumber, columnNumber } = n.callFrame;
    if (!/\/dist\/bundle\/[^/]+\.c?js$/.test(url) || lineNumber === undefined) return n;
    const marks = marksOf(url);
    if (!marks) return n;
    let lo = 0;
    let hi = marks.length - 1;
    let path: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = marks[mid]!;
      // A frame without a column lies after every mark of its line.
      if (m.line < lineNumber || (m.line === lineNumber && (m.column ?? 0) <= (columnNumber ?? Infinity))) {
        path = marks[mid]!.path;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return path ? { ...n, callFrame: { ...n.callFrame, url: `${url}#${path}` } } : n;
  });
  return { ...profile, nodes };
}

/** The bucket of a sample whose stack is `stack`, leaf first. */
export function bucketOf(stack: readonly Frame[]): Bucket {
  let bucket: Bucket | undefined;
  for (const f of stack) if ((bucket = specific(f))) break;
  if (!bucket) for (const f of stack) if ((bucket = general(f))) break;
  return bucket ?? 'other';
}

/**
 * The main thread's profile among the files `--cpu-prof` wrote: V8 names each `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`,
 * the main thread being thread 0. Largest first was wrong: a worker that lives as long as the sync (the verifying
 * worker, mostly idle) has as many samples, and its profile was then broken down as if it were the main thread's.
 */
export function mainThreadProfile(files: readonly string[]): string | undefined {
  const profiles = files.filter((f) => f.endsWith('.cpuprofile'));
  return profiles.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? (profiles.length === 1 ? profiles[0] : undefined);
}

/** Reads the main thread's .cpuprofile in `dir` (mainThreadProfile); `workers` counts the other threads' profiles. */
export function readProfile(dir: string): CpuProfile & { workers: number } {
  const files = readdirSync(dir);
  const main = mainThreadProfile(files);
  if (!main) throw new Error(`no main-thread .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, main), 'utf8')) as CpuProfile;
  return { ...moduleUrls(profile), workers: files.filter((f) => f.endsWith('.cpuprofile')).length - 1 };
}

export function breakdown(profile: CpuProfile): Breakdown {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const memo = new Map<number, { bucket: Bucket; assembling: boolean; finishing: boolean }>();
  const classify = (id: number) => {
    const hit = memo.get(id);
    if (hit) return hit;
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
    const r = {
      bucket: bucketOf(stack),
      assembling: stack.some((f) => f.functionName === 'assemble' || f.functionName === 'checkPlanningInput'),
      finishing: stack.some((f) => f.functionName === 'finish' && /part-file/.test(f.url)),
    };
    memo.set(id, r);
    return r;
  };
  const seconds = Object.fromEntries(BUCKETS.map((b) => [b, 0])) as Record<Bucket, number>;
  let t = profile.startTime;
  let firstAssembly: number | undefined;
  let firstFinish: number | undefined;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    const c = classify(id);
    seconds[c.bucket] += dt / 1e6;
    if (c.assembling && firstAssembly === undefined) firstAssembly = t;
    if (c.finishing && firstFinish === undefined) firstFinish = t;
  });
  const end = profile.endTime;
  const a = firstAssembly ?? end;
  const f = Math.max(a, firstFinish ?? end);
  return {
    seconds,
    phases: { planning: (a - profile.startTime) / 1e6, assembly: (f - a) / 1e6, finishing: (end - f) / 1e6 },
    totalSeconds: (end - profile.startTime) / 1e6,
  };
}

/**
 * One line per phase and bucket, for the bench's output; with `cpu` (the main thread's and the whole
 * process's CPU seconds in that run), the busy buckets again, scaled so that they add up to the main
 * thread's CPU. The proportions stay the profile's: on a loaded machine a call where the thread lost its
 * core (a hand-off to the thread pool: "writing") still weighs more than its CPU (`perf record` tells).
 */
export function formatBreakdown(b: Breakdown, cpu?: { mainCpu: number; processCpu: number }): string[] {
  const busyKeys = BUCKETS.filter((k) => k !== 'idle');
  const busy = busyKeys.reduce((n, k) => n + b.seconds[k], 0);
  const parts = BUCKETS.filter((k) => b.seconds[k] >= 0.005).map((k) => `${k} ${b.seconds[k].toFixed(2)}`);
  const lines = [
    `wall ${b.totalSeconds.toFixed(2)} s in the profile: planning ${b.phases.planning.toFixed(2)}, assembly ${b.phases.assembly.toFixed(2)}, finishing (fsync, rename, catalog) ${b.phases.finishing.toFixed(2)}`,
    `main thread ${busy.toFixed(2)} s busy: ${parts.join(', ')} s`,
  ];
  if (cpu && Number.isFinite(cpu.mainCpu) && busy > 0) {
    const k = cpu.mainCpu / busy;
    const scaled = busyKeys.filter((x) => b.seconds[x] * k >= 0.005).map((x) => `${x} ${(b.seconds[x] * k).toFixed(2)}`);
    lines.push(`as CPU: main thread ${cpu.mainCpu.toFixed(2)} s of the process's ${cpu.processCpu.toFixed(2)} (the rest: thread pool, GC and compiler threads), in the profile's proportions: ${scaled.join(', ')} s`);
  }
  return lines;
}
