/**
 * The ut_metadata extension (BEP 9) on a bittorrent-protocol wire: the
 * glue between a peer's wire and the pure codec in
 * src/torrent/metadata-exchange.ts.
 *
 * Serving side: advertises `metadata_size` in the extended handshake and
 * answers each request with the piece of the raw info dictionary, or a
 * reject for a piece out of range. A magnet leecher of any client then gets
 * the info dictionary from an isosync seed.
 *
 * A peer that sends more than MAX_REQUESTS_PER_WIRE requests on one
 * connection is answered with rejects from then on: an info dictionary of
 * 32 MiB is 2048 pieces, so an honest peer never needs more than a few
 * rounds of it.
 *
 * bittorrent-protocol calls `onMessage` from its parser: nothing here
 * throws (a malformed message is ignored, as BEP 9 lets a peer do).
 */
import type Wire from 'bittorrent-protocol';
import {
  answerMetadataRequest,
  decodeMetadataMessage,
  encodeMetadataMessage,
  metadataPieceCount,
  UT_METADATA,
} from '../torrent/metadata-exchange.js';

/** Requests answered per connection at most (see the module comment). */
export const MAX_REQUESTS_PER_WIRE = 8192;

interface ExtensionWire {
  extendedHandshake: Record<string, unknown>;
  extended(name: string, payload: Uint8Array): void;
  peerExtendedMapping?: Record<string, number>;
}

export interface MetadataExtensionClass {
  new (wire: Wire): { onMessage(buf: Uint8Array): void };
  prototype: { name: string };
}

/** A wire extension class serving `rawInfo` (pass it to `wire.use` before the handshake). */
export function serveMetadata(rawInfo: Uint8Array): MetadataExtensionClass {
  class UtMetadataServer {
    private answered = 0;
    private readonly wire: ExtensionWire;

    constructor(wire: Wire) {
      this.wire = wire as unknown as ExtensionWire;
      this.wire.extendedHandshake['metadata_size'] = rawInfo.length;
    }

    get name(): string {
      return UT_METADATA;
    }

    onMessage(buf: Uint8Array): void {
      let msg;
      try {
        msg = decodeMetadataMessage(buf);
      } catch {
        return;
      }
      if (msg.type !== 'request') return;
      const answer =
        this.answered++ < MAX_REQUESTS_PER_WIRE && msg.piece < metadataPieceCount(rawInfo.length) ? answerMetadataRequest(rawInfo, msg.piece) : { type: 'reject' as const, piece: msg.piece };
      try {
        this.wire.extended(UT_METADATA, encodeMetadataMessage(answer));
      } catch {
        // The peer did not advertise ut_metadata after all: nothing to answer to.
      }
    }
  }
  // bittorrent-protocol reads `name` from the prototype: the getter above puts it there (a class field would not).
  return UtMetadataServer as unknown as MetadataExtensionClass;
}
