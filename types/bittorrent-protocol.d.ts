/**
 * Local typings for bittorrent-protocol 5 (the published @types are the v3
 * API). Only what isosync uses is declared; the Wire is a streamx Duplex
 * whose readable side is the bytes to send and whose writable side takes the
 * bytes received.
 */
declare module 'bittorrent-protocol' {
  export interface WireExtensions {
    dht?: boolean;
    fast?: boolean;
    extended?: boolean;
  }

  export interface PeerPieces {
    get(index: number): boolean;
  }

  export interface WireRequest {
    piece: number;
    offset: number;
    length: number;
  }

  type Respond = (err: Error | null, block?: Uint8Array) => void;

  export default class Wire {
    constructor(type?: string, peEnabled?: 0 | 1 | 2);
    peerId: string | null;
    peerIdBuffer: Uint8Array | null;
    type: string;
    amChoking: boolean;
    amInterested: boolean;
    peerChoking: boolean;
    peerInterested: boolean;
    peerPieces: PeerPieces;
    hasFast: boolean;
    requests: WireRequest[];
    peerRequests: WireRequest[];
    extendedHandshake: Record<string, unknown>;
    peerExtendedHandshake: Record<string, unknown>;
    uploaded: number;
    downloaded: number;
    destroyed: boolean;

    // protected internals overridden by SafeWire (see src/swarm/safe-wire.ts)
    _parse(size: number, parser: (buf: Uint8Array) => void): void;
    /** The handshake after its length byte: protocol string, reserved bytes, infohash, peer id. */
    _onHandshakeBuffer(handshake: Uint8Array): void;
    _onMessageLength(buf: Uint8Array): void;
    /** The library's trace line for the `debug` package (namespace bittorrent-protocol). */
    _debug(...args: unknown[]): void;
    _onMessage(buf: Uint8Array): void;
    _onKeepAlive(): void;
    _onReject(index: number, offset: number, length: number): void;
    _onRequest(index: number, offset: number, length: number): void;
    _onCancel(index: number, offset: number, length: number): void;
    _onPiece(index: number, offset: number, block: Uint8Array): void;
    _onFinish(): void;
    /** Answers `request` (removed from its list first, when there); a null request is ignored. */
    _callback(request: WireRequest | null, err: Error | null, block: Uint8Array | null): void;
    /** Removes and returns the first request in `list` for exactly these bytes (null if none). */
    _pull(list: WireRequest[], piece: number, offset: number, length: number): WireRequest | null;
    allowedFastSet: number[];
    /** Sends message `id` with its 32-bit numbers and payload (BEP 52 hash messages go through it). */
    _message(id: number, numbers: number[], data?: Uint8Array): void;
    _push(data: Uint8Array): boolean | undefined;
    /** Stream input: the peer's bytes, buffered until `_parserSize` of them are there for `_parser`. */
    _write(data: Uint8Array, cb: (err: Error | null) => void): void;
    _processBuffer(): void;
    _buffer: Uint8Array[];
    _bufferSize: number;
    _parserSize: number;
    _parser: ((buf: Uint8Array) => void) | null;
    _cryptoSyncPattern: Uint8Array | null;
    _finished: boolean;
    peerAllowedFastSet: number[];
    /** Arms (or clears) the library's request timeout; a no-op unless setTimeout was called. */
    _resetTimeout(setAgain: boolean): void;
    push(data: Uint8Array | null): boolean;
    _pePending: boolean;
    _encryptor: { state: string; _isEncrypted: boolean; decrypt(data: Uint8Array): Uint8Array; encrypt(data: Uint8Array): Uint8Array } | null;

    peerExtendedMapping: Record<string, number>;
    use(extension: unknown): void;
    extended(ext: string | number, payload: Uint8Array | Record<string, unknown>): void;
    setKeepAlive(enable: boolean): void;
    setTimeout(ms: number, unref?: boolean): void;
    setInfoHash(infoHashHex: string): void;
    /** MSE/PE as the initiator (a wire made with peEnabled 1 or 2): send the BitTorrent handshake after 'crypto-handshake'. */
    startEncryption(infoHashHex: string): void;
    handshake(infoHash: Uint8Array | string, peerId: Uint8Array, extensions?: WireExtensions): void;
    choke(): void;
    unchoke(): void;
    interested(): void;
    uninterested(): void;
    have(index: number): void;
    bitfield(bits: Uint8Array): void;
    haveAll(): void;
    haveNone(): void;
    request(index: number, offset: number, length: number, cb: (err: Error | null, block?: Uint8Array) => void): void;
    cancel(index: number, offset: number, length: number): void;
    reject(index: number, offset: number, length: number): void;
    piece(index: number, offset: number, block: Uint8Array): void;
    keepAlive(): void;
    destroy(): this | undefined;
    end(): void;
    write(data: Uint8Array): boolean;

    on(event: 'data', fn: (chunk: Uint8Array) => void): this;
    on(event: 'close' | 'finish' | 'end' | 'choke' | 'unchoke' | 'interested' | 'uninterested' | 'have-all' | 'have-none' | 'timeout' | 'keep-alive', fn: () => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    on(event: 'handshake', fn: (infoHashHex: string, peerIdHex: string, ext: WireExtensions) => void): this;
    on(event: 'bitfield', fn: (bits: PeerPieces) => void): this;
    on(event: 'have' | 'suggest' | 'allowed-fast', fn: (index: number) => void): this;
    on(event: 'request', fn: (index: number, offset: number, length: number, respond: Respond) => void): this;
    on(event: 'cancel' | 'reject', fn: (index: number, offset: number, length: number) => void): this;
    on(event: 'piece', fn: (index: number, offset: number, block: Uint8Array) => void): this;
    on(event: 'crypto-infohash', fn: (hashHex: string) => void): this;
    on(event: 'unknownmessage', fn: (buf: Uint8Array) => void): this;
    on(event: string, fn: (...args: never[]) => void): this;
    once(event: 'close' | 'crypto-handshake', fn: () => void): this;
    emit(event: string, ...args: unknown[]): boolean;
    removeAllListeners(event?: string): this;
  }
}
