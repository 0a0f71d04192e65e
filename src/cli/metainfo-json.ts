/**
 * The one JSON shape of a torrent's metainfo (`info --json`, and the torrent
 * part of `publish --json`).
 */
import { summarizeHints } from '../delta/hint-format.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { trackerTiers, type Metainfo } from '../torrent/metainfo.js';

export interface MetainfoJson {
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  /** The wire infohash: v1 SHA-1, or the v2 SHA-256 cut to 20 bytes for a v2-only torrent. */
  infoHash: string;
  version: 'v1' | 'v2' | 'hybrid';
  /** BEP 52 SHA-256 infohash (v2 and hybrid), null for v1. */
  infoHashV2: string | null;
  product: string | null;
  release: string | null;
  lineage: { release: string; infoHash: string }[];
  similar: string[];
  collections: string[];
  trackers: string[][];
  webSeeds: string[];
  /** BEP 17 HTTP seeds. */
  httpSeeds: string[];
  comment: string | null;
  createdBy: string | null;
  creationDate: number | null;
  private: boolean;
  files?: { path: string; length: number; offset: number; attr?: string }[];
  hints: Record<string, unknown> | null;
}

export function metainfoJson(m: Metainfo): MetainfoJson {
  const hints = m.isosync?.hints;
  return {
    name: m.name,
    length: m.length,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    infoHash: m.infoHash,
    version: m.version,
    infoHashV2: m.v2?.infoHash ?? null,
    product: m.isosync?.product ?? null,
    release: m.isosync?.release ?? null,
    lineage: (m.isosync?.lineage ?? []).map((e) => ({ release: e.release, infoHash: e.infoHash })),
    similar: [...m.similar],
    collections: [...m.collections],
    trackers: trackerTiers(m),
    webSeeds: [...m.urlList],
    httpSeeds: [...m.httpSeeds],
    comment: m.comment ?? null,
    createdBy: m.createdBy ?? null,
    creationDate: m.creationDate ?? null,
    private: m.private,
    ...(m.files
      ? { files: m.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset, ...(f.attr ? { attr: f.attr } : {}) })) }
      : {}),
    hints: hints === undefined ? null : summarizeHints(hints, encodeBencode(hints).length),
  };
}
