// Source validation, before any compile (the seed's "dangerous pattern detection"). It reads the
// source as tokens (lexer.ts: comments and the insides of strings are not code) and reports
// findings with positions. The work is linear in the source's size: one pass to tokenize, a few
// passes over the tokens, and binary searches for positions, blocks and calls.
//
// It is a first check, not the boundary: whatever passes still runs only inside metered
// WebAssembly with no imports but the solo:agent world. Text rules catch every reference to the
// names eval, Function and WebAssembly, bare, as a member (`globalThis.eval`, `(0, eval)`,
// `const e = eval`) or computed with a literal (`globalThis["eval"]`), and `.constructor(...)`
// calls. They cannot catch a name computed at run time (`globalThis["ev" + "al"]`,
// `Reflect.get(globalThis, name)`) or a value that leads to a constructor without naming it
// (`Object.getPrototypeOf(async () => {}).constructor` passed around, then called).
import { SoloError } from "../errors.ts";
import type { Language } from "../compile/index.ts";
import { LineIndex } from "./lines.ts";
import { checkContract } from "./contract.ts";
import { typeCheck } from "./typecheck.ts";
import { NAME, NUMBER, PRIVATE, REGEX, STRING, TEMPLATE, TEMPLATE_HEAD, decodeName, literalValue, opCode, tokenize, type Tokens } from "./lexer.ts";

export interface Finding {
  rule: string;
  severity: "error" | "warning";
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
  /**
   * Type-check findings: the checker's code (TS2322); "contract" for an export's type; "too-large"
   * or "gave-up" for a source the checker could not check.
   */
  code?: string;
  /** Type-check findings: the guest's file name. */
  file?: string;
}

export interface ValidationReport {
  ok: boolean;
  findings: Finding[];
}

export interface ValidateOptions {
  source: string | Uint8Array;
  language: Language;
  maxSourceBytes?: number;
  /**
   * When given, the work done is added to `steps`: characters read, tokens visited and search
   * steps, each counted in the loop that does it. Tests use it to check the work is linear.
   */
  work?: { steps: number };
}

const MESSAGES = {
  "no-eval": "eval runs text as code; build the logic into the service instead (any reference to eval is refused, also as a property or a value passed around: rename your own)",
  "no-function-constructor": "the Function constructor runs text as code; write the function out (any value reference to Function is refused; as a TypeScript type, write a function type such as () => void)",
  "constructor-call": "calling .constructor(...) can reach the Function constructor, which runs text as code; construct with `new` and the class's name instead",
  "no-dynamic-import": "dynamic import() is not available to guests; import from \"solo\" statically",
  "no-webassembly": "guests cannot compile or run WebAssembly themselves",
  "loop-without-exit": "this loop has no break, return or throw: it will run until its fuel is gone",
} as const;

/** Names whose every reference is an error, with the rule each breaks. */
const FORBIDDEN = new Map<string, "no-eval" | "no-function-constructor" | "no-webassembly">([["eval", "no-eval"], ["Function", "no-function-constructor"], ["WebAssembly", "no-webassembly"]]);
/** Words that do not end an expression: a `[` after them starts an array, not a member access. */
const KEYWORDS = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await", "extends"]);
/** Tokens before a TypeScript type (`x: Function`, `as Function`, `Array<Function>`, `A | Function`). */
const TYPE_BEFORE_WORD = new Set(["as", "extends", "implements", "keyof", "typeof", "satisfies"]);

const [LPAREN, RPAREN, LBRACE, RBRACE, LBRACK, RBRACK, SEMI, DOT, STAR, COLON, LT, GT, PIPE, AMP, COMMA, QUESTION, QDOT, QQ, ANDAND, OROR] =
  ["(", ")", "{", "}", "[", "]", ";", ".", "*", ":", "<", ">", "|", "&", ",", "?", "?.", "??", "&&", "||"].map(opCode) as number[] as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** Checks source text against Solo's rules. Errors block a deploy; warnings are kept in status. */
