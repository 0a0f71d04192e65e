/**
 * A small TypeScript tokenizer for the stack-safety checks: it finds the
 * call sites that spread an array into arguments (`push(...x)`,
 * `Math.max(...x)`, `new X(...x)`, `f.apply(o, x)`) and the functions that
 * call themselves by name.
 *
 * Why not a real parser: the project's TypeScript 7 is a native binary with
 * no compiler API, and the checks need only tokens and bracket nesting.
 * Comments, strings, template literals (with their `${}` code) and regular
 * expression literals are skipped so their text never counts as code.
 */

export interface Token {
  readonly text: string;
  /** 1-based line of the token's first character. */
  readonly line: number;
  readonly kind: 'word' | 'punct' | 'string' | 'number';
}

const PUNCT3 = ['...', '===', '!==', '**=', '<<=', '>>=', '>>>', '??=', '&&=', '||='];
const PUNCT2 = ['=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<', '>>', '**'];
/** After these tokens a `/` starts a regular expression, not a division. */
const REGEX_AFTER = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '=>', '&&', '||', '??', 'return', 'typeof', 'case', 'of', 'in', '+', '-', '*', '%', '<', '>', '==', '===', '!=', '!==']);

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  // Open template literals: the brace depth at which each `${` started.
  const templates: number[] = [];
  let braces = 0;
  const push = (text: string, kind: Token['kind'], at: number): void => {
    out.push({ text, line: at, kind });
  };
  const skipTemplateText = (): void => {
    // i is just after a backtick or a closing `}` of `${}`: read text up to `${` or the closing backtick.
    const start = line;
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n') line++;
      if (c === '`') {
        i++;
        push('`...`', 'string', start);
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        templates.push(braces);
        braces++;
        push('${', 'punct', line);
        return;
      }
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === '\n') line++;
      i = stop;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = line;
      i++;
      while (i < src.length && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      i++;
      push('"..."', 'string', start);
      continue;
    }
    if (c === '`') {
      i++;
      skipTemplateText();
      continue;
    }
    if (c === '}' && templates.length > 0 && templates[templates.length - 1] === braces - 1) {
      templates.pop();
      braces--;
      i++;
      push('}', 'punct', line);
      skipTemplateText();
      continue;
    }
    if (c === '/') {
      const prev = out[out.length - 1];
      if (!prev || REGEX_AFTER.has(prev.text)) {
        const start = line;
        i++;
        let inClass = false;
        while (i < src.length && src[i] !== '\n') {
          const d = src[i]!;
          if (d === '\\') {
            i += 2;
            continue;
          }
          if (d === '[') inClass = true;
          else if (d === ']') inClass = false;
          else if (d === '/' && !inClass) break;
          i++;
        }
        i++;
        while (i < src.length && /[a-z]/i.test(src[i]!)) i++;
        push('/.../', 'string', start);
        continue;
      }
    }
    if (/[A-Za-z_$#@]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[\w$]/.test(src[j]!)) j++;
      push(src.slice(i, j), 'word', line);
      i = j;
      continue;
    }
    if (/\d/.test(c) || (c === '.' && /\d/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < src.length && /[\w.]/.test(src[j]!)) j++;
      push(src.slice(i, j), 'number', line);
      i = j;
      continue;
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    const p = PUNCT3.includes(three) ? three : PUNCT2.includes(two) ? two : c;
    if (p === '{') braces++;
    else if (p === '}') braces--;
    push(p, 'punct', line);
    i += p.length;
  }
  return out;
}

const OPENERS = new Set(['(', '[', '{', '${']);

/** Index of the bracket that closes the one at `open`, or -1. */
export function matching(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k]!.text;
    if (OPENERS.has(t)) depth++;
    else if (t === ')' || t === ']' || t === '}') {
      depth--;
      if (depth === 0) return k;
    }
  }
  return -1;
}

export interface SpreadSite {
  readonly line: number;
  /** The callee as written, e.g. `out.push` or `Math.max`. */
  readonly callee: string;
  /** The spread expression's first token. */
  readonly argument: string;
  readonly how: 'spread' | 'apply';
}

