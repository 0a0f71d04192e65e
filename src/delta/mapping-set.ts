/**
 * A set of mappings met at a target offset: (offset, source, shift) triples
 * in one open-addressing hash table of typed columns (linear probing, at most
 * half full, doubled when it would pass that). Guess-policy's Distrust keeps
 * the mappings that failed there, by the offset where each would continue: on
 * a live image, tens of thousands (one per failed same-offset or zero guess
 * between the inodes of an EROFS), which as a Map of Sets of key strings cost
 * some 250 bytes of heap each, held for the whole assembly; here 20 bytes a
 * slot (40-80 an entry) and no heap object. Pure: no I/O.
 */
import { giveBack } from '../core/give-back.js';

/** An empty slot's offset (target offsets are never negative). */
const EMPTY = -1;
const FIRST_SLOTS = 64;
const TWO_32 = 2 ** 32;

export class MappingSet {
  private at = new Float64Array(FIRST_SLOTS).fill(EMPTY);
  private sources = new Int32Array(FIRST_SLOTS);
  private shifts = new Float64Array(FIRST_SLOTS);
  private n = 0;

  /** Triples held. */
  get size(): number {
    return this.n;
  }

  /** Whether (offset, source, shift) is held. */
  has(offset: number, source: number, shift: number): boolean {
    const at = this.at;
    const mask = at.length - 1;
    for (let i = slot(offset, mask); at[i] !== EMPTY; i = (i + 1) & mask) {
      if (at[i] === offset && this.sources[i] === source && this.shifts[i] === shift) return true;
    }
    return false;
  }

  /** Adds (offset, source, shift); false when it was held already. */
  add(offset: number, source: number, shift: number): boolean {
    if (this.has(offset, source, shift)) return false;
    if (2 * (this.n + 1) > this.at.length) this.grow();
    this.put(offset, source, shift);
    this.n++;
    return true;
  }

  private put(offset: number, source: number, shift: number): void {
    const at = this.at;
    const mask = at.length - 1;
    let i = slot(offset, mask);
    while (at[i] !== EMPTY) i = (i + 1) & mask;
    at[i] = offset;
    this.sources[i] = source;
    this.shifts[i] = shift;
  }

  private grow(): void {
    const [at, sources, shifts] = [this.at, this.sources, this.shifts];
    this.at = new Float64Array(at.length * 2).fill(EMPTY);
    this.sources = new Int32Array(at.length * 2);
    this.shifts = new Float64Array(at.length * 2);
    for (let i = 0; i < at.length; i++) if (at[i] !== EMPTY) this.put(at[i]!, sources[i]!, shifts[i]!);
    for (const a of [at, sources, shifts]) giveBack(a);
  }
}

/** First slot of an offset (an integer below 2^53): its two 32-bit halves mixed (multiplicative hashing), then masked. */
function slot(offset: number, mask: number): number {
  const h = Math.imul((offset >>> 0) ^ Math.imul(Math.floor(offset / TWO_32), 0x85ebca6b), 0x9e3779b1);
  return (h ^ (h >>> 16)) & mask;
}