export function validateSource(options: ValidateOptions): ValidationReport {
  const max = options.maxSourceBytes ?? 1024 * 1024;
  const sizeFinding = (size: number): ValidationReport => ({
    ok: false,
    findings: [{ rule: "source-size", severity: "error", line: 1, column: 1, message: `source is ${size} bytes; limits.maxSourceBytes is ${max}: split it or raise the limit` }],
  });
  let text: string;
  if (typeof options.source === "string") {
    text = options.source;
    // UTF-8 takes at least one byte per UTF-16 unit and at most three: measure only in between.
    if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max)) return sizeFinding(Buffer.byteLength(text));
  } else {
    if (options.source.byteLength > max) return sizeFinding(options.source.byteLength);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(options.source);
    } catch {
      return { ok: false, findings: [{ rule: "utf8", severity: "error", line: 1, column: 1, message: "source is not valid UTF-8 text" }] };
    }
  }
  if (options.language === "component" || options.language === "javy") return { ok: true, findings: [] };

  const tokens = tokenize(text);
  const raw: { rule: string; severity: "error" | "warning"; at: number; message: string }[] = [];
  const add = (rule: string, severity: "error" | "warning", at: number, message: string) => raw.push({ rule, severity, at, message });
  const steps = check(tokens, options.language, add) + checkContract(tokens, options.language, add);
  raw.sort((a, b) => a.at - b.at);
  const lines = raw.length > 0 ? new LineIndex(text) : undefined;
  const findings = raw.map((f) => ({ rule: f.rule, severity: f.severity, ...lines!.position(f.at), message: f.message }));
  if (options.work) options.work.steps += tokens.steps + steps + (lines?.steps ?? 0);
  return { ok: !findings.some((f) => f.severity === "error"), findings };
}

type Add = (rule: string, severity: "error" | "warning", at: number, message: string) => void;

