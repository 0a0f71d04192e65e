/**
 * File-system and network errors in plain words, for the one line a user
 * sees: "Cannot open "x.iso": permission denied", "Cannot listen on
 * 127.0.0.1:8080: port 8080 is already in use". Node's own text
 * ("EACCES: permission denied, open '/tmp/.x.iso.tmp-1234'") carries codes and
 * temporary file names a user cannot act on. Pure.
 */

import { connectionWords } from '../core/net-words.js';

const OWN_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'it already exists',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ENOTEMPTY: 'the folder is not empty',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  EXDEV: 'it is on another file system',
  EIO: 'an input/output error on the device',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'the resource is busy',
  ECONNABORTED: 'the connection was aborted',
  EADDRNOTAVAIL: 'that address is not on this machine',
  // Connection failures not below (ECONNREFUSED, ETIMEDOUT, ...): core/net-words.ts, as peers and web seeds say them.
  UND_ERR_SOCKET: 'the connection failed',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak TLS',
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate cannot be verified",
};

/** The plain words for `code`: this file's own, else a failed connection's (core/net-words.ts). */
const wordsFor = (code: string): string | undefined => (Object.hasOwn(OWN_WORDS, code) ? OWN_WORDS[code] : connectionWords(code));

export interface SystemErrorLike {
  code?: string;
  syscall?: string;
  path?: string;
  port?: number;
  address?: string;
  message?: string;
}

/** A temporary name isosync writes through (atomic-write's ".NAME.PID.HEX.tmp"; a ".part" is not one). */
const TEMP_NAME = /(^|\/)\.([^/]+?)\.\d+\.[0-9a-f]+\.tmp(?=$|[^\w.])/g;

/** The path a user knows: a temporary file's final name (also inside a longer text). */
export function userPath(path: string): string {
  return path.replace(TEMP_NAME, (_m, head: string, name: string) => `${head}${name}`);
}

/** Whether `e` looks like a Node system error (it has an E… code). */
export function isSystemError(e: unknown): e is SystemErrorLike {
  return typeof e === 'object' && e !== null && typeof (e as SystemErrorLike).code === 'string' && /^(E[A-Z0-9]+|UND_ERR_[A-Z_]+|ERR_SSL_[A-Z_]+|[A-Z_]+_CERT|CERT_[A-Z_]+|UNABLE_TO_[A-Z_]+)$/.test((e as SystemErrorLike).code!);
}

/** The reason in plain words: "permission denied", "port 8080 is already in use". */
export function plainReason(e: SystemErrorLike): string {
  const code = e.code ?? '';
  if (code === 'EADDRINUSE') return e.port !== undefined ? `port ${e.port} is already in use` : 'the address is already in use';
  if (code === 'EACCES' && (e.syscall === 'listen' || e.syscall === 'bind')) return e.port !== undefined && e.port < 1024 ? `port ${e.port} needs root` : 'permission denied';
  const w = wordsFor(code);
  if (w) return w;
  // Unknown code: Node's text without the code prefix and without paths.
  const text = (e.message ?? code).split('\n')[0]!.replace(/^[A-Z_0-9]+:\s*/, '').replace(/,\s*\w+\s+'[^']*'(?:\s*->\s*'[^']*')?$/, '');
  return text || code || 'unknown error';
}

const VERBS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  close: 'close',
  stat: 'read',
  lstat: 'read',
  fstat: 'read',
  scandir: 'list',
  opendir: 'list',
  mkdir: 'create the folder',
  rmdir: 'remove the folder',
  unlink: 'remove',
  rename: 'rename',
  link: 'link',
  symlink: 'link',
  copyfile: 'copy',
  ftruncate: 'resize',
  fsync: 'write',
  fdatasync: 'write',
  realpath: 'read',
  access: 'read',
  connect: 'connect to',
  listen: 'listen on',
  bind: 'listen on',
  getaddrinfo: 'look up',
  spawn: 'run',
};

/**
 * One line for a system error that reached the top without context:
 * "Cannot open "/x/y.iso": permission denied". The path is the one the
 * user knows (a temporary file's final name).
 */
export function systemErrorLine(e: SystemErrorLike): string {
  const verb = VERBS[e.syscall ?? ''] ?? 'complete the operation on';
  const where =
    e.path !== undefined
      ? JSON.stringify(userPath(e.path))
      : e.address !== undefined
        ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}`
        : (e as { hostname?: string }).hostname ?? '';
  if (!where) return `Cannot ${verb === 'complete the operation on' ? 'complete the operation' : verb}: ${plainReason(e)}`;
  return `Cannot ${verb} ${where}: ${plainReason(e)}`;
}

/** Node's own text for a system error: "ECODE: words, syscall 'path'" (with an optional " -> 'dest'"). */
const NODE_TEXT = /\b([A-Z][A-Z0-9_]{2,}): [^,\n]*(?:, \w+(?: '[^']*'(?: -> '[^']*')?)?)?/g;

/**
 * The text of an error message with Node's system-error text and bare
 * error codes replaced by plain words and temporary names by the final
 * ones: "Cannot write "x.torrent": EACCES: permission denied, open
 * '/d/.x.torrent.1.ab.tmp'" -> "Cannot write "x.torrent": permission denied".
 */
export function plainText(message: string): string {
  let s = message.replace(NODE_TEXT, (m, code: string) => (wordsFor(code) || code === 'EADDRINUSE' ? plainReason({ code, message: m }) : m));
  s = s.replace(/(?<=: )(E[A-Z]{3,}[A-Z0-9]*)\b(?!:)/g, (code: string) => (wordsFor(code) || code === 'EADDRINUSE' ? plainReason({ code }) : code));
  return userPath(s);
}
