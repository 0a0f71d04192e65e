/**
 * The structure of an xz block (squashfs stores each compressed block as one
 * .xz stream) that tells a changed block's sampler which old bytes differ
 * however far the guess holds (delta/probe.ts). Pure.
 */
import type { Span } from '../core/span.js';

/** xz's stream magic. */
const XZ_MAGIC: readonly number[] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/**
 * LZMA2 chunk headers (xz) in the old bytes of a changed block, relative to `local`. liblzma ends a chunk once
 * its compressed size nears 64 KiB, so a block of more than ~61 KiB compressed holds a second chunk whose header
 * (control byte, uncompressed and compressed size) sits among data that a change further on leaves alone: its
 * compressed size changes with the block's, so those bytes differ although the samples around them agree (the
 * live bench pair: 12 of 14 changed blocks that failed their piece after sampling, which cost the wider margins and
 * every nested file of the piece sampled). Such a header is not kept. Found by its shape: control 0x80 or 0x81 (no
 * reset, up to 128 KiB uncompressed), the range coder's first byte 0 after it, and a compressed size that ends
 * the chunk about where the old block ends (within CHUNK_END_SLACK of `local`'s end, the guess being the shorter of
 * the two blocks), or at such a header; some one false find in eight blocks of noise.
 */
export function lzma2ChunkHeaders(local: Uint8Array): Span[] {
  const found = new Map<number, number>();
  const ends = new Map<number, number>();
  // Found by the zero after the header (one native search over the bytes, where a search for each control byte made
  // two, and 0x80 and 0x81 are each about as common in compressed data as 0: the live bench pair's 182 changed
  // blocks, cold, ~50 -> ~30 ms of CPU), then the control byte five before it. Through a Buffer view: its indexOf
  // is memchr, a Uint8Array's a loop in V8 (callgrind of a stock sync: ~89 M instructions; 180 blocks of 128 KiB
  // of noise, warm, 19-20 ms of CPU against 5-6).
  const bytes = Buffer.from(local.buffer, local.byteOffset, local.length);
  for (let z = bytes.indexOf(0, LZMA2_HEADER); z >= 0; z = bytes.indexOf(0, z + 1)) {
    const i = z - LZMA2_HEADER;
    if (local[i] !== 0x80 && local[i] !== 0x81) continue;
    ends.set(i, z + ((local[i + 3]! << 8) | local[i + 4]!) + 1);
  }
  for (const [i, e] of ends) if (e >= local.length - CHUNK_END_SLACK && e <= local.length + CHUNK_END_SLACK + MAX_LENGTH_CHANGE) found.set(i, e);
  // A chunk before the last one ends where the next one's header starts.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [i, e] of ends) {
      if (found.has(i) || !found.has(e)) continue;
      found.set(i, e);
      grew = true;
    }
  }
  return [...found.keys()].sort((a, b) => a - b).map((i) => ({ start: i, end: i + LZMA2_HEADER }));
}
/** xz's stream header: magic, flags and their CRC, the same in every block of a squashfs. */
export const XZ_STREAM_HEADER = 12;
/**
 * Where the data of an xz block that starts `local` begins (after its stream header, its block header, which
 * holds the block's sizes, and its first LZMA2 chunk header, which holds the chunk's); 0 when `local` does not start
 * an xz stream. Its stream header is the same in every block; the rest differs whenever the block's size does.
 */
export function xzHeaders(local: Uint8Array): number {
  if (local.length < XZ_STREAM_HEADER + 1 || !startsXzStream(local)) return 0;
  const chunk = XZ_STREAM_HEADER + (local[XZ_STREAM_HEADER]! + 1) * 4;
  const end = chunk + (local[chunk]! >= 0xc0 ? LZMA2_HEADER + 1 : LZMA2_HEADER);
  return end < local.length ? end : 0;
}
/** Whether `bytes` start with xz's stream magic. */
export function startsXzStream(bytes: Uint8Array): boolean {
  return XZ_MAGIC.every((b, k) => bytes[k] === b);
}
/** An LZMA2 chunk header without new properties: control, uncompressed size - 1, compressed size - 1. */
const LZMA2_HEADER = 5;
/** How far the old chunks may end from the end of the guess: xz's block padding, check, index and footer. */
const CHUNK_END_SLACK = 64;
/** The most the old block may be longer than the new one, as far as a chunk header is looked for. */
const MAX_LENGTH_CHANGE = 4096;

