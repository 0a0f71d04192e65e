/**
 * Resynchronised clusters, for delta/reencoded-clusters.ts: after an edit,
 * the new file's clusters start elsewhere in the old bytes, but once one of
 * them starts where an old cluster started (at the edit's shift), it reads
 * the very input that old cluster was compressed from, and so does every
 * later one: they are the old file's own stored clusters, shifted (on the
 * bench pair 29 % of the clusters after an edit). Such a cluster is taken
 * from the old image as it is instead of being compressed again (no CPU, no
 * copy in the store); piece hashes decide, like for any re-encoded cluster.
 *
 * It counts as the same when the old cluster starts at the shifted start,
 * has the same stored length and uncompressed length, and the compressor's
 * input was the same: both inputs end at the same old byte, or both reach
 * far (LOOKAHEAD) past the cluster's end (an input's end bounds the last
 * matches only through matches that reach it).
 */
import { inputSizes, type ClusterExtent } from '../layouts/erofs/reencode.js';
import type { Span } from '../store/byte-source.js';
import type { LocalSegment } from './plan.js';

/** Input past a cluster's end that both compressions must have seen. */
const LOOKAHEAD = 1024 * 1024;

export interface OldFile {
  readonly size: number;
  readonly extents: readonly ClusterExtent[];
  readonly sizes: readonly number[];
  /** Extent index by uncompressed start. */
  readonly at: ReadonlyMap<number, number>;
}

/** An old file of `size` bytes with these extents (its cluster index). */
export function oldFile(size: number, extents: readonly ClusterExtent[]): OldFile {
  return { size, extents, sizes: inputSizes(size, extents), at: new Map(extents.map((e, i) => [e.la, i])) };
}

export interface NewCluster {
  readonly extents: readonly ClusterExtent[];
  readonly sizes: readonly number[];
  readonly size: number;
  readonly shift: number;
  readonly from: OldFile;
}

/** The old file's extent that extent `n` of the new file equals, or undefined. */
export function sameOldExtent(j: NewCluster, n: number): number | undefined {
  const e = j.extents[n]!;
  const o = j.from;
  const i = o.at.get(e.la - j.shift);
  if (i === undefined) return undefined;
  const x = o.extents[i]!;
  if (x.inline || x.raw || e.raw || x.plen !== e.plen) return undefined;
  const len = (n + 1 < j.extents.length ? j.extents[n + 1]!.la : j.size) - e.la;
  if ((i + 1 < o.extents.length ? o.extents[i + 1]!.la : o.size) - x.la !== len) return undefined;
  const a = j.sizes[n]!;
  const b = o.sizes[i]!;
  if (a <= 0 || b <= 0 || (a !== b && Math.min(a, b) < len + LOOKAHEAD)) return undefined;
  return i;
}

/** Segments for target spans `t` taken from source spans `s` of the same total length. */
export function pairSpans(t: readonly Span[], s: readonly Span[], source: number, out: LocalSegment[]): void {
  let i = 0;
  let at = s[0]?.start ?? 0;
  for (const span of t) {
    let start = span.start;
    while (start < span.end && i < s.length) {
      const n = Math.min(span.end - start, s[i]!.end - at);
      out.push({ start, end: start + n, source, sourceOffset: at, reason: 'reencoded' });
      start += n;
      at += n;
      if (at >= s[i]!.end && ++i < s.length) at = s[i]!.start;
    }
  }
}