/** Runs every rule over the tokens; returns the steps it took. */
function check(t: Tokens, language: Language, add: Add): number {
  const { text, count, kind, start, end, op } = t;
  let steps = 0;
  // Outside the tokens op reads undefined (or 0, past count): never a punctuation's code.
  const is = (k: number, code: number) => op[k] === code;
  const names: (string | undefined)[] = new Array(count);
  const nameAt = (k: number) => (k >= 0 && k < count ? names[k] : undefined);

  // Pass 1: names, matching brackets (a stack), prefix counts of exits and of conditions, and
  // the calls of each declared function.
  const match = new Int32Array(count).fill(-1);
  const stack: number[] = [];
  const exits = new Int32Array(count + 1);
  const conditions = new Int32Array(count + 1);
  const declared = new Set<string>();
  const calls = new Map<string, number[]>();
  for (let k = 0; k < count; k++) {
    steps++;
    let exit = 0;
    let condition = 0;
    if (kind[k] === NAME) {
      const rawName = text.slice(start[k]!, end[k]!);
      const name = t.escaped[k] ? decodeName(rawName) : rawName;
      names[k] = name;
      if (name === "break" || name === "return" || name === "throw") exit = 1;
      else if (name === "if" || name === "switch" || name === "while" || name === "for") condition = 1;
      const prev = names[k - 1];
      if (prev === "function" || (prev === undefined && is(k - 1, STAR) && names[k - 2] === "function")) declared.add(name);
      if (declared.has(name) && is(k + 1, LPAREN) && !is(k - 1, DOT) && !is(k - 1, QDOT)) {
        let list = calls.get(name);
        if (!list) calls.set(name, (list = []));
        list.push(k);
      }
    } else {
      const c = op[k]!;
      if (c === QUESTION || c === QDOT || c === QQ || c === ANDAND || c === OROR) condition = 1;
      else if (c === LBRACE || c === LPAREN || c === LBRACK) stack.push(k);
      else if (c === RBRACE || c === RPAREN || c === RBRACK) {
        // A closer that does not match the innermost opener is left unmatched (broken source).
        const open = stack.length > 0 ? stack[stack.length - 1]! : -1;
        if (open >= 0 && op[open] === (c === RBRACE ? LBRACE : c === RPAREN ? LPAREN : LBRACK)) {
          stack.pop();
          match[open] = k;
          match[k] = open;
        }
      }
    }
    exits[k + 1] = exits[k]! + exit;
    conditions[k + 1] = conditions[k]! + condition;
  }

  // Pass 2, backwards: the next `{` or `;` at or after each token (where a body starts or a
  // statement ends).
  const nextBraceOrSemi = new Int32Array(count + 1).fill(count);
  for (let k = count - 1; k >= 0; k--) {
    steps++;
    nextBraceOrSemi[k] = is(k, LBRACE) || is(k, SEMI) ? k : nextBraceOrSemi[k + 1]!;
  }

  /** Whether the token before `k` ends an expression, so that `[` at k is a member access. */
  const endsExpression = (k: number): boolean => {
    if (k < 0) return false;
    const kd = kind[k];
    if (kd === NAME) return !KEYWORDS.has(names[k]!);
    if (kd === NUMBER || kd === STRING || kd === TEMPLATE || kd === REGEX || kd === PRIVATE) return true;
    return is(k, RPAREN) || is(k, RBRACK) || is(k, RBRACE);
  };
  /** Whether a call starts at k: `(`, `?.(` or a tagged template. */
  const callAt = (k: number): boolean => is(k, LPAREN) || (is(k, QDOT) && is(k + 1, LPAREN)) || kind[k] === TEMPLATE || kind[k] === TEMPLATE_HEAD;
  /** `Function` used as a TypeScript type rather than a value. */
  const typePosition = (k: number): boolean => {
    if (language !== "typescript" && language !== "assemblyscript") return false;
    if (is(k + 1, LBRACK) && is(k + 2, RBRACK)) return true; // Function[]: an array type
    const before = is(k - 1, COLON) || is(k - 1, LT) || is(k - 1, PIPE) || is(k - 1, AMP) || TYPE_BEFORE_WORD.has(nameAt(k - 1) ?? "") || (is(k - 1, COMMA) && is(k + 1, GT));
    const usedAsValue = callAt(k + 1) || is(k + 1, DOT) || is(k + 1, QDOT) || (is(k + 1, LBRACK) && !is(k + 2, RBRACK));
    return before && !usedAsValue;
  };
  const forbidden = (name: string, k: number, at: number) => {
    const rule = FORBIDDEN.get(name);
    if (rule) add(rule, "error", at, MESSAGES[rule]);
    else if (name === "constructor" && callAt(k)) add("no-function-constructor", "error", at, MESSAGES["constructor-call"]);
  };
  /** Count of exits strictly between tokens lo and hi. */
  const exitsBetween = (lo: number, hi: number) => exits[hi]! - exits[Math.min(lo + 1, hi)]!;

  // Pass 3: the rules.
  for (let k = 0; k < count; k++) {
    steps++;
    const kd = kind[k];
    if (kd === NAME) {
      const name = names[k]!;
      const member = is(k - 1, DOT) || is(k - 1, QDOT);
      if (FORBIDDEN.has(name)) {
        if (name === "Function" && typePosition(k)) continue;
        forbidden(name, k + 1, name === "Function" && nameAt(k - 1) === "new" ? start[k - 1]! : start[k]!);
      } else if (name === "constructor" && member) forbidden(name, k + 1, start[k]!);
      else if (name === "import" && !member && is(k + 1, LPAREN)) add("no-dynamic-import", "error", start[k]!, MESSAGES["no-dynamic-import"]);
      else if ((name === "while" || name === "for") && is(k + 1, LPAREN) && match[k + 1]! > k + 1) {
        const close = match[k + 1]!;
        const endless = name === "while"
          ? close === k + 3 && (nameAt(k + 2) === "true" || (kind[k + 2] === NUMBER && text.slice(start[k + 2]!, end[k + 2]!) === "1"))
          : close === k + 4 && is(k + 2, SEMI) && is(k + 3, SEMI);
        if (!endless) continue;
        let lo: number;
        let hi: number;
        const doBlock = is(k - 1, RBRACE) ? match[k - 1]! : -1;
        if (name === "while" && doBlock > 0 && nameAt(doBlock - 1) === "do") [lo, hi] = [doBlock, k - 1];
        else {
          const q = nextBraceOrSemi[close + 1]!;
          if (q < count && is(q, LBRACE)) [lo, hi] = [q, match[q]! < 0 ? count : match[q]!];
          else [lo, hi] = [close, q];
        }
        if (exitsBetween(lo, hi) === 0) add("loop-without-exit", "warning", start[k]!, MESSAGES["loop-without-exit"]);
      } else if (name === "function") {
        const star = is(k + 1, STAR) ? 1 : 0;
        const fname = nameAt(k + 1 + star);
        const paren = k + 2 + star;
        if (fname === undefined || !is(paren, LPAREN) || match[paren]! < 0) continue;
        const q = nextBraceOrSemi[match[paren]! + 1]!;
        if (q >= count || !is(q, LBRACE)) continue; // a declaration without a body
        const bodyEnd = match[q]! < 0 ? count : match[q]!;
        const call = firstAfter(calls.get(fname), q, () => steps++);
        if (call !== undefined && call < bodyEnd && conditions[call]! - conditions[q]! === 0) {
          add("recursion-without-base-case", "warning", start[k]!, `${fname} calls itself before any condition: it recurses until the stack or its fuel runs out`);
        }
      }
    } else if (kd === STRING || kd === TEMPLATE) {
      const before = nameAt(k - 1);
      if ((before === "from" || (before === "import" && !is(k - 2, DOT))) && kd === STRING) {
        const spec = literalValue(text.slice(start[k]!, end[k]!));
        if (spec !== "solo") add("imports-only-solo", "error", start[k]!, `"${spec}" cannot be imported: a guest may import only "solo"`);
      } else if (is(k - 1, LBRACK) && is(k + 1, RBRACK) && (endsExpression(k - 2) || is(k - 2, QDOT))) {
        // A member computed with a literal: obj["eval"], obj[`Function`], x["constructor"](...).
        forbidden(literalValue(text.slice(start[k]!, end[k]!)), k + 2, start[k]!);
      }
    }
  }
  return steps;
}

