/**
 * The options of a directory tree walk (tree.ts), and the lending reads a
 * walk can use (read-window.ts WindowSource provides them).
 */
export type NameSource = 'rockridge' | 'joliet' | 'iso9660';

export interface TreeOptions {
  readonly names: NameSource;
  readonly blockSize: number;
  /** Bytes to skip at the start of every system use area (SUSP SP). */
  readonly suspSkip: number;
  /**
   * Which directories to read (default: all). A directory it refuses is
   * listed, with the attributes its parent's record gives, but its records
   * are not read: a reader that wants a few files reads only the directories
   * on their paths.
   */
  readonly descend?: (path: string) => boolean;
  /**
   * false: only the metadata areas are wanted (the second tree of an image,
   * read for its directory sectors): every record is still read and checked,
   * but no entry is kept, so a walk of a million files holds no million
   * objects. Default true.
   */
  readonly entries?: boolean;
  /**
   * false: no dates are read (no entry gets an mtimeMs): for a walk whose
   * caller prints or checks no time (`ls`'s table, extract's name check).
   * Default true.
   */
  readonly times?: boolean;
  /** Reads a directory's chunks as views valid until the next read (read-window.ts WindowSource), not as copies. */
  readonly transient?: TransientReads;
}

/**
 * A source that lends a view of its bytes, valid until its next read: the
 * walk scans a directory's records synchronously, so most chunks need no
 * copy (one per directory of a 12,500-directory image was most of what the
 * walk allocated outside the entries). Where the scan awaits (a record whose
 * system use area continues elsewhere) or keeps a record across chunks
 * (a multi-extent file), it copies what it keeps.
 */
export interface TransientReads {
  /** The bytes when they are at hand without I/O, else undefined. */
  peek(offset: number, length: number): Uint8Array | undefined;
  view(offset: number, length: number): Promise<Uint8Array>;
}
