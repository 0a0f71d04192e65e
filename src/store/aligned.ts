/**
 * Page-aligned byte buffers, for writes that bypass the page cache (O_DIRECT,
 * store/direct-writer.ts): the kernel takes such a write straight from the
 * buffer only when its address, file offset and length are multiples of the
 * device's block size. A JavaScript ArrayBuffer gives no alignment (malloc's
 * header puts it 16 bytes past a page), and no way to learn its address; a
 * WebAssembly memory starts on a page, so every buffer here is a view of one
 * at a multiple of ALIGN.
 *
 * One shared memory (a SharedArrayBuffer: growing it keeps the views made
 * before valid), grown a buffer at a time and never shrunk: the callers are
 * pools (delta/piece-fill.ts BufferPool) that reuse what they take, so it
 * holds as much as the most pieces in flight at once. It reserves address
 * space up front (V8 reserves a memory's maximum and its guard regions, ~10
 * GiB of virtual memory, none of it resident); where it cannot (a virtual
 * memory limit), `alignedBytes` returns undefined and callers allocate plain
 * buffers, which are written through the page cache as before.
 */

/** Alignment of every buffer, in bytes: a page, a multiple of any block size O_DIRECT asks for. */
export const ALIGN = 4096;
const WASM_PAGE = 65536;
/** The most the memory may grow to (2 GiB of reservation): far more than pieces in flight ever take. */
const MAX_PAGES = 32768;

/** The part of WebAssembly.Memory used here (the compiler's lib has no WebAssembly types). */
interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface MemoryConstructor {
  new (d: { initial: number; maximum: number; shared: boolean }): SharedMemory;
}

let memory: SharedMemory | undefined | null;
/** The memory's current view; every buffer handed out is a view of one of its generations. */
let arena: SharedArrayBuffer | undefined;
/** Bytes of the memory handed out so far. */
let used = 0;
/** The buffers of the memory, each generation (grow makes a new SharedArrayBuffer over the same bytes). */
const generations = new WeakSet<ArrayBufferLike>();

function theMemory(): SharedMemory | undefined {
  if (memory === undefined) {
    try {
      const Memory = (globalThis as unknown as { WebAssembly: { Memory: MemoryConstructor } }).WebAssembly.Memory;
      memory = new Memory({ initial: 0, maximum: MAX_PAGES, shared: true });
      arena = memory.buffer;
      generations.add(arena);
    } catch {
      memory = null;
    }
  }
  return memory ?? undefined;
}

/**
 * A new page-aligned buffer of `len` bytes (zero-filled), or undefined when no
 * aligned memory can be had (the caller then allocates a plain one).
 */
export function alignedBytes(len: number): Uint8Array | undefined {
  const mem = theMemory();
  if (!mem || len <= 0) return undefined;
  const size = Math.ceil(len / ALIGN) * ALIGN;
  const need = used + size;
  try {
    if (need > arena!.byteLength) {
      mem.grow(Math.ceil((need - arena!.byteLength) / WASM_PAGE));
      arena = mem.buffer;
      generations.add(arena);
    }
  } catch {
    return undefined; // past the maximum, or out of memory: a plain buffer will do
  }
  const view = new Uint8Array(arena!, used, len);
  used = need;
  return view;
}

/** The aligned memory, for a worker to read buffers from (verified-writes.ts); undefined where there is none. */
export function alignedMemory(): { readonly buffer: SharedArrayBuffer } | undefined {
  return theMemory();
}

/** Whether `b` lies in the aligned memory (a worker given alignedMemory() can read it by its byteOffset). */
export function inAlignedMemory(b: Uint8Array): boolean {
  return generations.has(b.buffer);
}

/** Whether `b` starts on an ALIGN boundary of aligned memory (a view of a buffer from alignedBytes, or a part of one). */
export function isAligned(b: Uint8Array): boolean {
  return b.byteOffset % ALIGN === 0 && generations.has(b.buffer);
}
