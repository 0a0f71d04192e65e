/**
 * Key files on disk: the secret key as PKCS#8 PEM, mode 0600, written
 * atomically and never over an existing file unless asked; the public key
 * beside it as KEYFILE.pub (one line, `ed25519:...`), to hand to followers.
 */
import { readFileSync, statSync } from 'node:fs';
import { IsosyncError } from '../errors.js';
import { writeFileAtomic } from '../library/atomic-write.js';
import type { WarningSink } from '../core/warnings.js';
import { parseSecretKey, type SecretKey } from './keys.js';

/** A PEM Ed25519 key is about 120 bytes; anything this large is not a key file. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

function writeMode(path: string, text: string, mode: number, force: boolean): void {
  if (!force) {
    let exists = false;
    try {
      statSync(path);
      exists = true;
    } catch {
      // absent: fine
    }
    if (exists) throw new IsosyncError('CONFLICT', `Cannot write key ${JSON.stringify(path)}: the file exists (use --force to replace it)`, { path });
  }
  writeFileAtomic(path, text, { mode, what: 'key' });
}

/** Writes the secret key (0600) and KEYFILE.pub; returns the .pub path. */
export function writeKeyFiles(path: string, key: SecretKey, force: boolean): string {
  const pub = `${path}.pub`;
  writeMode(path, key.pem(), 0o600, force);
  writeMode(pub, `${key.publicKey.id}\n`, 0o644, true);
  return pub;
}

/** Reads a secret key file; `warn` hears when others may read it. */
export function readKeyFile(path: string, warn?: WarningSink): SecretKey {
  let text: string;
  let shared = false;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new IsosyncError('BAD_ARGUMENT', `Cannot read key ${JSON.stringify(path)}: not a regular file`, { path });
    if (st.size > MAX_KEY_FILE_BYTES) throw new IsosyncError('BAD_ARGUMENT', `Cannot read key ${JSON.stringify(path)}: ${st.size} bytes is not a key file`, { path });
    shared = (st.mode & 0o077) !== 0;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof IsosyncError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new IsosyncError('NOT_FOUND', `Cannot read key ${JSON.stringify(path)}: no such file (make one with isosync keygen -o ${path})`, { path });
    throw new IsosyncError('IO', `Cannot read key ${JSON.stringify(path)}: ${err.code === 'EACCES' ? 'permission denied' : err.message}`, { path }, { cause: e });
  }
  const key = parseSecretKey(text, path);
  if (shared) warn?.({ code: 'KEY_FILE_SHARED', source: path, detail: `this key can be read by other users (chmod 600 ${path})` });
  return key;
}
