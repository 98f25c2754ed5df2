// The guest contract, checked on the source's tokens before anything is compiled: a guest
// exports `handle(request: string): string`, synchronous; optionally `health` and `migrate`
// (docs/API.md, wit/solo.wit); and imports from "solo" only names the SDK exports. Without these
// checks a missing `handle` was reported against the generated entry file, and an async handle or
// one returning a number deployed and failed on every call.
//
// It reads top-level statements only (brace depth 0) and, for the three exports, their own
// signature and the `return`s of their own body (not those of functions nested in it). Like the
// other rules it is text, not types: a TypeScript guest's types are checked by typecheck.ts.
// Linear in the tokens: one pass for brackets, one over the top level, one over each export's body.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Language } from "../compile/languages.ts";
import { NAME, NUMBER, STRING, TEMPLATE, TEMPLATE_HEAD, decodeName, literalValue, opCode, type Tokens } from "./lexer.ts";

export type AddFinding = (rule: string, severity: "error" | "warning", at: number, message: string) => void;

const [LPAREN, RPAREN, LBRACE, RBRACE, LBRACK, RBRACK, SEMI, COMMA, STAR, COLON, ARROW, EQ, LT, GT, PIPE, QUESTION] =
  ["(", ")", "{", "}", "[", "]", ";", ",", "*", ":", "=>", "=", "<", ">", "|", "?"].map(opCode) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** What each export must look like, as the message says it. */
export const SIGNATURES: Record<"assemblyscript" | "script", Record<"handle" | "health" | "migrate", string>> = {
  script: {
    handle: "export function handle(request: string): string",
    health: "export function health(): void",
    migrate: "export function migrate(fromVersion: number): void",
  },
  assemblyscript: {
    handle: "export function handle(request: string): string",
    health: "export function health(): string | null",
    migrate: "export function migrate(fromVersion: u32): string | null",
  },
};

const CONTRACT = ["handle", "health", "migrate"] as const;
type ContractName = (typeof CONTRACT)[number];

/** How far a declaration's head is read (tokens): bounds the work per top-level statement. */
const SCAN = 64;
/** Words that start a statement: a declaration's head ends before them. */
const STATEMENT_WORDS = new Set(["let", "const", "var", "function", "export", "import", "class", "return"]);
/** Words before `(` that start a statement, not a function: `if (x) {` is no function body. */
const NOT_FUNCTIONS = new Set(["if", "for", "while", "switch", "catch", "with", "return", "typeof", "await", "yield", "new", "in", "of", "void", "delete", "throw", "case", "do", "else"]);
/** TypeScript return types that are never a string (handle) or are a value health/migrate would drop. */
const PRIMITIVES = new Set(["number", "boolean", "void", "undefined", "null", "bigint", "never", "object", "symbol", "unknown"]);

/** The names the "solo" module exports, read once from the SDK's source (top-level exports only). */
const sdkNames = new Map<string, readonly string[]>();
export function soloExports(language: "assemblyscript" | "script"): readonly string[] {
  let names = sdkNames.get(language);
  if (!names) {
    const file = language === "assemblyscript" ? "../../guest-sdk/assemblyscript/index.ts" : "../../guest-sdk/js/index.d.ts";
    let text = "";
    try {
      text = readFileSync(fileURLToPath(new URL(file, import.meta.url)), "utf8");
    } catch {
      // No SDK next to the host: nothing to compare with, so no finding.
    }
    const found = new Set<string>();
    for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:const|let|var|function|class|enum|namespace|type|interface)\s+([A-Za-z_$][\w$]*)/gm)) found.add(m[1]!);
    for (const m of text.matchAll(/^export\s*\{([^}]*)\}/gm)) for (const part of m[1]!.split(",")) {
      const name = part.trim().split(/\s+as\s+/).pop()?.trim();
      if (name) found.add(name);
    }
    names = [...found].sort();
    sdkNames.set(language, names);
  }
  return names;
}

