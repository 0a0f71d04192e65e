/**
 * The serve read-window: bytes served to peers are read from the store in
 * aligned windows of SERVE_WINDOW_BYTES and kept for the next requests (a
 * peer asks a piece's 16 KiB blocks one after another): one read instead of
 * 16 (each read was a thread-pool round trip, the largest CPU cost of a
 * loopback seed after socket writes). The most recent SERVE_WINDOWS windows
 * are kept (LRU); a request that crosses a window is read alone.
 */

export const SERVE_WINDOW_BYTES = 256 * 1024;
/** Windows kept (8 MiB): the pieces a handful of unchoked peers are fetching at once. */
export const SERVE_WINDOWS = 32;

export class ServeWindows {
  /** Windows by absolute offset, oldest first. */
  private readonly windows = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly read: (offset: number, length: number) => Promise<Uint8Array>,
    private readonly pieceLength: number,
  ) {}

  /** Bytes [offset, offset+length) of piece `piece` (of `pieceSize` bytes). */
  async bytes(piece: number, pieceSize: number, offset: number, length: number): Promise<Uint8Array> {
    const pieceStart = piece * this.pieceLength;
    const wStart = Math.floor(offset / SERVE_WINDOW_BYTES) * SERVE_WINDOW_BYTES;
    const wEnd = Math.min(pieceSize, wStart + SERVE_WINDOW_BYTES);
    if (offset + length > wEnd) return this.read(pieceStart + offset, length);
    const at = pieceStart + wStart;
    let w = this.windows.get(at);
    if (w) this.windows.delete(at);
    else {
      w = this.read(at, wEnd - wStart);
      const mine = w;
      w.catch(() => this.windows.get(at) === mine && this.windows.delete(at));
    }
    this.windows.set(at, w);
    while (this.windows.size > SERVE_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    const bytes = await w;
    return bytes.subarray(offset - wStart, offset - wStart + length);
  }
}
