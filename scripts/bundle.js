// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/, which bin/isosync runs.
//
// Node 20's ESM loader pays for every module it loads (resolve, read through the thread
// pool, compile, link), and a command loads dozens: one file per entry and per shared
// chunk starts faster (docs/LIBRARIES.md). Code splitting keeps each command's modules out
// of the others' start-up: every dynamic import() stays a separate chunk.
//
// Entries: bin/isosync's three ways in (version, quick info, main) and the hash worker,
// which hash-pieces starts from `new URL('./hash-worker.js', import.meta.url)`, so it must
// sit beside the chunks under its own name. Native packages stay outside (their .node files
// load from their own folders); every other package is bundled, and CommonJS ones reach
// Node's built-ins through a `require` made by createRequire.
//
// Run by `npm run build`, prepare, test, bench and fuzz, after tsc: the bundle is never
// older than dist/src.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    version: 'dist/src/version.js',
    'quick-info': 'dist/src/cli/quick-info.js',
    main: 'dist/src/cli/main.js',
    'hash-worker': 'dist/src/torrent/hash-worker.js',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'utp-native'],
  banner: { js: "import { createRequire as __isosyncRequire } from 'node:module'; const require = __isosyncRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
// Which chunk holds which module (bench/startup-bench.ts finds the swarm's chunk in it).
writeFileSync(`${root}dist/bundle-meta.json`, JSON.stringify(result.metafile));