/** Edit distance, bounded: names are short and only near misses matter. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest of `names` to `name` (same letters in another case, or at most two edits), if any. */
export function closest(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    if (n === name) continue;
    const d = n.toLowerCase() === name.toLowerCase() ? 0 : distance(n.toLowerCase(), name.toLowerCase());
    if (d < bestD && d <= Math.min(2, Math.floor(Math.max(n.length, name.length) / 3))) [best, bestD] = [n, d];
  }
  return best;
}

/** A top-level declaration that can be exported. */
interface Declaration {
  /** The name token. */
  at: number;
  /** For a function: its `(`; for a variable: the first token of its initializer. */
  head: number;
  kind: "function" | "variable" | "other";
  async: boolean;
  generator: boolean;
}

/** Checks the contract; reports through `add` (offsets into the text). Returns the steps taken. */
export function checkContract(t: Tokens, language: Language, add: AddFinding): number {
  if (language !== "typescript" && language !== "javascript" && language !== "assemblyscript") return 0;
  const { text, count, kind, start, end, op } = t;
  let steps = 0;
  const is = (k: number, code: number) => k >= 0 && k < count && op[k] === code;
  const nameAt = (k: number): string | undefined => (k >= 0 && k < count && kind[k] === NAME ? (t.escaped[k] ? decodeName(text.slice(start[k]!, end[k]!)) : text.slice(start[k]!, end[k]!)) : undefined);
  const sdk = language === "assemblyscript" ? "assemblyscript" : "script";

  // Matching brackets; a source whose brackets do not balance is left to the compiler, which
  // says where better than a guess about what is exported.
  const match = new Int32Array(count).fill(-1);
  const stack: number[] = [];
  let balanced = true;
  for (let k = 0; k < count; k++) {
    steps++;
    const c = op[k]!;
    if (c === LBRACE || c === LPAREN || c === LBRACK) stack.push(k);
    else if (c === RBRACE || c === RPAREN || c === RBRACK) {
      const open = stack.pop();
      if (open === undefined || op[open] !== (c === RBRACE ? LBRACE : c === RPAREN ? LPAREN : LBRACK)) {
        balanced = false;
        break;
      }
      match[open] = k;
      match[k] = open;
    }
  }
  if (stack.length > 0) balanced = false;

  // The top level: declarations, exports (name -> the local it exports) and imports from "solo".
  const declared = new Map<string, Declaration>();
  const exported = new Map<string, { at: number; local?: string; decl?: Declaration }>();
  const soloNames = new Set(soloExports(sdk));
  const declaration = (k: number): { decl: Declaration; name: string } | undefined => {
    let j = k;
    if (nameAt(j) === "declare") j++;
    const async = nameAt(j) === "async" && nameAt(j + 1) === "function";
    if (async) j++;
    const word = nameAt(j);
    if (word === "function") {
      const generator = is(j + 1, STAR);
      const n = j + 1 + (generator ? 1 : 0);
      const name = nameAt(n);
      if (name === undefined) return undefined;
      let paren = n + 1;
      if (is(paren, LT)) paren = skipAngles(paren);
      return { name, decl: { at: n, head: is(paren, LPAREN) ? paren : -1, kind: "function", async, generator } };
    }
    if (word === "const" || word === "let" || word === "var") {
      const name = nameAt(j + 1);
      if (name === undefined) return undefined;
      // Past a type annotation to `=`, at the same depth.
      // At most SCAN tokens: a longer annotation is left to the type checker (and text such as
      // `let let let ...` does not make this quadratic).
      let e = j + 2;
      while (e < count && e < j + 2 + SCAN && !STATEMENT_WORDS.has(nameAt(e) ?? "") && !is(e, EQ) && !is(e, SEMI) && !is(e, COMMA) && !(kind[e] === NAME && e > j + 2 && !is(e - 1, COLON) && startsLine(e))) {
        steps++;
        e = match[e]! > e ? match[e]! + 1 : e + 1;
      }
      return { name, decl: { at: j + 1, head: is(e, EQ) ? e + 1 : -1, kind: "variable", async: false, generator: false } };
    }
    if (word === "class" || word === "enum" || word === "interface" || word === "type" || word === "namespace" || word === "abstract") {
      const n = word === "abstract" ? j + 2 : j + 1;
      const name = nameAt(n);
      return name === undefined ? undefined : { name, decl: { at: n, head: -1, kind: "other", async: false, generator: false } };
    }
    return undefined;
  };
  const startsLine = (k: number): boolean => {
    for (let i = start[k]! - 1; i >= 0; i--) {
      const c = text.charCodeAt(i);
      if (c === 10) return true;
      if (c !== 32 && c !== 9 && c !== 13) return false;
    }
    return true;
  };
  /** From a `<`, past its matching `>` (type parameters). */
  const skipAngles = (k: number): number => {
    let depth = 0;
    for (let i = k; i < count && i < k + SCAN; i++) {
      steps++;
      if (is(i, LT)) depth++;
      else if (is(i, GT)) {
        depth--;
        if (depth === 0) return i + 1;
      } else if (is(i, LBRACE) || is(i, SEMI)) return i;
    }
    return count;
  };

  for (let k = 0; k < count; k++) {
    steps++;
    const c = op[k]!;
    if (c === LBRACE || c === LPAREN || c === LBRACK) {
      if (match[k]! > k) k = match[k]!; // nested: not the top level
      continue;
    }
    const word = nameAt(k);
    if (word === undefined) continue;
    if (word === "import" && !is(k + 1, LPAREN) && !(k > 0 && op[k - 1] === opCode("."))) {
      k = checkImport(k);
      continue;
    }
    if (word === "export") {
      if (nameAt(k + 1) === "default") continue;
      if (is(k + 1, LBRACE) && match[k + 1]! > k) {
        const close = match[k + 1]!;
        const from = nameAt(close + 1) === "from" && kind[close + 2] === STRING ? literalValue(text.slice(start[close + 2]!, end[close + 2]!)) : undefined;
        for (let i = k + 2; i < close; i++) {
          steps++;
          const local = nameAt(i);
          if (local === undefined || local === "type") continue;
          const alias = nameAt(i + 1) === "as" ? nameAt(i + 2) : undefined;
          const at = alias !== undefined ? i + 2 : i;
          if (from === undefined) exported.set(alias ?? local, { at, local });
          else if (from === "solo") {
            if (!soloNames.has(local) && soloNames.size > 0) unknownImport(local, i);
            exported.set(alias ?? local, { at }); // re-exported from the SDK: not a function of the guest's
          }
          if (alias !== undefined) i += 2;
        }
        k = close;
        continue;
      }
      if (is(k + 1, STAR)) continue; // export * from "...": imports-only-solo says what is wrong
      const d = declaration(k + 1);
      if (d) {
        declared.set(d.name, d.decl);
        exported.set(d.name, { at: d.decl.at, decl: d.decl });
      }
      continue;
    }
    const d = declaration(k);
    if (d && !declared.has(d.name)) declared.set(d.name, d.decl);
  }

  function unknownImport(name: string, k: number) {
    const near = closest(name, soloNames);
    add("unknown-import", "error", start[k]!, `"solo" has no export named ${name}${near ? `; did you mean ${near}?` : ""} (it exports ${[...soloNames].join(", ")})`);
  }

  /** `import ... from "solo"` at k: each imported name must be one the SDK exports. Returns the last token read. */
  function checkImport(k: number): number {
    // The statement's end: the module string after `from` (or right after `import`).
    let e = k + 1;
    while (e < count && kind[e] !== STRING && !is(e, SEMI)) {
      steps++;
      e = is(e, LBRACE) && match[e]! > e ? match[e]! + 1 : e + 1;
    }
    if (e >= count || kind[e] !== STRING || literalValue(text.slice(start[e]!, end[e]!)) !== "solo" || soloNames.size === 0) return e;
    let i = k + 1;
    if (nameAt(i) === "type" && !is(i + 1, COMMA) && nameAt(i + 1) !== "from") i++;
    const first = nameAt(i);
    if (first !== undefined && first !== "from" && !is(i, STAR)) {
      // A default import: the SDK has none.
      if (!soloNames.has("default")) add("unknown-import", "error", start[i]!, `"solo" has no default export: import what you use by name, as in import { ${[...soloNames].slice(0, 2).join(", ")} } from "solo"`);
      i++;
      if (is(i, COMMA)) i++;
    }
    if (is(i, LBRACE) && match[i]! > i) {
      const close = match[i]!;
      for (let j = i + 1; j < close; j++) {
        steps++;
        let name = nameAt(j);
        if (name === "type" && kind[j + 1] === NAME && nameAt(j + 1) !== "as") name = nameAt(++j);
        if (name === undefined) {
          // `{ "string name" as x }`: the string is the export's name.
          if (kind[j] === STRING && nameAt(j + 1) === "as") {
            const value = literalValue(text.slice(start[j]!, end[j]!));
            if (!soloNames.has(value)) unknownImport(JSON.stringify(value), j);
            j += 2;
          }
          continue;
        }
        if (!soloNames.has(name)) unknownImport(name, j);
        if (nameAt(j + 1) === "as") j += 2;
      }
    }
    return e;
  }

  // Unbalanced brackets: the compiler reports the syntax error; a guess about exports would only
  // add noise to it. Imports were still checked (they come first and need no bodies).
  if (!balanced) return steps;

  const sig = SIGNATURES[sdk];
  /** The declaration an export resolves to (through `export { local as name }`). */
  const resolve = (name: ContractName) => {
    const e = exported.get(name);
    if (!e) return undefined;
    return { at: e.at, decl: e.decl ?? (e.local !== undefined ? declared.get(e.local) : undefined) };
  };

  const handle = resolve("handle");
  const local = declared.get("handle");
  if (!handle && local) {
    add("missing-handle", "error", start[local.at]!, `handle is declared but not exported: write \`export\` before it (\`${sig.handle}\`)`);
  } else if (!handle) {
    const candidates = new Map<string, number>();
    for (const [name, e] of exported) candidates.set(name, e.at);
    for (const [name, d] of declared) if (!candidates.has(name) && d.kind === "function") candidates.set(name, d.at);
    const near = closest("handle", [...candidates.keys()].filter((n) => n !== "health" && n !== "migrate"));
    if (near !== undefined) {
      const how = exported.has(near) ? `it exports ${near}` : `${near} is declared but not exported`;
      add("missing-handle", "error", start[candidates.get(near)!]!, `the guest must export handle; ${how}: did you mean handle? Rename it to \`${sig.handle}\``);
    } else {
      add("missing-handle", "error", 0, `the guest must export handle: add \`${sig.handle} { ... }\``);
    }
  }
  // The optional exports, misspelled: they would be silently not run.
  for (const name of ["health", "migrate"] as const) {
    if (exported.has(name)) continue;
    const near = closest(name, [...exported.keys()].filter((n) => !(CONTRACT as readonly string[]).includes(n)));
    if (near !== undefined) add("misspelled-export", "warning", start[exported.get(near)!.at]!, `it exports ${near}: did you mean ${name}? Solo runs only \`${sig[name]}\` (under another name it never runs)`);
  }

  for (const name of CONTRACT) {
    const r = resolve(name);
    if (!r?.decl) continue;
    steps += checkSignature(name, r.decl);
  }
  return steps;

  /** The export's own signature and returns, as far as the tokens say. */
  function checkSignature(name: ContractName, d: Declaration): number {
    let n = 0;
    const where = start[d.at]!;
    const expected = sig[name];
    if (d.kind === "other") {
      add("export-signature", "error", where, `${name} must be a function: \`${expected}\``);
      return n;
    }
    // The function's parts: async, its `(`, and its body (`{` or an arrow's expression).
    let async = d.async;
    let generator = d.generator;
    let paren = d.head;
    if (d.kind === "variable") {
      let h = d.head;
      if (h < 0) return n;
      if (nameAt(h) === "async") {
        async = true;
        h++;
      }
      if (nameAt(h) === "function") {
        generator = is(h + 1, STAR);
        h += generator ? 2 : 1;
        if (nameAt(h) !== undefined) h++;
        paren = is(h, LPAREN) ? h : -1;
      } else if (is(h, LPAREN) && match[h]! > h) {
        // An arrow: `(…) =>` or `(…): T =>`.
        paren = h;
      } else if (kind[h] === NAME && is(h + 1, ARROW)) {
        paren = -2 - h; // a single parameter without parentheses
      } else return n; // a value from elsewhere (a call, a name): the type checker sees it, not the text
    }
    if (async) add("export-signature", "error", where, `${name} must not be async: Solo calls it synchronously, so an async ${name} ${name === "handle" ? "returns a Promise, not a string" : "would not be waited for"}. Write \`${expected}\``);
    if (generator) add("export-signature", "error", where, `${name} must not be a generator: write \`${expected}\``);
    if (paren === -1 || (paren >= 0 && match[paren]! < paren)) return n;
    const close = paren >= 0 ? match[paren]! : -2 - paren;
    const params = paren >= 0 ? parameters(paren, close) : [{ at: close, name: nameAt(close)!, type: undefined as string | undefined, optional: false }];
    // The return type: `): T {` or `): T =>`.
    let body = close + 1;
    let returnType: string | undefined;
    let returnAt = -1;
    if (paren >= 0 && is(close + 1, COLON)) {
      returnAt = close + 2;
      let e = returnAt;
      while (e < count && !is(e, ARROW) && !(is(e, LBRACE) && (d.kind === "function" || is(e - 1, ARROW)) && !typeContinues(e)) && !is(e, SEMI)) {
        n++;
        e = (is(e, LPAREN) || is(e, LBRACK) || (is(e, LBRACE) && typeContinues(e))) && match[e]! > e ? match[e]! + 1 : e + 1;
      }
      returnType = typeText(returnAt, e);
      body = e;
    }
    if (d.kind === "variable") {
      if (!is(body, ARROW)) return n;
      body++;
    }

    if (language === "assemblyscript") {
      const want = name === "handle" ? { params: ["string"], ret: ["string"] } : name === "health" ? { params: [], ret: ["string|null"] } : { params: ["u32"], ret: ["string|null"] };
      const got = params.map((p) => normalizeType(p.type ?? ""));
      const ret = normalizeType(returnType ?? "");
      const paramsOk = got.length === want.params.length && got.every((g, i) => g === want.params[i] || (want.params[i] === "string" && g === "String"));
      const retOk = want.ret.includes(ret) || (want.ret[0] === "string" && ret === "String") || (want.ret[0] === "string|null" && ret === "String|null");
      if (!paramsOk || !retOk) add("export-signature", "error", where, `${name} must be declared as \`${expected}\`; it is declared as (${params.map((p) => `${p.name}${p.type ? `: ${p.type}` : ""}`).join(", ")})${returnType ? `: ${returnType}` : " with no return type"}`);
      return n;
    }

    // TypeScript and JavaScript: what is written, where it is written.
    if (name === "handle") {
      if (params.length === 0 || params.length > 1) {
        const required = params.filter((p) => !p.optional).length;
        if (required > 1) add("export-signature", "error", start[params[1]!.at]!, `handle takes one argument, the request: \`${expected}\`; ${params.slice(1).map((p) => p.name).join(", ")} would always be undefined`);
      }
      const p = params[0];
      if (p?.type !== undefined && PRIMITIVES.has(p.type) && p.type !== "unknown") add("export-signature", "error", start[p.at]!, `handle's request is a string, not ${p.type}: \`${expected}\``);
      if (returnType !== undefined) {
        if (/^Promise\b/.test(returnType)) add("export-signature", async ? "warning" : "error", start[returnAt]!, `handle must return a string, not ${returnType}: \`${expected}\``);
        else if (PRIMITIVES.has(returnType)) add("export-signature", "error", start[returnAt]!, `handle must return a string, not ${returnType}: \`${expected}\``);
      } else if (!async) {
        n += checkReturns(body, language === "javascript");
      }
    } else {
      if (returnType !== undefined && /^Promise\b/.test(returnType) && !async) add("export-signature", "error", start[returnAt]!, `${name} must not return a Promise (it would not be waited for): \`${expected}\``);
      else if (returnType !== undefined && returnType !== "void" && returnType !== "undefined" && returnType !== "never" && !/^Promise\b/.test(returnType)) {
        add("export-signature", "warning", start[returnAt]!, `${name} returns ${returnType}, which Solo ignores: throw an Error to fail. Write \`${expected}\``);
      }
      if (name === "migrate") {
        const p = params[0];
        if (p?.type !== undefined && (PRIMITIVES.has(p.type) || p.type === "string") && p.type !== "unknown" && p.type !== "number") add("export-signature", "error", start[p.at]!, `migrate's fromVersion is a number, not ${p.type}: \`${expected}\``);
      } else if (params.some((p) => !p.optional)) {
        add("export-signature", "warning", start[params[0]!.at]!, `health is called with no arguments: \`${expected}\``);
      }
    }
    return n;
  }

  /** Whether a `{` in a return type is an object type (followed by more type) rather than the body. */
  function typeContinues(brace: number): boolean {
    const close = match[brace]!;
    if (close < 0) return false;
    // `{ a: string } | null {` or `{...}[] {`: another `{` or `=>` comes after the type.
    return is(close + 1, PIPE) || op[close + 1] === opCode("&") || is(close + 1, LBRACK) || (is(close + 1, LBRACE) && !is(brace - 1, ARROW));
  }

  /** The parameters between a `(` and its `)`: name, type text and whether optional. */
  function parameters(open: number, close: number) {
    const out: { at: number; name: string; type: string | undefined; optional: boolean }[] = [];
    let i = open + 1;
    while (i < close) {
      steps++;
      // One parameter: up to the next comma at this depth.
      let e = i;
      while (e < close && !is(e, COMMA)) e = match[e]! > e ? match[e]! + 1 : e + 1;
      let j = i;
      while (j < e && (nameAt(j) === "public" || nameAt(j) === "private" || nameAt(j) === "readonly" || nameAt(j) === "protected")) j++;
      const rest = op[j] === opCode("...");
      if (rest) j++;
      const pname = nameAt(j) ?? text.slice(start[j]!, end[Math.max(j, e - 1)]!);
      let optional = rest;
      let k2 = j + 1;
      if (is(k2, QUESTION)) {
        optional = true;
        k2++;
      }
      let type: string | undefined;
      if (is(k2, COLON)) {
        let te = k2 + 1;
        while (te < e && !is(te, EQ)) te = match[te]! > te ? match[te]! + 1 : te + 1;
        type = typeText(k2 + 1, te);
        if (te < e) optional = true;
      } else if (is(k2, EQ)) optional = true;
      if (j < e) out.push({ at: j, name: pname, type, optional });
      i = e + 1;
    }
    return out;
  }

  function typeText(from: number, to: number): string {
    return from < to ? text.slice(start[from]!, end[to - 1]!).replace(/\s+/g, " ").trim() : "";
  }

  /**
   * The body's own `return`s (not those of nested functions): one that returns a literal that is
   * not a string is an error. JavaScript's handle without any `return` returns undefined.
   */
  function checkReturns(body: number, requireReturn: boolean): number {
    let n = 0;
    if (!is(body, LBRACE)) {
      // An arrow's expression body: the whole expression is what it returns.
      const what = literalKind(body);
      if (what) add("export-signature", "error", start[body]!, `handle must return a string; this returns ${what}`);
      return 1;
    }
    const close = match[body]!;
    let returns = 0;
    for (let k = body + 1; k < close; k++) {
      n++;
      if (is(k, LBRACE) && isFunctionBody(k) && match[k]! > k) {
        k = match[k]!; // a nested function's returns are its own
        continue;
      }
      if (is(k, ARROW) && !is(k + 1, LBRACE)) continue;
      if (nameAt(k) !== "return") continue;
      returns++;
      const what = literalKind(k + 1, k);
      if (what) add("export-signature", "error", start[k]!, `handle must return a string; this returns ${what}`);
    }
    if (requireReturn && returns === 0 && !text.slice(start[body]!, end[close]!).includes("throw")) {
      add("export-signature", "error", start[body]!, "handle has no return statement, so it returns undefined: it must return a string");
    }
    return n;
  }

  /** Whether the `{` at k opens a function's body (nested functions, methods, arrows). */
  function isFunctionBody(k: number): boolean {
    if (is(k - 1, ARROW)) return true;
    // Back over a return type annotation to the parameters' `)`.
    let p = k - 1;
    for (let steps2 = 0; p >= 0 && steps2 < 32 && !is(p, RPAREN); steps2++) {
      if (is(p, SEMI) || is(p, LBRACE) || is(p, RBRACE) || is(p, EQ)) return false;
      p = is(p, RBRACK) || is(p, RBRACE) ? match[p]! - 1 : p - 1;
    }
    if (p < 0 || !is(p, RPAREN) || match[p]! < 0) return false;
    if (p !== k - 1 && !is(p + 1, COLON)) return false;
    const before = match[p]! - 1;
    const word = nameAt(before);
    if (word !== undefined) return !NOT_FUNCTIONS.has(word) || word === "function";
    return is(before, STAR) || is(before, GT);
  }

  /**
   * What a return expression starting at k is, when it is a lone literal that is not a string:
   * "a number", "a boolean", ... undefined when it is anything else (or a string).
   */
  function literalKind(k: number, returnToken = -1): string | undefined {
    // `return;`, `return }` or `return` at the end of its line: undefined.
    if (returnToken >= 0 && (k >= count || is(k, SEMI) || is(k, RBRACE) || (startsLine(k) && !startsLineSameAs(returnToken, k)))) return "undefined (nothing)";
    let last = k;
    let what: string | undefined;
    const word = nameAt(k);
    if (kind[k] === NUMBER) what = "a number";
    else if (word === "true" || word === "false") what = "a boolean";
    else if (word === "null") what = "null";
    else if (word === "undefined") what = "undefined";
    else if ((is(k, LBRACE) || is(k, LBRACK)) && match[k]! > k) {
      what = is(k, LBRACE) ? "an object" : "an array";
      last = match[k]!;
    } else if (kind[k] === STRING || kind[k] === TEMPLATE || kind[k] === TEMPLATE_HEAD) return undefined;
    if (!what) return undefined;
    // Only when the literal is the whole expression (`return 1 + ""` is a string).
    const next = last + 1;
    return next >= count || is(next, SEMI) || is(next, RBRACE) || (startsLine(next) && !startsLineSameAs(last, next)) ? what : undefined;
  }

  function startsLineSameAs(a: number, b: number): boolean {
    return !text.slice(end[a]!, start[b]!).includes("\n");
  }
}

/** A type as written, compared without spaces and with its union members in order: `null | string` is `string|null`. */
function normalizeType(type: string): string {
  return type.replace(/\s+/g, "").split("|").sort((a, b) => (a === "null" ? 1 : b === "null" ? -1 : a < b ? -1 : a > b ? 1 : 0)).join("|");
}