/** The first entry of a sorted list greater than `after`, by binary search. */
function firstAfter(list: number[] | undefined, after: number, step: () => void): number | undefined {
  if (!list) return undefined;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    step();
    const mid = (lo + hi) >> 1;
    if (list[mid]! > after) hi = mid;
    else lo = mid + 1;
  }
  return list[lo];
}

/** Throws VALIDATION_FAILED with the findings when there is an error; returns the warnings. */
export function requireValid(options: ValidateOptions): Finding[] {
  const report = validateSource(options);
  const errors = report.findings.filter((f) => f.severity === "error");
  if (errors.length > 0) {
    const f = errors[0]!;
    throw new SoloError("VALIDATION_FAILED", `source breaks rule ${f.rule} at ${f.line}:${f.column}: ${f.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`, { findings: report.findings });
  }
  return report.findings;
}

/**
 * What type-check findings are: "warning" (the default) keeps them as warnings; "error" makes a
 * deploy with any of them VALIDATION_FAILED. "off" skips the check (validate only).
 */
export type TypeCheckMode = "warning" | "error";

/** A typeCheck setting from an agent or the environment; INVALID_ARGUMENT naming `field` otherwise. */
export function checkTypeCheckMode(value: unknown, field = "typeCheck"): TypeCheckMode | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "warning" || value === "error") return value;
  throw new SoloError("INVALID_ARGUMENT", `${field} must be "warning" or "error", not ${JSON.stringify(value)}`, { field });
}

/** Findings from the type check (they carry the checker's code). */
export const isTypeFinding = (f: Finding): boolean => f.code !== undefined;

/**
 * Under typeCheck "error", throws VALIDATION_FAILED when there are type-check findings (as
 * errors, with every finding in details); returns the findings otherwise. A cached build keeps
 * its type findings as warnings, so the same build answers either setting.
 */
export function requireTyped(findings: Finding[], mode: TypeCheckMode | undefined): Finding[] {
  if (mode !== "error") return findings;
  const typed = findings.filter(isTypeFinding);
  if (typed.length === 0) return findings;
  const all = findings.map((f) => (isTypeFinding(f) ? { ...f, severity: "error" as const } : f));
  const f = typed[0]!;
  throw new SoloError("VALIDATION_FAILED", `source has type errors and typeCheck is "error": ${f.file ?? "guest"}:${f.line}:${f.column}: ${f.code} ${f.message}${typed.length > 1 ? ` (and ${typed.length - 1} more)` : ""}; fix them, or deploy with typeCheck "warning"`, { findings: all });
}

/**
 * The source rules and, for TypeScript, the type check (typecheck.ts: loads the checker on first
 * use, ~1 s, then ~20-60 ms a small guest). What Host.validate (in the builder process) and
 * `solo validate` answer. typeCheck "off" skips the type check.
 */
export function validateGuest(options: ValidateOptions & { file?: string; typeCheck?: TypeCheckMode | "off" }): ValidationReport {
  const report = validateSource(options);
  if (options.language !== "typescript" || options.typeCheck === "off") return report;
  if (report.findings.some((f) => f.rule === "source-size" || f.rule === "utf8")) return report;
  const text = typeof options.source === "string" ? options.source : new TextDecoder().decode(options.source);
  const severity = options.typeCheck ?? "warning";
  const typed = typeCheck({ source: text, file: options.file, severity });
  const findings = mergeTypeFindings(report.findings, typed);
  return { ok: !findings.some((f) => f.severity === "error"), findings };
}

/**
 * The source rules' findings and the type check's, in source order. The checker's view of an
 * export's type is left out where the text rules already said what is wrong with that export.
 */
export function mergeTypeFindings(rules: Finding[], typed: Finding[]): Finding[] {
  const flagged = new Set(rules.filter((f) => f.rule === "export-signature" || f.rule === "missing-handle").map((f) => f.line));
  const kept = typed.filter((f) => f.code !== "contract" || !flagged.has(f.line));
  return [...rules, ...kept].sort((a, b) => a.line - b.line || a.column - b.column);
}
