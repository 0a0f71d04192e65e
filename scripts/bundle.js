// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/, which bin/isosync runs.
//
// Node 20's loader pays for every module it loads, and an ES module more than a CommonJS one
// (resolve, read through the thread pool, compile, link): a command loads dozens, so one file
// per entry and per shared chunk starts faster (docs/LIBRARIES.md). Two builds:
//
//   - version.cjs, quick-info.cjs, quick-ls.cjs and quick-extract.cjs: the ways in that
//     bin/isosync (itself CommonJS) takes without commander, one CommonJS file each, so
//     `isosync --version`, `isosync info`, `isosync ls IMAGE` and `isosync extract IMAGE -o DIR`
//     never start the ESM loader;
//   - main.cjs: every other command, the whole CLI as one CommonJS file, which bin/isosync
//     loads through bin/code-cache.cjs with a V8 code cache (vm.Script cachedData: Node 20
//     caches no compiled code of modules); its first line holds a hash of its content, the key
//     of that cache;
//   - main.js and its chunks: the same CLI as ESM with code splitting (each command's own
//     modules a chunk; what bin/isosync ran before main.cjs, kept for tests and benches that
//     import one command's chunk), and the hash
//     worker, which hash-pieces starts from `new URL('./hash-worker.js', import.meta.url)`
//     (the .cjs bundles start hash-worker.cjs: torrent/hash-worker-url.ts), so
//     it sits beside the chunks under its own name (and so do the re-encoding worker of
//     delta/reencode-pool.ts and the piece verifying worker of store/verified-writes.ts).
//
// Native packages stay outside (their .node files load from their own folders); every other
// package is bundled, and CommonJS ones reach Node's built-ins through a `require` made by
// createRequire. Run by `npm run build`, prepare, test, bench and fuzz, after tsc: the
// bundle is never older than dist/src.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xzWasmOf } from '../dist/src/layouts/xz-wasm.js';

/**
 * commander requires node:child_process at load, for executable subcommands isosync never
 * has; with it come net, dgram and the streams, ~5-10 ms of every command's start. Here it is
 * required on first use instead. The build fails if commander's line or its uses change.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const text = readFileSync(args.path, 'utf8');
      const uses = text.match(/childProcess\.\w+/g) ?? [];
      if (!text.includes(eager) || uses.some((u) => u !== 'childProcess.spawn')) {
        throw new Error(`${args.path}: commander no longer requires node:child_process as scripts/bundle.js expects`);
      }
      const lazy = "const childProcess = { get spawn() { return require('node:child_process').spawn; } };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
/**
 * xz-decompress's WebAssembly module as base64, out of the package's file (src/layouts/xz-wasm.ts): the bundles take
 * it as a string and never load the package's JavaScript (node:stream/web at load). The build fails if it is missing.
 */
const xzWasm = xzWasmOf(readFileSync(createRequire(import.meta.url).resolve('xz-decompress'), 'utf8'));
if (xzWasm === undefined) throw new Error('xz-decompress no longer holds its WebAssembly module as a data: URL, as scripts/bundle.js expects');
const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'utp-native'],
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [lazyChildProcess],
  define: { __isosyncXzWasm: JSON.stringify(xzWasm) },
};
/**
 * The CommonJS bundles, what bin/isosync runs, without indentation and with shorter syntax (names and strings, so
 * error messages and stack traces, unchanged): V8 keeps a script's source on its heap for as long as it runs, and
 * parsing it takes memory in proportion (main.cjs 2.1 -> 1.4 MB; peak RSS of `isosync plan --help` -0.7 MiB, of the
 * commands of `npm run bench -- memory` 0.5-1.5 MiB). Renaming identifiers (esbuild's minify) took main.cjs to
 * 1.1 MB but changes the names stack traces and class names show, and with keepNames it used more.
 * Minified, the bundle has no `// dist/src/...` line before each module, by which the delta bench's profile gave
 * each frame its module: a source map is made instead, and each file's module starts (where the map passes from
 * one source to another) are kept beside it as FILE.modules.json, `[line, column, path]` rows (moduleStarts).
 */
