/**
 * The one naming rule for a torrent file: the image's file name plus
 * `.torrent` (distro-1.01.iso -> distro-1.01.iso.torrent). publish writes it
 * beside the image, publish --out-dir into the mirror folder, serve answers
 * FILE.torrent for every big enough FILE, and a client given an image URL
 * asks for URL.torrent: one name everywhere, for any file name.
 */
export const TORRENT_SUFFIX = '.torrent';

export function torrentFileName(imageName: string): string {
  return `${imageName}${TORRENT_SUFFIX}`;
}
