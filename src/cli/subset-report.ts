/** The human report of a partial sync (`sync --only`). */
import type { PartialReport } from '../subset/partial-sync.js';
import { formatBytes, formatSeconds, percent } from './format.js';
import { say } from './output.js';

export function printPartialReport(r: PartialReport): void {
  say(`${r.name}  partial: ${r.files.length} chosen file(s), ${formatBytes(r.fileBytes)}`);
  say(`  holds ${r.piecesHeld} of ${r.pieceCount} pieces, ${formatBytes(r.bytesHeld)} (${percent(r.piecesHeld, r.pieceCount)}): ${r.metadataPieces} of metadata, ${r.filePieces} of the chosen files, ${r.freePieces} more from local data alone`);
  say(`  fetched ${formatBytes(r.fetchedBytes)}; reused ${formatBytes(r.reusedBytes)} from local data${r.resumedBytes ? `; ${formatBytes(r.resumedBytes)} already in the .part` : ''}; ${formatSeconds(r.seconds)}`);
  if (r.peers) say(`  peers: ${formatBytes(r.peers.downloaded)} down, ${formatBytes(r.peers.uploaded)} up`);
  say(r.complete ? `wrote ${r.output} (it held every piece: the whole image, every piece verified)` : `kept ${r.part} (every piece in it verified); another --only adds to it, a sync without --only completes it`);
}
