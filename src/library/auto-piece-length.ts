/**
 * `publish --piece-length auto`: the largest piece length at which a stock
 * BitTorrent client that starts from a copy of the previous release fetches
 * at most 1.05 x the bytes that really changed.
 *
 * A stock client (libtorrent, aria2c, Transmission given the old image as
 * the file to resume) checks each piece of its copy against the new torrent
 * and fetches every piece that fails, whole. So what it fetches is every
 * piece of the new image that holds a byte differing from the old image at
 * the same offset, or that lies past the old image's end. "Really changed"
 * is counted in 16 KiB blocks (the unit every client requests, and BEP 52's
 * leaf). Images that keep their files in place (isosync remaster, or a
 * build that appends) meet the bound at some length; the choice is the
 * first from the default down (halving, at least 16 KiB) that does,
 * through the same chooser remaster uses (iso/piece-cost.ts).
 *
 * `changedBlocks` reads both images once; the rest is pure.
 */
import { open } from 'node:fs/promises';
import { IsosyncError } from '../errors.js';
import { choosePieceLength } from '../iso/piece-cost.js';

/** The unit of "really changed": 16 KiB. */
export const CHANGE_BLOCK_BYTES = 16 * 1024;
const READ_BYTES = 64 * CHANGE_BLOCK_BYTES;

/** Which 16 KiB blocks of the new image differ from the old one at the same offset (1), or lie past its end. */
export interface ChangedBlocks {
  readonly blocks: Uint8Array;
  readonly newBytes: number;
}

export interface AutoPieceLength {
  readonly pieceLength: number;
  /** Bytes a stock client with the old image fetches at that length. */
  readonly fetchBytes: number;
  /** Bytes in changed 16 KiB blocks. */
  readonly changedBytes: number;
}

/** Bytes of the new image in pieces of `pieceBytes` that hold a changed block. */
export function fetchAt(c: ChangedBlocks, pieceBytes: number): number {
  const per = pieceBytes / CHANGE_BLOCK_BYTES;
  let bytes = 0;
  for (let first = 0; first < c.blocks.length; first += per) {
    const end = Math.min(c.blocks.length, first + per);
    let dirty = false;
    for (let b = first; b < end && !dirty; b++) dirty = c.blocks[b] === 1;
    if (dirty) bytes += Math.min(c.newBytes, end * CHANGE_BLOCK_BYTES) - first * CHANGE_BLOCK_BYTES;
  }
  return bytes;
}

/** The largest piece length from `largest` down (halving, at least 16 KiB) within 1.05 x of the changed bytes. */
export function choosePublishPieceLength(c: ChangedBlocks, largest: number): AutoPieceLength {
  const changedBytes = fetchAt(c, CHANGE_BLOCK_BYTES);
  const pick = choosePieceLength(
    Math.max(largest, CHANGE_BLOCK_BYTES),
    (p) => p,
    (p) => ({ fetchBytes: fetchAt(c, p), changedBytes }),
  );
  return { pieceLength: pick.pieceBytes, fetchBytes: pick.fetchBytes, changedBytes };
}

/** Compares the two images block by block (one read of each). */
export async function changedBlocks(newPath: string, oldPath: string): Promise<ChangedBlocks> {
  const opened = async (path: string) => {
    try {
      return await open(path, 'r');
    } catch (e) {
      throw new IsosyncError('IO', `Cannot read ${JSON.stringify(path)} to choose a piece length: ${(e as Error).message}`, { path }, { cause: e });
    }
  };
  const a = await opened(newPath);
  try {
    const b = await opened(oldPath);
    try {
      const newBytes = (await a.stat()).size;
      const oldBytes = (await b.stat()).size;
      const blocks = new Uint8Array(Math.ceil(newBytes / CHANGE_BLOCK_BYTES));
      const bufA = Buffer.alloc(READ_BYTES);
      const bufB = Buffer.alloc(READ_BYTES);
      for (let at = 0; at < newBytes; at += READ_BYTES) {
        const len = Math.min(READ_BYTES, newBytes - at);
        const gotA = (await a.read(bufA, 0, len, at)).bytesRead;
        const gotB = at < oldBytes ? (await b.read(bufB, 0, Math.min(len, oldBytes - at), at)).bytesRead : 0;
        for (let off = 0; off < len; off += CHANGE_BLOCK_BYTES) {
          const end = Math.min(len, off + CHANGE_BLOCK_BYTES);
          const same = end <= gotA && end <= gotB && bufA.compare(bufB, off, end, off, end) === 0;
          if (!same) blocks[(at + off) / CHANGE_BLOCK_BYTES] = 1;
        }
      }
      return { blocks, newBytes };
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}
