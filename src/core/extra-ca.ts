/**
 * NODE_EXTRA_CA_CERTS, read on the first https request instead of at start-up.
 *
 * Node parses the file NODE_EXTRA_CA_CERTS names (and its own ~140 root
 * certificates with it) when the process starts, before any script runs:
 * ~0.05-0.06 CPU s for a system bundle, paid by every command, also those
 * that never open a TLS connection (publish, info, ls, --version). So
 * bin/isosync's first lines (a /bin/sh line before node starts) move the
 * variable aside into ISOSYNC_DEFERRED_CA_CERTS and unset it, and
 * bin/isosync then puts it back into process.env at once (child processes see
 * the environment they would have seen) and leaves its path under
 * EXTRA_CA_KEY. Every https request isosync makes then passes
 * extraCaOptions(): one TLS context, made on first use, that trusts Node's
 * root certificates plus that file's (what Node's own default context trusts
 * with the variable set). Run as `node bin/isosync` the variable stays as it
 * was, Node reads it at start, and extraCaOptions() is empty.
 *
 * A file that cannot be read is reported as Node reports it ("Ignoring extra
 * certs from ...") and the default certificates are used, as Node does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type tls from 'node:tls';

/** Where bin/isosync leaves the path it moved aside (a global: bin/isosync is not part of the bundle). */
export const EXTRA_CA_KEY = Symbol.for('isosync.extraCaCerts');

const load = createRequire(import.meta.url);
/** undefined: not made yet; null: nothing to add. */
let made: { secureContext: tls.SecureContext } | null | undefined;

/** The file bin/isosync moved aside, if any. */
export function deferredExtraCa(): string | undefined {
  const v = (globalThis as Record<symbol, unknown>)[EXTRA_CA_KEY];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The TLS context that trusts Node's root certificates and those of `pem` (one or more PEM certificates). */
export function contextWithExtraCa(pem: string): tls.SecureContext {
  const t = load('node:tls') as typeof tls;
  return t.createSecureContext({ ca: [...t.rootCertificates, pem] });
}

/** The TLS options of `file` (see contextWithExtraCa); none, with Node's warning, when it cannot be read. */
export function loadExtraCa(file: string, warn: (line: string) => void): { secureContext?: tls.SecureContext } {
  try {
    return { secureContext: contextWithExtraCa(readFileSync(file, 'latin1')) };
  } catch (e) {
    warn(`Warning: Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return {};
  }
}

/** Options to spread into every https request (and https Agent) isosync makes: see the module comment. */
export function extraCaOptions(warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): { secureContext?: tls.SecureContext } {
  if (made === undefined) {
    const file = deferredExtraCa();
    const o = file === undefined ? {} : loadExtraCa(file, warn);
    made = o.secureContext ? { secureContext: o.secureContext } : null;
  }
  return made ?? {};
}
