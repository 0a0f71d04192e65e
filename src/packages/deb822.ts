/**
 * deb822 control data: the format of a .deb's `control` file and of an
 * archive's `Packages` index (deb822(5), Debian Policy §5.1).
 *
 * A file is a sequence of stanzas separated by blank lines (lines holding only
 * spaces/tabs count as blank). A stanza is a sequence of fields `Name: value`;
 * a line starting with a space or tab continues the previous field's value
 * (kept verbatim after a newline, leading blank included, exactly as
 * `dpkg-deb --field` and apt print it back); lines starting with `#` are comments and are dropped. Field names
 * are case-insensitive: lookups go through `field()`. A stanza naming the same
 * field twice is refused, as dpkg does.
 */
import { IsosyncError, quote } from '../errors.js';

export interface Stanza {
  /** Field names in their original spelling, in order, with their values. */
  readonly fields: ReadonlyArray<readonly [name: string, value: string]>;
  /** 1-based line where the stanza starts (for error messages). */
  readonly line: number;
}

/** The value of a field, by case-insensitive name; undefined when absent. */
export function field(stanza: Stanza, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of stanza.fields) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Field names: printable US-ASCII except `:`, not starting with `#` or `-` (deb822(5)). */
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Parses deb822 text into stanzas. `what` names the source in errors
 * (`Cannot parse "dists/x/Packages": line 12 ...`).
 */
export function parseDeb822(text: string, what: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let fields: Array<[string, string]> = [];
  let seen = new Set<string>();
  let startLine = 0;
  const lines = text.split('\n');
  const flush = (): void => {
    if (fields.length > 0) stanzas.push({ fields, line: startLine });
    fields = [];
    seen = new Set();
  };
  for (let k = 0; k < lines.length; k++) {
    let line = lines[k]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const lineNo = k + 1;
    if (/^[ \t]*$/.test(line)) {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = fields[fields.length - 1];
      if (!last) throw bad(what, lineNo, `continuation line ${quote(line.slice(0, 40))} has no field to continue`);
      last[1] += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(what, lineNo, `expected "Field: value", found ${quote(line.slice(0, 40))}`);
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name) || name.startsWith('-')) throw bad(what, lineNo, `invalid field name ${quote(name)}`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw bad(what, lineNo, `field ${quote(name)} appears twice in one stanza`);
    seen.add(lower);
    if (fields.length === 0) startLine = lineNo;
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  flush();
  return stanzas;
}

function bad(what: string, line: number, why: string): IsosyncError {
  return new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: line ${line}: ${why}`, { file: what, line });
}
