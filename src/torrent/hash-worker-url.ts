/**
 * The file a piece hashing worker runs (hash-worker.ts). From the CommonJS
 * bundles (dist/bundle/*.cjs, what bin/isosync runs) it is their CommonJS
 * build, hash-worker.cjs, one self-contained file: a worker starts without
 * the ESM loader and the chunks it would resolve, ~12 M instructions above
 * an empty worker against ~40 M (callgrind), so hashing starts sooner.
 * From ES modules (tsc's output, the ESM bundle) it is hash-worker.js beside
 * them. `from` is the caller's import.meta.url (a bundle's own file).
 */
export function hashWorkerUrl(from: string): URL {
  return new URL(from.endsWith('.cjs') ? './hash-worker.cjs' : './hash-worker.js', from);
}
