/**
 * Why a connection failed, in plain words (no errno codes): the words a peer's
 * and a web seed's failures share ("peer 10.0.0.1:6881 (cannot connect:
 * connection refused)", "web seed http://m/x.iso (connection refused)"). Pure.
 */
const WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name is not known',
  EAI_AGAIN: 'the host name could not be looked up (temporary failure)',
  EADDRNOTAVAIL: 'that address is not available',
  EPIPE: 'the other side closed the connection',
};

/** The plain words for a node-style network error code, or undefined when there are none. */
export function connectionWords(code: string): string | undefined {
  return Object.hasOwn(WORDS, code) ? WORDS[code] : undefined;
}
