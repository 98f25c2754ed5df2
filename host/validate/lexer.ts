// Splits TypeScript / JavaScript / AssemblyScript source into tokens in one pass, so that the
// rules see code only: comments, the insides of strings, templates and regular expressions are
// not code, while the code inside a template's `${...}` is. It is a lexer, not a parser: where
// JavaScript needs the grammar (is this `/` a division or a regular expression?) it guesses from
// the token before, as editors do, and a wrong guess can only hide or invent a finding.
// Every loop advances through the text, so the work is linear in its length.

export const NAME = 0;
export const PUNCT = 1;
export const STRING = 2;
/** A template literal with no `${...}` (its value is known). */
export const TEMPLATE = 3;
/** A template literal with substitutions; the code inside them follows as tokens. */
export const TEMPLATE_HEAD = 4;
export const NUMBER = 5;
export const REGEX = 6;
/** `#name`, a class's private member. */
export const PRIVATE = 7;

export interface Tokens {
  readonly text: string;
  count: number;
  kind: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  /** 1 when a name is spelled with \u escapes (decode it before comparing). */
  escaped: Uint8Array;
  /** Punctuation as a number (opCode): compared without reading the text. 0 for other tokens. */
  op: Uint16Array;
  /** Loop iterations spent, for checking that the work stays linear. */
  steps: number;
}

/** Words after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);
/** Keywords whose `( ... )` is followed by a statement, where `/` starts a regular expression. */
const STATEMENT_HEAD = new Set(["if", "while", "for", "with"]);

/** "(" -> 40, "?." -> 63 + 128 * 46: the first two characters (all punctuation is ASCII). */
export const opCode = (p: string): number => p.charCodeAt(0) + (p.length > 1 ? 128 * p.charCodeAt(1) : 0);

const isDigit = (c: number) => c >= 48 && c <= 57;
const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 || c === 92 || (c >= 0x80 && !isSpace(c));
const isNamePart = (c: number) => isNameStart(c) || isDigit(c);
const isLineEnd = (c: number) => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 0x80) return false;
  return c === 0xa0 || c === 0xfeff || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

