/**
 * The ports: the few interfaces through which the pure layers (parsers, the
 * planner, assembly) reach bytes, the network and the disk. Implementations
 * live outside (store/ for files, engine/ for peers and web seeds), so a test
 * plugs in a Uint8Array or a map.
 *
 *   ByteSource    "N bytes at offset X" of an image (parsers, planner)
 *   PieceFetcher  byte ranges of one piece from the network, with who sent them
 *   RangeFetcher  byte ranges anywhere in the target (its metadata, while planning)
 *   PieceStore    where verified pieces go (the .part)
 */
import type { PieceIndex } from './ids.js';
import type { Span } from './span.js';

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Returns exactly `length` bytes starting at `offset`. Reading past `size`
   * is a caller error and rejects with an IsosyncError.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: the same bytes as `read(offset, length)`, written into
   * `dest[at, at+length)` instead of a new buffer (piece filling: no
   * allocation, one copy fewer).
   */
  readInto?(dest: Uint8Array, at: number, offset: number, length: number): Promise<void>;
  /**
   * Optional: the caller will soon read these ranges. A source that fetches
   * over a network gets them in one round trip; a local cache of blocks loads
   * them with few reads (BlockCache); a plain local one ignores it.
   */
  prefetch?(ranges: readonly Span[]): Promise<void>;
  /**
   * Optional: prefetch for ranges given as [start, end) pairs in one array (a nested tree's level:
   * one range per inode, tens of thousands, where a Span object each cost ~60 bytes per copy).
   */
  prefetchBounds?(bounds: Float64Array): Promise<void>;
  /**
   * Optional: true when a small read anywhere costs about as little as a copy from memory (a regular
   * local file in the page cache, read synchronously). A cache in front of it (BlockCache) then reads
   * only the bytes asked on a miss instead of loading a whole block it would mostly throw away.
   */
  readonly cheapReads?: boolean;
  /**
   * Optional: a descriptor of the regular local file that holds these bytes at the same offsets, which
   * another thread of this process may pread (the verifying worker fills a piece of local bytes itself:
   * store/verify-worker.ts). Open while the source is.
   */
  readonly preadFd?: number;
}

/** Who sent which fetched bytes (absolute spans): blame for a failed hash falls on exactly them. */
export type Blame<Who> = readonly { readonly start: number; readonly end: number; readonly who: Who }[];

/** Bytes fetched for sorted, disjoint spans (parts[i] holds spans[i]), and who sent each byte. */
export interface Fetched<Who> {
  readonly parts: readonly Uint8Array[];
  readonly blame: Blame<Who>;
}

export interface FetchOptions<Who> {
  /** Sources to ask only when no other has the piece (they sent bytes of it that failed). */
  readonly avoid?: ReadonlySet<Who>;
  /** Every byte from one source: a whole copy whose hash failure convicts exactly its sender. */
  readonly oneSource?: boolean;
  /**
   * A buffer of the piece's size to assemble the bytes in (piece-relative
   * offsets): the parts are then views of it, and no buffer is allocated per
   * piece (the caller's pool).
   */
  readonly into?: Uint8Array;
}

/** Where fetched bytes come from: peers and web seeds behind one engine (engine/engine.ts). */
export interface PieceFetcher<Who = unknown> {
  /** Fetches sorted, disjoint absolute byte ranges, all inside piece `piece`. */
  fetch(piece: PieceIndex, ranges: readonly Span[], opts?: FetchOptions<Who>): Promise<Fetched<Who>>;
  /** `who` sent bytes that failed a piece hash on their own. */
  convict(who: Who, why: string): void;
  /**
   * Takes the pieces that need the network (in index order) and returns how
   * to get the next one to work on, in the order the fetcher prefers
   * (rarest first...); undefined once all were handed out. Default: in order.
   */
  handOut?(remaining: readonly PieceIndex[]): () => PieceIndex | undefined;
  /** Piece `piece` is verified: bytes held for it may go. */
  done?(piece: PieceIndex): void;
  /** Pieces worth working on at once, when the caller does not say (peers want a deep window). */
  readonly concurrency?: number | undefined;
  /** Peers are connected that get no look-ahead: pieces that need the network start beside local ones (delta/assemble-window.ts nextPieceFrom). */
  readonly interleavesLocal?: boolean;
}

/**
 * Bytes one more range costs in a multi-range HTTP request: each part of a
 * multipart/byteranges reply (RFC 9110 §14.6) carries a boundary line and its
 * Content-Type and Content-Range headers (nginx: 118 bytes for a file of some
 * hundred MB; Apache about as many). Ranges closer than this are cheaper
 * asked as one, and the plan counts it per range it expects a sync to ask.
 */
export const MULTIPART_PART_BYTES = 100;

/** Byte ranges of the target from the network, anywhere (they may cross pieces). */
export interface RangeFetcher {
  fetchRange(start: number, end: number): Promise<Uint8Array>;
  /** Several sorted, disjoint ranges at once, when the source can (HTTP multi-range). */
  fetchRanges?(ranges: readonly Span[]): Promise<Uint8Array[]>;
}

/** Where verified pieces are written. */
export interface PieceStore {
  /** have[i]: piece i is verified (and may be served). */
  readonly have: readonly boolean[];
  writePiece(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<void>;
  /**
   * True when writePiece is done with `bytes` once it resolves (it copied them,
   * e.g. to disk): the caller may then reuse the buffer for another piece. A
   * store that keeps the reference leaves this unset.
   */
  readonly releasesBytes?: boolean;
  /** True when page-aligned buffers (store/aligned.ts) are written faster: bypassing the page cache (store/part-file.ts). */
  readonly alignedWrites?: boolean;
  /**
   * Writes `bytes` as the piece if they are it (its hash matches): true once written, false (nothing written)
   * otherwise. A store that checks off the main thread has it; the caller then does not check them itself.
   */
  writeIfMatches?(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<boolean>;
  /**
   * writeIfMatches of bytes the store reads into `bytes` itself, off the main thread: `reads` holds
   * [fd, position, at, length] for each run of the piece (preadFd descriptors; fd -1: zeros), `at`
   * from the piece's start. False when nothing was written (the store cannot fill there, a read failed,
   * or the hash did not match): the caller then fills and checks the piece as usual. Used only on a
   * store that has writeIfMatches too (the caller does not write what it verified).
   */
  fillAndWriteIfMatches?(piece: PieceIndex, offset: number, bytes: Uint8Array, reads: readonly number[]): Promise<boolean>;
  /**
   * Bytes the store writes at once when adjacent verified pieces wait together (two such writes in flight):
   * set when it batches them (store/verified-writes.ts), so that assembly keeps enough pieces in flight to fill them.
   */
  readonly writeBatchBytes?: number;
}