/** The callee text ending just before token `end` (exclusive): `a.b?.c`, `new X`. */
function calleeBefore(tokens: readonly Token[], end: number): string {
  const parts: string[] = [];
  let k = end - 1;
  // A generic call `f<T>(...)`: skip the type arguments.
  if (tokens[k]?.text === '>') {
    let depth = 0;
    for (; k >= 0; k--) {
      const t = tokens[k]!.text;
      if (t === '>') depth++;
      else if (t === '<' && --depth === 0) break;
    }
    k--;
  }
  while (k >= 0) {
    const t = tokens[k]!;
    if (t.kind === 'word') parts.unshift(t.text);
    else if (t.text === ')' || t.text === ']') {
      parts.unshift(t.text === ')' ? '(...)' : '[...]');
      // Back to the matching opener: `f(a)(...)` is a call of what f(a) returned.
      let depth = 0;
      for (; k >= 0; k--) {
        const x = tokens[k]!.text;
        if (x === ')' || x === ']') depth++;
        else if ((x === '(' || x === '[') && --depth === 0) break;
      }
      if (tokens[k - 1]?.kind === 'word' && tokens[k]!.text === '(') {
        k--;
        continue;
      }
    } else break;
    const before = tokens[k - 1];
    if (before && (before.text === '.' || before.text === '?.')) {
      parts.unshift(before.text);
      k -= 2;
      continue;
    }
    if (before?.text === 'new') parts.unshift('new ');
    break;
  }
  return parts.join('');
}

/**
 * Every call whose arguments spread an array (or pass one to `.apply`),
 * except a function forwarding its own rest parameter (`(...args) => f(...args)`:
 * the count is bounded by the call that made `args`).
 */
export function spreadCalls(src: string): SpreadSite[] {
  const tokens = tokenize(src);
  const restParams = new Set<string>();
  const sites: SpreadSite[] = [];
  // Open brackets, innermost last, as token indexes.
  const stack: number[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (OPENERS.has(t.text)) stack.push(k);
    else if (t.text === ')' || t.text === ']' || t.text === '}') stack.pop();
    if (t.text === 'apply' && tokens[k - 1]?.text === '.' && tokens[k + 1]?.text === '(') {
      sites.push({ line: t.line, callee: calleeBefore(tokens, k + 1), argument: tokens[k + 2]?.text ?? '', how: 'apply' });
      continue;
    }
    if (t.text !== '...') continue;
    const open = stack[stack.length - 1];
    if (open === undefined || tokens[open]!.text !== '(') continue; // [...a] and {...o} copy without the stack
    const name = tokens[k + 1];
    const after = tokens[k + 2]?.text;
    const close = matching(tokens, open);
    const next = close >= 0 ? tokens[close + 1]?.text : undefined;
    // A rest parameter: typed (`...args: T`), or the list is followed by an arrow or a body.
    const isRest = name?.kind === 'word' && (after === ':' || ((after === ')' || after === '?') && (next === '=>' || next === '{' || next === ':')));
    if (isRest) {
      restParams.add(name.text);
      continue;
    }
    if (name?.kind === 'word' && restParams.has(name.text) && after === ')') continue;
    sites.push({ line: t.line, callee: calleeBefore(tokens, open), argument: name?.text ?? '', how: 'spread' });
  }
  return sites;
}

export interface SelfCall {
  readonly line: number;
  readonly name: string;
}

/**
 * Functions that call themselves by name: `function f() { ... f(...) }`,
 * `const f = (...) => { ... f(...) }` and class methods calling `this.f(`.
 * Mutual recursion is not found (none exists in src/; the stress tests
 * would show it).
 */