export function tokenize(text: string): Tokens {
  const n = text.length;
  const cap = Math.max(64, n >> 2);
  const t: Tokens = { text, count: 0, kind: new Uint8Array(cap), start: new Int32Array(cap), end: new Int32Array(cap), escaped: new Uint8Array(cap), op: new Uint16Array(cap), steps: 0 };
  let steps = 0;
  let regexOk = true;
  let depth = 0;
  /** Brace depth at which each open `${` began: its `}` goes back to the template. */
  const substitutions: number[] = [];
  /** For each open `(`: whether a statement follows its `)` (if, while, for, with). */
  const parens: boolean[] = [];

  const push = (kind: number, start: number, end: number, escaped = 0, op = 0) => {
    if (t.count === t.kind.length) grow(t);
    const k = t.count++;
    t.kind[k] = kind;
    t.start[k] = start;
    t.end[k] = end;
    t.escaped[k] = escaped;
    t.op[k] = op;
  };
  // Scans template text from `i` (just past "`" or a substitution's "}"); returns where it
  // stopped and whether a `${` opened there.
  const templateChunk = (i: number): [number, boolean] => {
    while (i < n) {
      steps++;
      const c = text.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 96) return [i + 1, false];
      else if (c === 36 && text.charCodeAt(i + 1) === 123) return [i + 2, true];
      else i++;
    }
    return [n, false];
  };

  let i = text.startsWith("#!") ? text.indexOf("\n") >>> 0 : 0;
  if (i > n) i = n;
  while (i < n) {
    steps++;
    const c = text.charCodeAt(i);
    const d = text.charCodeAt(i + 1);
    if (isSpace(c)) {
      i++;
    } else if (c === 47 && d === 47) {
      i += 2;
      while (i < n && !isLineEnd(text.charCodeAt(i))) (i++, steps++);
    } else if (c === 47 && d === 42) {
      const close = text.indexOf("*/", i + 2);
      const end = close < 0 ? n : close + 2;
      steps += end - i;
      i = end;
    } else if (c === 34 || c === 39) {
      const start = i++;
      while (i < n) {
        steps++;
        const e = text.charCodeAt(i);
        if (e === c) {
          i++;
          break;
        }
        if (e === 92) i += text.charCodeAt(i + 1) === 13 && text.charCodeAt(i + 2) === 10 ? 3 : 2;
        else if (isLineEnd(e)) break; // unterminated: the string ends with its line
        else i++;
      }
      push(STRING, start, Math.min(i, n));
      regexOk = false;
    } else if (c === 96) {
      const start = i;
      const [at, opened] = templateChunk(i + 1);
      i = at;
      if (opened) {
        push(TEMPLATE_HEAD, start, i);
        substitutions.push(depth);
        regexOk = true;
      } else {
        push(TEMPLATE, start, i);
        regexOk = false;
      }
    } else if (c === 125 && substitutions.length > 0 && substitutions[substitutions.length - 1] === depth) {
      // The end of a `${...}`: back to the template's text.
      const [at, opened] = templateChunk(i + 1);
      i = at;
      if (opened) regexOk = true;
      else {
        substitutions.pop();
        regexOk = false;
      }
    } else if (isDigit(c) || (c === 46 && isDigit(d))) {
      const start = i++;
      const hex = c === 48 && (d === 120 || d === 88);
      while (i < n) {
        const e = text.charCodeAt(i);
        const prev = text.charCodeAt(i - 1);
        if (isNamePart(e) || e === 46 || ((e === 43 || e === 45) && (prev === 101 || prev === 69) && !hex)) (i++, steps++);
        else break;
      }
      push(NUMBER, start, i);
      regexOk = false;
    } else if (isNameStart(c) || (c === 35 && isNameStart(d))) {
      const start = i;
      if (c === 35) i++;
      let escaped = 0;
      while (i < n) {
        const e = text.charCodeAt(i);
        if (e === 92) {
          escaped = 1;
          // \uXXXX or \u{X...}: skip the whole escape.
          if (text.charCodeAt(i + 2) === 123) {
            // At most six hex digits: look no further than that for the "}".
            let close = i + 3;
            while (close < n && close < i + 10 && text.charCodeAt(close) !== 125) (close++, steps++);
            i = text.charCodeAt(close) === 125 ? close + 1 : i + 2;
          } else (i += 6, steps += 6);
        } else if (isNamePart(e)) (i++, steps++);
        else break;
      }
      if (i > n) i = n;
      if (c === 35) {
        push(PRIVATE, start, i);
        regexOk = false;
      } else {
        push(NAME, start, i, escaped);
        const word = escaped ? "" : text.slice(start, i);
        regexOk = REGEX_AFTER_WORD.has(word);
      }
    } else if (c === 47 && regexOk) {
      const start = i++;
      let inClass = false;
      while (i < n) {
        steps++;
        const e = text.charCodeAt(i);
        if (e === 92) i += 2;
        else if (isLineEnd(e)) break;
        else {
          i++;
          if (e === 91) inClass = true;
          else if (e === 93) inClass = false;
          else if (e === 47 && !inClass) break;
        }
      }
      while (i < n && isNamePart(text.charCodeAt(i))) (i++, steps++); // flags
      push(REGEX, start, Math.min(i, n));
      regexOk = false;
    } else {
      // Punctuation: the pairs the rules care about are one token, everything else one character.
      const start = i;
      let len = 1;
      if ((c === 63 && (d === 63 || (d === 46 && !isDigit(text.charCodeAt(i + 2))))) || (c === 38 && d === 38) || (c === 124 && d === 124) || (c === 61 && d === 62) || (c === 43 && d === 43) || (c === 45 && d === 45)) len = 2;
      else if (c === 46 && d === 46 && text.charCodeAt(i + 2) === 46) len = 3;
      i += len;
      push(PUNCT, start, i, 0, c + (len > 1 ? 128 * d : 0));
      if (c === 40) {
        const before = t.count - 2;
        parens.push(before >= 0 && t.kind[before] === NAME && STATEMENT_HEAD.has(text.slice(t.start[before]!, t.end[before]!)));
        regexOk = true;
      } else if (c === 41) regexOk = parens.pop() ?? false;
      else if (c === 123) {
        depth++;
        regexOk = true;
      } else if (c === 125) {
        depth--;
        regexOk = true; // most often the end of a block, after which a statement starts
      } else regexOk = !(c === 93 || (len === 2 && (c === 43 || c === 45)));
    }
  }
  t.steps += steps;
  return t;
}

function grow(t: Tokens): void {
  const cap = t.kind.length * 2;
  const kind = new Uint8Array(cap);
  const start = new Int32Array(cap);
  const end = new Int32Array(cap);
  const escaped = new Uint8Array(cap);
  const op = new Uint16Array(cap);
  kind.set(t.kind);
  op.set(t.op);
  start.set(t.start);
  end.set(t.end);
  escaped.set(t.escaped);
  t.kind = kind;
  t.start = start;
  t.end = end;
  t.escaped = escaped;
  t.op = op;
  t.steps += t.count;
}

/** A name with its \u escapes decoded: `ev\u0061l` is `eval`. */
export function decodeName(raw: string): string {
  return raw.replace(/\\u\{([0-9a-fA-F]{1,6})\}|\\u([0-9a-fA-F]{4})/g, (_, a: string | undefined, b: string | undefined) => safeCodePoint(parseInt(a ?? b!, 16)));
}

/** The value of a string literal or a template with no substitutions (its quotes included). */
export function literalValue(raw: string): string {
  const body = raw.slice(1, raw.length > 1 && raw[raw.length - 1] === raw[0] ? -1 : undefined);
  if (!body.includes("\\")) return body;
  return body.replace(/\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|(\r\n|[\r\n\u2028\u2029])|([\s\S]))/g, (_, x?: string, u1?: string, u2?: string, newline?: string, ch?: string) => {
    if (x || u1 || u2) return safeCodePoint(parseInt((x ?? u1 ?? u2)!, 16));
    if (newline) return "";
    return ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<string, string>)[ch!] ?? ch!;
  });
}

const safeCodePoint = (cp: number) => (cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd");