const small = { minifyWhitespace: true, minifySyntax: true, sourcemap: 'external' };
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes one segment of a source map's mappings (base64 VLQ) into its numbers. */
function vlq(segment) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = BASE64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/**
 * Where each module starts in a bundle, from its source map: a row [line, column, path] (0-based, as V8's
 * lineNumber and columnNumber; `lineShift` for lines put before the bundle afterwards) wherever the generated code
 * passes to another source, paths relative to the repository (`dist/src/...`, `node_modules/...`).
 */
function moduleStarts(map, lineShift) {
  // tsc's own source maps lead esbuild back to src/**/*.ts: named as their compiled files, as esbuild's comments did.
  const paths = map.sources.map((s) => relative(root, resolve(outdir, s)).split('\\').join('/').replace(/^src\/(.*)\.ts$/, 'dist/src/$1.js'));
  const rows = [];
  let source = 0;
  let current = -1;
  map.mappings.split(';').forEach((line, l) => {
    let column = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const [dc, ds] = vlq(seg);
      column += dc;
      if (ds === undefined) continue;
      source += ds;
      if (source !== current) {
        current = source;
        rows.push([l + lineShift, column, paths[source]]);
      }
    }
  });
  return rows;
}

rmSync(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: {
    version: 'dist/src/version.js',
    'quick-info': 'dist/src/cli/quick-info.js',
    'quick-ls': 'dist/src/cli/quick-ls.js',
    'quick-extract': 'dist/src/cli/quick-extract.js',
    'quick-publish': 'dist/src/cli/quick-publish.js',
    // What bin/isosync asks before it loads quick-publish.cjs: park a hashing worker? (cli/publish-park.ts)
    'publish-park': 'dist/src/cli/publish-park.js',
    // The piece hashing worker of the CommonJS bundles (torrent/hash-worker-url.ts): one file, no ESM loader and
    // no chunks to resolve when a worker starts (callgrind: ~12 M instructions above an empty worker, against ~40 M).
    'hash-worker': 'dist/src/torrent/hash-worker.js',
  },
  format: 'cjs',
  ...small,
  outExtension: { '.js': '.cjs' },
  // import.meta does not exist in CommonJS: its url is the file's own.
  define: { ...common.define, 'import.meta.url': '__isosyncUrl' },
  banner: { js: "const __isosyncUrl = require('node:url').pathToFileURL(__filename).href;" },
});
await build({
  ...common,
  entryPoints: { main: 'dist/src/cli/main.js' },
  format: 'cjs',
  ...small,
  outExtension: { '.js': '.cjs' },
  define: { ...common.define, 'import.meta.url': '__isosyncUrl' },
  // Strict, as the ES modules (and the CommonJS packages bundled inside them) were.
  banner: { js: "'use strict'; const __isosyncUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The files bin/code-cache.cjs loads (main.cjs, and quick-publish.cjs: compiling its 260 KB cost a publish ~35-40 ms
// of CPU, 0.69 -> 0.65 s in 6 alternated runs at load 15-18): a hash of the content on the first line, the cache's key.
const hashed = ['main.cjs', 'quick-publish.cjs'];
for (const name of hashed) {
  const file = `${outdir}/${name}`;
  const body = readFileSync(file, 'utf8');
  writeFileSync(file, `// isosync-bundle ${createHash('sha256').update(body).digest('hex')}\n${body}`);
}
// The module starts of each CommonJS bundle, from its source map, which is not kept (5 MB that nothing runs with).
for (const name of readdirSync(outdir).filter((n) => n.endsWith('.cjs.map'))) {
  const file = `${outdir}/${name}`;
  const starts = moduleStarts(JSON.parse(readFileSync(file, 'utf8')), hashed.includes(name.slice(0, -4)) ? 1 : 0);
  writeFileSync(`${outdir}/${name.slice(0, -4)}.modules.json`, JSON.stringify(starts));
  rmSync(file);
}
const result = await build({
  ...common,
  entryPoints: {
    main: 'dist/src/cli/main.js',
    'hash-worker': 'dist/src/torrent/hash-worker.js',
    'reencode-worker': 'dist/src/delta/reencode-worker.js',
    'verify-worker': 'dist/src/store/verify-worker.js',
  },
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  banner: { js: "import { createRequire as __isosyncRequire } from 'node:module'; const require = __isosyncRequire(import.meta.url);" },
  metafile: true,
});
// Which chunk holds which module (bench/startup-bench.ts finds the swarm's chunk in it).
writeFileSync(`${root}dist/bundle-meta.json`, JSON.stringify(result.metafile));
