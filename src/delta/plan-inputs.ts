/**
 * The planning decisions of a sync, as functions of what is known: which
 * local image a hint set applies to, whether the target's own metadata is
 * read before its pieces, which guess layers the plan gets, what a failed
 * read of the target's metadata means, and what each source contributed.
 * The sync coordinator (sync/prepare.ts) only gathers the inputs and wires
 * the outputs. Pure: the one question that reads bytes (is this image the
 * one a hint set was computed against?) is an injected `probe`.
 *
 * Hint sets (delta/hint-format.ts): a torrent's "from" sets say how to build
 * it from an earlier image; a newer torrent's "to" sets say how to build
 * this one from the newer image (rollback). For a "from" set the image the
 * catalog says is that release is tried first, then images of unknown
 * release; an image a set was accepted for is known to be that release from
 * then on (so it serves one "from" set only). A set is accepted when the
 * probe proves the image right ('yes'), or cannot tell ('unknown') and the
 * image is already known to be the set's release.
 */
import { infoHashFromBytes, type InfoHash } from '../core/ids.js';
import { IsosyncError } from '../core/errors.js';
import { decodeHints, type HintSet } from './hint-format.js';
import { hintSegments } from './hint-map.js';
import { sameOffsetGuesses } from './iso-map.js';
import { JoinedLayer, SegmentList, CACHE_SOURCE, type Layer, type LocalSegment, type Plan } from './plan.js';
import { reasonCode, SegmentTable } from './segments.js';

/** What planning knows of a local image. */
export interface ImageFacts {
  /** Its index among the sync's sources. */
  readonly index: number;
  readonly size: number;
  /** The release it holds, when the catalog knows. */
  readonly infoHash?: InfoHash;
  /** How it was found: 'self' is a registered copy of the target itself. */
  readonly via: string;
  /** The hints of a newer release's torrent it came with (raw, as in the info dictionary). */
  readonly newerHints?: unknown;
}

export type Verdict = 'yes' | 'no' | 'unknown';

export interface HintChoice {
  /**
   * Exact layers, in priority order (a registered copy of the target first), in typed columns: a DVD pair's
   * hint layer is ~11,000 segments, kept for the whole sync (~100 bytes each as objects, 29 as rows).
   */
  readonly layers: SegmentTable[];
  /** How each source index is used: through a "from" or a "to" set. */
  readonly use: ReadonlyMap<number, 'from' | 'to'>;
  /** Releases learned: images a "from" set was accepted for hold that set's release. */
  readonly learned: ReadonlyMap<number, InfoHash>;
  /** The target's own hints could not be read (they are then ignored). */
  readonly ignored?: IsosyncError;
}

/** Chooses the hint sets and the images they apply to (see the module comment). */
export async function chooseHints(
  target: { readonly infoHash?: InfoHash; readonly length: number; readonly hints?: unknown },
  images: readonly ImageFacts[],
  probe: (set: HintSet, image: ImageFacts) => Promise<Verdict>,
): Promise<HintChoice> {
  const layers: SegmentTable[] = [];
  const use = new Map<number, 'from' | 'to'>();
  const learned = new Map<number, InfoHash>();
  const known = (img: ImageFacts) => img.infoHash ?? learned.get(img.index);
  const trySet = async (set: HintSet, candidates: readonly ImageFacts[], dir: 'from' | 'to') => {
    const other = infoHashFromBytes(set.other);
    for (const img of candidates) {
      const verdict = await probe(set, img);
      const sure = known(img) !== undefined && (dir === 'to' || known(img) === other);
      if (verdict === 'yes' || (verdict === 'unknown' && sure)) {
        if (dir === 'from' && known(img) === undefined) learned.set(img.index, other);
        layers.push(SegmentTable.of(hintSegments(set, img.index)));
        use.set(img.index, dir);
        return;
      }
    }
  };
  let own;
  let ignored: IsosyncError | undefined;
  try {
    own = decodeHints(target.hints);
  } catch (e) {
    ignored = e instanceof IsosyncError ? e : new IsosyncError('BAD_TORRENT', String(e));
  }
  for (const set of own?.sets ?? []) {
    if (set.direction !== 'from') continue;
    const h = infoHashFromBytes(set.other);
    await trySet(set, [...images.filter((x) => known(x) === h), ...images.filter((x) => known(x) === undefined)], 'from');
  }
  for (const img of images) {
    if (!img.newerHints || target.infoHash === undefined) continue;
    let hints;
    try {
      hints = decodeHints(img.newerHints);
    } catch {
      continue; // a newer torrent's broken hints only cost that shortcut
    }
    for (const set of hints?.sets ?? []) if (set.direction === 'to' && infoHashFromBytes(set.other) === target.infoHash) await trySet(set, [img], 'to');
  }
  // A copy of the target itself (registered in the catalog): the same offsets, exactly.
  for (const img of images) if (img.via === 'self' && img.size === target.length) layers.unshift(SegmentTable.of([{ start: 0, end: target.length, source: img.index, sourceOffset: 0, reason: 'same-file' }]));
  return { layers, use, learned, ...(ignored ? { ignored } : {}) };
}

/** Read-ahead while reading a hinted target's metadata: 256 KiB covers hundreds of directories per request. */
export const HINTED_READ_AHEAD = 256 * 1024;

export interface MetadataPolicy {
  /** Read the target's ISO metadata while planning. */
  readonly read: boolean;
  /** Not read because the hints are exact (changed files come from the finished image). */
  readonly deferred: boolean;
  /** Exact hints cover every local source: the plan is made from them alone (planLayers). */
  readonly hintsCoverAll: boolean;
  /** Bytes read past a missed metadata read (only bytes that are needed anyway when hints are exact). */
  readonly readAhead: number;
}

