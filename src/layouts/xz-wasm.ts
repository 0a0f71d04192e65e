/**
 * xz-decompress's WebAssembly module (xz-embedded), without the package's JavaScript: its CommonJS
 * file requires node:stream/web at load and defines a ReadableStream subclass (Node's web streams,
 * ~17-20 ms of a live sync's start-up in its profile), and decodes the module's base64 with atob
 * and a callback per byte, all for a stream that `codecs.ts` never uses (it drives the exports).
 *
 * The module is the package file's `data:application/wasm;base64,...` string. scripts/bundle.js
 * takes it out of the file at bundle time (`xzWasmOf`, the same function) and defines it as
 * `__isosyncXzWasm` in the CommonJS bundles; run from dist/src (tests), it is read out of the
 * installed package's file once. Either way it is compiled off the main thread
 * (WebAssembly.instantiate) and has no imports.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The base64 of the module, put here by scripts/bundle.js (a string literal); undefined outside the bundle. */
declare const __isosyncXzWasm: string | undefined;

/** The exports of xz-decompress's WebAssembly module: a context per stream, its buffers in the module's memory. */
export interface XzExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  create_context(): number;
  destroy_context(ctx: number): void;
  supply_input(ctx: number, length: number): void;
  get_next_output(ctx: number): number;
}

const DATA_URL = /data:application\/wasm;base64,([A-Za-z0-9+/]+={0,2})/;

/** The module's base64 out of xz-decompress's CommonJS file, or undefined when the file holds none (another version). */
export function xzWasmOf(packageFile: string): string | undefined {
  return DATA_URL.exec(packageFile)?.[1];
}

function base64(): string | undefined {
  if (typeof __isosyncXzWasm === 'string') return __isosyncXzWasm;
  try {
    return xzWasmOf(readFileSync(createRequire(import.meta.url).resolve('xz-decompress'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The part of the WebAssembly namespace used here (the compiler's lib has no WebAssembly types). */
interface Wasm {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
}

let loaded: Promise<XzExports | undefined> | undefined;

/**
 * The module instantiated (once), or undefined when it cannot be found or lacks an export `codecs.ts` drives (the
 * caller then uses the package's stream).
 */
export function xzExports(): Promise<XzExports | undefined> {
  return (loaded ??= instantiate());
}

async function instantiate(): Promise<XzExports | undefined> {
  const b64 = base64();
  if (b64 === undefined) return undefined;
  const { instance } = await (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly.instantiate(Buffer.from(b64, 'base64'), {});
  const ex = instance.exports as Partial<XzExports>;
  return ex.memory && ex.create_context && ex.destroy_context && ex.supply_input && ex.get_next_output ? (ex as XzExports) : undefined;
}
