/**
 * A look at the command line before commander parses it, for what commander
 * cannot decide alone: is there a command at all (no: print usage), and is
 * the first word a mistyped command rather than the default sync's target
 * ("isosync pubish x.iso" must not become "sync pubish x.iso"). Pure.
 */

/** The first word that is not an option nor an option's value, or undefined. `valueFlags`: options that take a value. */
export function firstOperand(args: readonly string[], valueFlags: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (a.startsWith('-') && a.length > 1) {
      if (!a.includes('=') && valueFlags.has(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

/**
 * Whether `word` could be a sync target rather than a command: a URL, a
 * path (has "/" or "."), or a name that exists on disk.
 */
export function looksLikeTarget(word: string, exists: (path: string) => boolean): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(word) || word.includes('/') || word.includes('.') || exists(word);
}