/**
 * Whether to read the target's metadata before its pieces. Not when nothing
 * local could map onto it (no source: a serial round of fetches for nothing,
 * which stalls on a BEP 16 super-seed), nor, with `deferHinted`, when delta
 * hints cover every source (exact hints leave only a few KB of zeros for the
 * metadata to find, while reading it before any peer is connected costs each
 * client a serial round of fetches of its own).
 */
export function metadataPolicy(o: { sources: number; sourcesCoveredByHints: number; hintLayers: number; deferHinted: boolean }): MetadataPolicy {
  const hintsCoverAll = o.hintLayers > 0 && o.sourcesCoveredByHints === o.sources;
  const deferred = o.deferHinted && hintsCoverAll;
  return { read: o.sources > 0 && !deferred, deferred, hintsCoverAll, readAhead: o.hintLayers > 0 ? HINTED_READ_AHEAD : 0 };
}

/** What the nested step of planning found (sync/nested-plan.ts), as far as the plan's layers go. */
export interface NestedLayers {
  /** Candidate segments whose pieces verified while the target's nested metadata was read: exact. */
  readonly verified: Layer;
  /** Nested files' stored blocks mapped onto a source's (columns: a segment or more per nested file). */
  readonly exact: Layer;
  /** Zeros for the free space of each container (columns: about one per EROFS inode). */
  readonly freeGuesses: Layer;
  /** Changed stored blocks guessed from the old block at the same index (nested-map changedBlocks): the first guess layer. */
  readonly changedBlocks?: readonly LocalSegment[];
  /** Changed EROFS clusters compressed again (delta/reencoded-clusters.ts): the first guess layer, before changed blocks. */
  readonly reencoded?: readonly LocalSegment[];
  /** The whole-file mapping of the containers (iso-map containerGuesses): only a last guess. */
  readonly containerGuesses: Layer;
}

/**
 * The guess layers of the plan: the ISO mapping's (when the target's
 * metadata was read; with nested images, their free space and changed
 * blocks join the first layer and the containers' whole-file mapping comes
 * last), none when the
 * hints are exact (what they leave uncovered changed: a same-offset guess
 * would only fail and fetch its pieces whole), else same-offset guesses
 * from every image.
 */
export function guessLayers(o: { mappingGuesses?: readonly Layer[]; nested?: NestedLayers; deferred: boolean; targetLength: number; images: readonly ImageFacts[] }): Layer[] {
  if (o.mappingGuesses && o.nested) {
    // The first layer's parts are read as one where they are (no copy of the free space's columns).
    return [new JoinedLayer([o.mappingGuesses[0] ?? [], o.nested.freeGuesses, o.nested.reencoded ?? [], o.nested.changedBlocks ?? []]), ...o.mappingGuesses.slice(1), o.nested.containerGuesses];
  }
  if (o.mappingGuesses) return o.mappingGuesses as Layer[];
  if (o.deferred) return [];
  return sameOffsetGuesses(o.targetLength, o.images.map((i) => ({ index: i.index, size: i.size })));
}

/**
 * The plan's layers, exact ones in priority order and guesses. With exact
 * hints for every source a sync plans from the hints alone (metadata
 * deferred), so `plan` (which reads the metadata to name the changed files)
 * plans the same way and predicts what a sync moves; otherwise the resumed
 * pieces, the hints, the metadata read while planning, the nested mapping
 * (verified, then mapped) and the ISO file mapping, in that order.
 */
export function planLayers(o: {
  part: LocalSegment[];
  hints: readonly Layer[];
  cached: Layer;
  hintsCoverAll: boolean;
  nested?: NestedLayers;
  isoExact?: Layer;
  guesses: Layer[];
}): { exact: Layer[]; guesses: Layer[] } {
  if (o.hintsCoverAll) return { exact: [o.part, ...o.hints, o.cached], guesses: [] };
  return { exact: [o.part, ...o.hints, o.cached, o.nested?.verified ?? [], o.nested?.exact ?? [], o.isoExact ?? []], guesses: o.guesses };
}

/** The planning bytes' layer (VirtualTarget.cachedBounds: [start, end) pairs) in columns: a segment per fetched range, about one per EROFS inode. */
export function cachedLayer(bounds: Float64Array): SegmentList {
  const list = new SegmentList(bounds.length >> 1);
  const fetched = reasonCode('fetched');
  for (let k = 0; k < bounds.length; k += 2) list.push(bounds[k]!, bounds[k + 1]!, CACHE_SOURCE, bounds[k]!, fetched);
  return list;
}

/**
 * What a failed read of the target's metadata means: a network failure with
 * a source to fetch from fails the sync ('fail'); with none, the plan goes
 * on without the layout; any other failure means the target is not ISO 9660.
 */
export function metadataFailure(e: unknown, hasNetworkSources: boolean): { readonly fail: true } | { readonly fail: false; readonly note: string } {
  const network = e instanceof IsosyncError && e.code === 'NETWORK';
  if (network && hasNetworkSources) return { fail: true };
  if (network) return { fail: false, note: 'the target image layout was not read: no web seed to fetch its metadata from' };
  return { fail: false, note: `the target is not read as ISO 9660 (${e instanceof Error ? e.message : String(e)}); same-offset reuse only` };
}

/** Bytes each source index contributes to the plan (exact bytes and the first guess layer). */
export function reusedBySource(plan: Plan): Map<number, number> {
  const out = new Map<number, number>();
  for (const layer of [plan.local, plan.guesses[0] ?? []]) for (const s of layer) if (s.source >= 0) out.set(s.source, (out.get(s.source) ?? 0) + (s.end - s.start));
  return out;
}
