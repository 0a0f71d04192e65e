/**
 * Gives a large buffer's memory back at once instead of at the next full
 * collection. A buffer of some MiB that lived through a long pass (a ring of
 * reads) is in V8's old generation by its end; once dropped, its bytes stay
 * allocated until a mark-compact, which a process that then idles or serves
 * (a seed after verifying its image) may not run for a long time: the seed's
 * 3 MiB verification ring stayed resident while it served (peak RSS measured
 * at its peak: 5.7 MiB of array buffers, the ring 3 of them).
 *
 * How: the buffer's ArrayBuffer is transferred (structuredClone with it in
 * the transfer list) to a new one nothing refers to, which moves its memory
 * without copying and detaches the original; the new one, young, is freed
 * by the next scavenge (a matter of a MiB of allocation).
 *
 * Only for a buffer that owns its whole ArrayBuffer (not a view into Node's
 * shared pool of small Buffers, nor part of a larger buffer, nor shared
 * memory): any other view of it would be detached too. The caller must be
 * done with it, and no read or write may still be filling it (the thread pool
 * would write into freed memory).
 */
export function releaseBytes(bufs: readonly Uint8Array[]): void {
  for (const b of bufs) {
    const ab = b.buffer;
    if (!(ab instanceof ArrayBuffer) || b.byteOffset !== 0 || b.byteLength !== ab.byteLength || ab.byteLength === 0) continue;
    try {
      structuredClone(ab, { transfer: [ab] });
    } catch {
      // Not transferable (a WebAssembly memory's, already detached): left to the collector.
    }
  }
}
