/**
 * The ISO 9660 reader (ECMA-119 with Rock Ridge, Joliet, El Torito), its
 * region map and content access. Everything reads through a ByteSource.
 */
export { readIso, type ReadIsoOptions } from './read-iso.js';
export { regionMap, type Region, type RegionKind } from './regions.js';
export { readEntryChunks, DEFAULT_CHUNK_BYTES } from './content.js';
export { LIMITS, SECTOR_BYTES } from './context.js';
export type { IsoImage, IsoEntry, EntryType, Extent, BootCatalog, BootEntry, PathTable, PathTableRecord, MetadataArea } from './entry.js';
export type { VolumeDescriptor } from './descriptors.js';
