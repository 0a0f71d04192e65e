/** Local typings for lz4js 0.2 (it ships none): only the raw block decoder isosync uses. */
declare module 'lz4js' {
  /** Decodes one raw LZ4 block src[sIndex, sIndex+sLength) into dst from dIndex; returns the end index in dst. */
  export function decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
}
