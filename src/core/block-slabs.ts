/**
 * The process's pool of slabs for received blocks (slab-pool.ts): the web
 * seeds' fillers cut blocks from it (webseed/block-filler.ts), and the
 * engine's held and awaited blocks (engine/wants.ts) and the .part's
 * deferred blocks (store/deferred-blocks.ts) hold them and give them back.
 * Bytes from anywhere else pass through hold and release untouched.
 */
import { giveBack } from './give-back.js';
import { SlabPool } from './slab-pool.js';

/**
 * 4 blocks of 16 KiB a slab, under the 128 KiB MALLOC_MMAP_THRESHOLD_ that bin/isosync sets, so malloc serves a
 * new slab from its arena (pages freed slabs used before) where a 256 KiB slab was a fresh mmap each time: page
 * faults on every first write of its 64 pages, and an munmap when collected. Stock-torrent DVD delta (82 MB from
 * the web seed), 3 alternating runs each, load 18-21: page faults 26-27k -> 18-19k, process CPU 2.05-2.22 -> 1.87-2.11 s.
 */
export const SLAB_BYTES = 64 * 1024;

/**
 * Spare slabs kept for cutting again: none. A slab let go whole is detached at once instead (core/give-back.ts: its
 * memory goes at the next scavenge, not the next full collection). Keeping spares raised the peak: DVD sync from
 * nginx, 3 alternated rounds at load 12-19, 32 spares (2 MiB, one look-ahead batch) 78.4-79.1 MiB, 4 spares and
 * detached beyond 76.0-77.4, none and detached 75.3-76.9, the base build 76.1-77.3.
 */
export const MAX_SPARE_SLABS = 0;

export const blockSlabs = new SlabPool(SLAB_BYTES, MAX_SPARE_SLABS, undefined, (slab) => giveBack(new Uint8Array(slab)));

/** One more hold on received bytes (no-op unless cut from blockSlabs). */
export const holdBlock = (bytes: Uint8Array): void => blockSlabs.hold(bytes);
/** Gives a hold on received bytes back (no-op unless cut from blockSlabs): they are not read again by this holder. */
export const releaseBlock = (bytes: Uint8Array): void => blockSlabs.release(bytes);
