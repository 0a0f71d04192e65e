/**
 * `npm run bench`: runs every bench module in this folder, i.e. every file
 * named `*-bench.ts` (compiled to dist/bench/*-bench.js) that exports
 * `run(): Promise<void>`, in name order. Each prints its own figures beside
 * the reference tools it measured in the same run.
 *
 *   npm run bench                 every bench
 *   npm run bench -- publish      only benches whose file name contains "publish"
 *
 * A bench that throws is reported and the others still run; the exit code is
 * then 1.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Benches run on 127.0.0.1 only: the isosync processes they start contact no public DHT router.
process.env['ISOSYNC_DHT_BOOTSTRAP'] ??= '';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const all = readdirSync(here).filter((f) => f.endsWith('-bench.js'));
// A filter that names a bench exactly runs that bench alone (`memory` is not also `nested-memory`); any other
// filter runs every bench whose name holds it.
const modules = all.filter((f) => filters.length === 0 || filters.some((x) => (all.includes(`${x}-bench.js`) ? f === `${x}-bench.js` : f.includes(x)))).sort();

if (modules.length === 0) process.stdout.write(`no bench modules matched ${JSON.stringify(filters)}\n`);
for (const file of modules) {
  process.stdout.write(`\n== ${file.replace(/\.js$/, '')} ==\n`);
  const t0 = performance.now();
  try {
    const mod = (await import(pathToFileURL(`${here}/${file}`).href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error('exports no run()');
    await mod.run();
    process.stdout.write(`(${file}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  } catch (e) {
    process.exitCode = 1;
    process.stdout.write(`${file} failed: ${(e as Error).stack ?? String(e)}\n`);
  }
}
