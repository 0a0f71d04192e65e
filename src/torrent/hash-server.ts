/**
 * The seeding side of BEP 52 hash requests: answers a peer's `hash request`
 * from the merkle trees of the files we hold, or says we cannot (a `hash
 * reject`, undefined here).
 *
 * A file's tree (merkle.ts) is not kept whole. Nodes at or above its piece
 * layer come from the piece layer (the .torrent's `piece layers`, checked
 * against the pieces root when the torrent was read), reduced upwards with
 * the padding hashes; a file of one piece or less has only its root up
 * there. Nodes below the piece layer (leaf hashes, which a v2 peer asks to
 * find the one bad 16 KiB block of a piece, or to check blocks one by one)
 * are hashed from the pieces' bytes, read for the request: at most
 * MAX_HASH_READ_BYTES a request, beyond it the request is rejected.
 *
 * What is answered and how, as libtorrent does (its `validate_hash_request`
 * and `merkle_tree::get_hashes`): the tree is the file's leaves padded to a
 * power of two; the base layer must be below the root, [index, index +
 * length) inside its layer, and the proof may reach the root at most.
 * Positions past the file's end are padding hashes (zero leaves at layer 0).
 *
 * Pure but for the injected `read`; node:crypto only.
 */
import { answerHashRequest, uncleCount, type HashesReply, type HashRequest } from './hash-messages.js';
import { leafCount, leafHashes, leavesPerPiece, log2Exact, MERKLE_BLOCK_BYTES, nextPowerOfTwo, padHash, reduceRow, SHA256_BYTES } from './merkle.js';
import type { V2File, V2Info } from './v2-info.js';

/** Bytes read for one request at most (the leaves of one 16 MiB piece, libtorrent's largest leaf request at common piece sizes). */
export const MAX_HASH_READ_BYTES = 16 * 1024 * 1024;

export interface HashServerSource {
  readonly pieceLength: number;
  readonly v2: V2Info;
}

/** Reads `length` bytes at `offset` of the torrent's piece-aligned layout. */
export type ReadBytes = (offset: number, length: number) => Promise<Uint8Array>;

interface FileTree {
  readonly file: V2File;
  /** Layer of the top row: the piece layer, or the root for a file of one piece or less. */
  readonly top: number;
  /** The root's layer: log2 of the leaves padded to a power of two. */
  readonly rootLayer: number;
  /** Rows from the top row up to the root, each as present (no padding entries). */
  readonly rows: readonly Uint8Array[];
}

export class HashServer {
  private readonly trees = new Map<string, FileTree | undefined>();
  private readonly byRoot = new Map<string, V2File>();

  constructor(
    private readonly t: HashServerSource,
    private readonly read: ReadBytes,
  ) {
    for (const f of t.v2.files) if (f.piecesRoot) this.byRoot.set(hex(f.piecesRoot), f);
  }