export function selfCalls(src: string): SelfCall[] {
  const tokens = tokenize(src);
  const out: SelfCall[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    let name: string | undefined;
    let method = false;
    let paramsOpen = -1;
    let isArrow = false;
    if (t.text === 'function' && tokens[k + 1]?.kind === 'word') {
      name = tokens[k + 1]!.text;
      paramsOpen = tokens.findIndex((x, i) => i > k && x.text === '(');
    } else if ((t.text === 'const' || t.text === 'let') && tokens[k + 1]?.kind === 'word' && tokens[k + 2]?.text === '=') {
      let j = k + 3;
      if (tokens[j]?.text === 'async') j++;
      if (tokens[j]?.text === 'function') {
        name = tokens[k + 1]!.text;
        paramsOpen = tokens.findIndex((x, i) => i > j && x.text === '(');
      } else if (tokens[j]?.text === '(') {
        const close = matching(tokens, j);
        // `(a, b) => ...` or `(a): T => ...`
        const arrowAt = tokens.findIndex((x, i) => i > close && (x.text === '=>' || x.text === ';' || x.text === '{'));
        if (arrowAt >= 0 && tokens[arrowAt]!.text === '=>') {
          name = tokens[k + 1]!.text;
          paramsOpen = j;
          isArrow = true;
        }
      }
    } else if (t.kind === 'word' && tokens[k + 1]?.text === '(' && isMethodStart(tokens, k)) {
      name = t.text;
      method = true;
      paramsOpen = k + 1;
    }
    if (name === undefined || paramsOpen < 0) continue;
    const paramsClose = matching(tokens, paramsOpen);
    if (paramsClose < 0) continue;
    // The body: the first `{` after the parameters at the same nesting (skipping a return type), or an arrow's expression.
    // A `=>` after a declaration's parameters belongs to a function-typed return type, not to the body.
    let bodyStart = -1;
    let depth = 0;
    for (let j = paramsClose + 1; j < tokens.length; j++) {
      const x = tokens[j]!.text;
      if (x === '=>' && depth === 0 && isArrow) {
        bodyStart = j + 1;
        break;
      }
      if (x === '{' && depth === 0) {
        bodyStart = j;
        break;
      }
      if (x === ';' && depth === 0) break; // an overload or abstract declaration
      if (x === '(' || x === '[' || x === '<') depth++;
      else if (x === ')' || x === ']' || x === '>') depth--;
    }
    if (bodyStart < 0) continue;
    const bodyEnd = tokens[bodyStart]!.text === '{' || tokens[bodyStart]!.text === '(' ? matching(tokens, bodyStart) : expressionEnd(tokens, bodyStart);
    for (let j = bodyStart; j < bodyEnd; j++) {
      const x = tokens[j]!;
      if (x.text !== name || tokens[j + 1]?.text !== '(') continue;
      const prev = tokens[j - 1]?.text;
      const viaThis = (prev === '.' || prev === '?.') && tokens[j - 2]?.text === 'this';
      if (method ? viaThis : prev !== '.' && prev !== '?.') {
        out.push({ line: t.line, name });
        break;
      }
    }
  }
  return out;
}

/** A class member `name(`: at the start of a member (after `{`, `}`, `;` or a modifier), not a call. */
function isMethodStart(tokens: readonly Token[], k: number): boolean {
  const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'await', 'typeof', 'new', 'super', 'constructor']);
  if (KEYWORDS.has(tokens[k]!.text)) return false;
  let j = k - 1;
  while (j >= 0 && ['async', 'static', 'private', 'public', 'protected', 'readonly', 'override', 'get', 'set', '*'].includes(tokens[j]!.text)) j--;
  const prev = tokens[j]?.text;
  if (prev !== '{' && prev !== '}' && prev !== ';') return false;
  // A call statement `foo(...);` also starts after `;` or `}`: a method has a body `{` after its parameters (and maybe a return type).
  const close = matching(tokens, k + 1);
  const next = tokens[close + 1]?.text;
  return next === '{' || next === ':';
}

/** The end of an arrow function's expression body: the first `,` `;` or unmatched closer at depth 0. */
function expressionEnd(tokens: readonly Token[], start: number): number {
  let depth = 0;
  for (let j = start; j < tokens.length; j++) {
    const x = tokens[j]!.text;
    if (OPENERS.has(x)) depth++;
    else if (x === ')' || x === ']' || x === '}') {
      if (depth === 0) return j;
      depth--;
    } else if ((x === ',' || x === ';') && depth === 0) return j;
  }
  return tokens.length;
}
