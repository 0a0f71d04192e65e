/**
 * Rebuilding the stored bytes of an lz4hc EROFS cluster from the file's
 * uncompressed bytes, as mkfs.erofs (erofs-utils 1.5) made them: it reads a
 * file into a queue of 6000 KiB, and for each physical cluster calls
 * LZ4_compress_HC_destSize on everything queued from the cluster's
 * uncompressed start (so the input's end, which bounds the last matches,
 * is the queue's end, not the file's), into one cluster of output; the
 * stream is stored at the end of the cluster after zeros (LZ4_0PADDING).
 * When the queue passes 3000 KiB its consumed head is dropped, 4 KiB-aligned.
 *
 * `inputSizes` replays that queue from the extents' uncompressed starts
 * (which the cluster index gives), so that a re-encoding sees the very input
 * length mkfs.erofs saw; `reencodeCluster` then gives the cluster's bytes and
 * whether it consumed exactly the input up to the next extent (anything else
 * means the guessed uncompressed bytes are not the ones mkfs.erofs read).
 */
import type { LayoutFile } from '../layout.js';
import { Lz4HcEncoder, LZ4HC_DEFAULT_LEVEL } from './lz4hc.js';

/** erofs-utils 1.5's EROFS_CONFIG_COMPR_MAX_SZ: the queue holds twice this. */
const COMPR_MAX_SZ = 3000 * 1024;
const QUEUE_BYTES = 2 * COMPR_MAX_SZ;
const BLOCK = 4096;

/** An extent of the cluster index: uncompressed start, stored length, raw or inline. */
export interface ClusterExtent {
  readonly la: number;
  readonly plen: number;
  readonly raw: boolean;
  readonly inline: boolean;
}

/**
 * For each extent of a file of `size` bytes, the input length mkfs.erofs
 * handed the compressor for it (the queued bytes from its start), or 0 for
 * an extent the replay cannot place (it then matches nothing: unknown).
 */
export function inputSizes(size: number, extents: readonly ClusterExtent[], pclusterBytes = BLOCK): number[] {
  const sizes = new Array<number>(extents.length).fill(0);
  let k = 0;
  let head = 0; // queue offsets
  let tail = 0;
  let remaining = size;
  while (remaining > 0 && k < extents.length) {
    const readcount = Math.min(remaining, QUEUE_BYTES - tail);
    if (readcount <= 0) break;
    tail += readcount;
    remaining -= readcount;
    const final = remaining === 0;
    let len = tail - head;
    while (len > 0 && k < extents.length) {
      if (len <= pclusterBytes && !final) break;
      const end = k + 1 < extents.length ? extents[k + 1]!.la : size;
      const count = end - extents[k]!.la;
      if (count <= 0 || count > len) return sizes;
      sizes[k] = len;
      k++;
      head += count;
      len -= count;
      if (!final && head >= COMPR_MAX_SZ) {
        const after = head % BLOCK;
        head = after;
        tail = after + len;
        break;
      }
    }
  }
  return sizes;
}

export interface Reencoded {
  /** The cluster as stored: zeros, then the LZ4 stream, `plen` bytes in all. */
  readonly stored: Uint8Array;
  /** True when the compressor consumed exactly the extent's uncompressed bytes. */
  readonly exact: boolean;
  /** One past the last byte of `content` the compressor read: bytes from there on did not matter. */
  readonly reach: number;
}

/**
 * Re-encodes extent `k` of a file from `content` (the file's uncompressed
 * bytes, or a guess of them; only bytes from the extent's start to its
 * input end are read, and of those only up to `reach`: `content` may be
 * filled only that far). Raw and inline extents are not re-encoded (undefined).
 * With `scratch` (at least the extent's stored length) `stored` is a view of
 * it, valid until its next use: no buffer per cluster.
 */
export function reencodeCluster(
  enc: Lz4HcEncoder,
  content: Uint8Array,
  extents: readonly ClusterExtent[],
  k: number,
  inputSize: number,
  level = LZ4HC_DEFAULT_LEVEL,
  scratch?: Uint8Array,
): Reencoded | undefined {
  const x = extents[k];
  if (!x || x.raw || x.inline || inputSize <= 0 || x.la + inputSize > content.length) return undefined;
  const end = k + 1 < extents.length ? extents[k + 1]!.la : content.length;
  const stored = scratch && scratch.length >= x.plen ? scratch.subarray(0, x.plen) : new Uint8Array(x.plen);
  // The stream is written at the start, then moved to the cluster's end after zeros (LZ4_0PADDING).
  const { out, consumed, reach } = enc.destSize(content, x.la, inputSize, x.plen, level, stored);
  const pad = x.plen - out.length;
  if (pad > 0) {
    stored.copyWithin(pad, 0, out.length);
    stored.fill(0, 0, pad);
  }
  return { stored, exact: consumed === end - x.la, reach: x.la + reach };
}

/**
 * Extents already made, by entry: re-encoding asks for a changed file's (and its old version's) in every round, and
 * again to read its old clusters; made anew each time (the evidence split, an object per extent) they were some 10 MB
 * of short-lived objects on the live bench pair. Entries are made per use (FileTable.get), so this holds only what
 * re-encoding keeps; the results are read, never changed.
 */
const made = new WeakMap<LayoutFile, { extents: ClusterExtent[]; pas: number[] } | undefined>();

/** A file's extents from its layout entry (EROFS: chunks and the logical starts in `evidence`). */
export function extentsOf(f: LayoutFile): { readonly extents: readonly ClusterExtent[]; readonly pas: readonly number[] } | undefined {
  if (made.has(f)) return made.get(f);
  const r = makeExtents(f);
  made.set(f, r);
  return r;
}

function makeExtents(f: LayoutFile): { extents: ClusterExtent[]; pas: number[] } | undefined {
  if (!f.evidence) return undefined;
  const las = f.evidence.split('.').map((s) => parseInt(s, 36));
  if (las.length !== f.chunks.length / 2) return undefined;
  const pas: number[] = [];
  const extents = las.map((la, i) => {
    const pa = f.chunks[2 * i]!;
    const plen = f.chunks[2 * i + 1]! - pa;
    pas.push(pa);
    // An inline (tail-packed) extent sits in the metadata: not block-aligned, shorter than a block.
    const inline = pa % BLOCK !== 0 || plen !== BLOCK;
    return { la, plen, raw: false, inline };
  });
  return { extents, pas };
}