  /** The reply to `r`, or undefined for a hash reject. */
  async answer(r: HashRequest): Promise<HashesReply | undefined> {
    const tree = this.treeOf(hex(r.piecesRoot));
    if (!tree) return undefined;
    const { base, end } = { base: r.baseLayer, end: r.baseLayer + r.proofLayers + 1 };
    const layerWidth = 2 ** (tree.rootLayer - base);
    if (base >= tree.rootLayer || r.index + r.length > layerWidth || end > tree.rootLayer) return undefined;
    if (base >= tree.top) {
      // Wholly above the leaves we read: the rows above the piece layer answer it.
      return answerHashRequest(r, tree.rows[base - tree.top]!, base, layerWidth);
    }
    const pl = this.t.pieceLength;
    const perPiece = tree.top - base; // layers from the base up to the top row
    const firstPiece = Math.floor(r.index / 2 ** perPiece);
    const lastPiece = Math.min(tree.file.pieceCount, Math.ceil((r.index + r.length) / 2 ** perPiece)) - 1;
    const pieces = lastPiece - firstPiece + 1;
    if (pieces * Math.min(pl, 2 ** tree.top * MERKLE_BLOCK_BYTES) > MAX_HASH_READ_BYTES) return undefined;
    const rowAtBase = pieces > 0 ? await this.rowBelowTop(tree, firstPiece, pieces, base) : new Uint8Array(0);
    // The run's nodes, relative to the first piece read; past the file's pieces: padding.
    const offset = firstPiece * 2 ** perPiece;
    const hashes = new Uint8Array(r.length * SHA256_BYTES);
    const present = rowAtBase.length / SHA256_BYTES;
    for (let k = 0; k < r.length; k++) {
      const i = r.index + k - offset;
      hashes.set(i >= 0 && i < present ? rowAtBase.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES) : padHash(base), k * SHA256_BYTES);
    }
    // Uncles: siblings of the run's subtree root and of its ancestors, below `end`.
    const uncles: Uint8Array[] = [];
    const from = base + log2Exact(r.length);
    let rowBelow = rowAtBase;
    for (let h = base; h < from && h < tree.top; h++) rowBelow = reduceRow(rowBelow, h);
    for (let h = from; h < end; h++) {
      const sib = (r.index >> (h - base)) ^ 1;
      if (h >= tree.top) uncles.push(nodeOf(tree.rows[h - tree.top]!, sib, h));
      else {
        const i = sib - (offset >> (h - base));
        uncles.push(i >= 0 && i < rowBelow.length / SHA256_BYTES ? rowBelow.slice(i * SHA256_BYTES, (i + 1) * SHA256_BYTES) : padHash(h));
        rowBelow = reduceRow(rowBelow, h);
      }
    }
    return uncles.length === uncleCount(r) ? { ...r, hashes, uncles } : undefined;
  }

  /** The row at layer `base` (< top) over `pieces` pieces from `firstPiece`, hashed from their bytes; each piece padded with zero leaves to its width. */
  private async rowBelowTop(tree: FileTree, firstPiece: number, pieces: number, base: number): Promise<Uint8Array> {
    const width = 2 ** tree.top; // leaves under one node of the top row
    const f = tree.file;
    const start = firstPiece * width * MERKLE_BLOCK_BYTES;
    const bytes = await this.read(f.offset + start, Math.min(f.length - start, pieces * width * MERKLE_BLOCK_BYTES));
    const leaves = leafHashes(bytes);
    const out: Uint8Array[] = [];
    for (let p = 0; p < pieces; p++) {
      let row = leaves.subarray(p * width * SHA256_BYTES, (p + 1) * width * SHA256_BYTES);
      // Zero leaves fill the piece: reduceRow pads with pad(h), zero at layer 0.
      const padded = new Uint8Array(width * SHA256_BYTES);
      padded.set(row, 0);
      row = padded;
      for (let h = 0; h < base; h++) row = reduceRow(row, h);
      out.push(row);
    }
    return new Uint8Array(Buffer.concat(out));
  }

  private treeOf(rootHex: string): FileTree | undefined {
    if (this.trees.has(rootHex)) return this.trees.get(rootHex);
    const f = this.byRoot.get(rootHex);
    const tree = f ? this.build(f) : undefined;
    this.trees.set(rootHex, tree);
    return tree;
  }

  private build(f: V2File): FileTree | undefined {
    const rootLayer = log2Exact(nextPowerOfTwo(leafCount(f.length)));
    if (rootLayer === 0) return undefined; // one leaf: its root is all there is to ask
    const pl = this.t.pieceLength;
    let top: number;
    let row: Uint8Array;
    if (f.length > pl) {
      const layer = this.t.v2.pieceLayers.get(hex(f.piecesRoot!));
      if (!layer) return undefined;
      top = log2Exact(leavesPerPiece(pl));
      row = layer;
    } else {
      top = rootLayer;
      row = f.piecesRoot!;
    }
    const rows = [row];
    for (let h = top; h < rootLayer; h++) rows.push(reduceRow(rows[rows.length - 1]!, h));
    return { file: f, top, rootLayer, rows };
  }
}

function nodeOf(row: Uint8Array, i: number, height: number): Uint8Array {
  return i < row.length / SHA256_BYTES ? row.slice(i * SHA256_BYTES, (i + 1) * SHA256_BYTES) : padHash(height);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
