/**
 * The one JSON shape of a torrent's metainfo (`info --json`, and the torrent
 * part of `publish --json`).
 */
import { summarizeHints } from '../delta/hints.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { trackerTiers, type Metainfo } from '../torrent/metainfo.js';

export interface MetainfoJson {
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  infoHash: string;
  product: string | null;
  release: string | null;
  lineage: { release: string; infoHash: string }[];
  similar: string[];
  collections: string[];
  trackers: string[][];
  webSeeds: string[];
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
    product: m.isosync?.product ?? null,
    release: m.isosync?.release ?? null,
    lineage: (m.isosync?.lineage ?? []).map((e) => ({ release: e.release, infoHash: e.infoHash })),
    similar: [...m.similar],
    collections: [...m.collections],
    trackers: trackerTiers(m),
    webSeeds: [...m.urlList],
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
