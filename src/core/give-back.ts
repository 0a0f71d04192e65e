/**
 * Gives a large typed array's memory back now, not at the next full
 * collection. A walk of a live image's root tree makes columns and scratch
 * arrays of 100,000 to 1,000,000 slots; dropped, their backing stores wait
 * for a mark-compact, which V8 starts only once some tens of MB of them have
 * gathered: at 100,000 squashfs entries, 13 MB of dropped arrays were still
 * held when both walks of a sync ended (about 120 bytes an entry of its peak).
 *
 * The buffer is moved (transferred, not copied) to a new ArrayBuffer that
 * nothing keeps: young, it goes with its memory at the next scavenge, some
 * MB of allocation later. Every view of the buffer is detached (length 0):
 * call it only on an array nothing reads again. Small arrays (their memory
 * may lie in V8's heap) and shared buffers are left, and so is a view of part
 * of a buffer unless `wholeBuffer` (the caller knows no other view of it is read).
 */

/** Below this, an array is left to the collector. */
const MIN_BYTES = 64 * 1024;

export function giveBack(a: ArrayBufferView | undefined, wholeBuffer = false): void {
  if (!a) return;
  const b = a.buffer;
  if (!(b instanceof ArrayBuffer) || b.byteLength < MIN_BYTES || (!wholeBuffer && (a.byteOffset !== 0 || a.byteLength !== b.byteLength))) return;
  try {
    structuredClone(b, { transfer: [b] });
  } catch {
    // Not transferable (a WebAssembly memory's): left to the collector.
  }
}
