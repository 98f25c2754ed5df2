// Sources an agent might send, for host.validate and host.deploy: random text, token soup,
// programs from a small grammar (TypeScript / JavaScript / AssemblyScript-shaped, with eval,
// dynamic and foreign imports, endless and bounded loops, recursion, deep nesting), the real
// examples with text mutations, and large repetitive sources near the size limit (the shapes
// that make a scanner quadratic). Generation is a pure function of fast-check's choices.
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { Random } from "./wasm-gen.ts";

export type SourceLanguage = "typescript" | "javascript" | "assemblyscript";

export interface SourceCase {
  kind: "text" | "tokens" | "program" | "mutated" | "big" | "deep";
  language: SourceLanguage;
  source: string;
  /** Also deploy it (and call it if it deploys), not only validate it. */
  deploy: boolean;
}

/** Pieces that matter to a validator or a parser. */
export const TOKENS = [
  "eval(", "eval", "(0, eval)(", "globalThis.eval(", "new Function(", "Function(", "import(", "import ", "export ", "from ", "\"solo\"", "'fs'", "\"node:child_process\"",
  "WebAssembly.", "WebAssembly", "while (true) {", "for (;;) {", "do {", "} while (1);", "break;", "return", "throw new Error(\"x\");", "function f(", "function ", "=>", "async ", "await ",
  "yield", "class C {", "}", "{", "(", ")", "[", "]", ";", ",", "\"", "'", "`", "${", "/*", "*/", "//", "\n", "\\", "/re/g", "0x", "1e999", "NaN", "-0", "\u2028", "\u0000", "\ud800",
  "i32", "u64", "f64", ": string", ": i32", "let x = ", "const y = ", "var z = ", "request", "handle", "kv.get(\"k\")", "log.info(\"m\")", "export function handle(request: string): string {",
];

const EXAMPLE_FILES = (() => {
  const pick = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => /\.(ts|js)$/.test(f)).map((f) => join(dir, f));
  return [...pick("examples"), ...pick("test/fixtures")];
})();

export function languageOfFile(file: string): SourceLanguage {
  return file.endsWith(".as.ts") ? "assemblyscript" : file.endsWith(".ts") ? "typescript" : "javascript";
}

/** A program from a small grammar: plausible code with the constructs the rules are about. */
export function programSource(seed: number, language: SourceLanguage): string {
  const r = new Random(seed);
  const as = language === "assemblyscript";
  const ts = language !== "javascript";
  const num = as ? "i32" : "number";
  let budget = 60;
  const names = ["a", "b", "c"];
  const e = (depth: number): string => {
    budget--;
    if (depth > 6 || budget <= 0) return r.pick(["1", "request.length", ...names, "0x7fffffff", "-1"]);
    switch (r.int(9)) {
      case 0: return `(${e(depth + 1)} ${r.pick(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "<", "==", "!="])} ${e(depth + 1)})`;
      case 1: return `${r.pick(names)}`;
      case 2: return as ? `<i32>request.charCodeAt(${e(depth + 1)} & 7)` : `request.charCodeAt(${e(depth + 1)} & 7)`;
      case 3: return `(${e(depth + 1)} ? ${e(depth + 1)} : ${e(depth + 1)})`;
      case 4: return `f${r.int(2)}(${e(depth + 1)})`;
      case 5: return r.pick(["eval(\"1\")", "(0, eval)(request)", "new Function(\"return 1\")()", "Function(\"x\")", "globalThis[\"ev\" + \"al\"](\"2\")", "WebAssembly.validate(new Uint8Array(0))"]);
      case 6: {
        const k = 1 + r.int(40);
        return `${"(".repeat(k)}${e(depth + 1)}${")".repeat(k)}`;
      }
      case 7: return String(r.int(1000));
      default: return as ? r.pick(names) : `String(${r.pick(names)}).length`;
    }
  };
  const s = (depth: number): string => {
    budget--;
    if (depth > 5 || budget <= 0) return `${r.pick(names)} = ${e(depth)};`;
    switch (r.int(12)) {
      case 0: return `if (${e(depth)}) { ${s(depth + 1)} } else { ${s(depth + 1)} }`;
      case 1: return `for (let i${depth}${as ? ": i32" : ""} = 0; i${depth} < ${r.int(50)}; i${depth}++) { ${s(depth + 1)} }`;
      case 2: return `while (true) { ${s(depth + 1)} ${r.chance(0.7) ? "break;" : ""} }`;
      case 3: return r.chance(0.5) ? "for (;;) {}" : `do { ${s(depth + 1)} } while (${e(depth)} < 0);`;
      case 4: return `${r.pick(names)} = ${e(depth)};`;
      case 5: return as ? `${r.pick(names)} += 1;` : `try { ${s(depth + 1)} } catch (err) { ${s(depth + 1)} } finally { ${r.pick(names)} = 0; }`;
      case 6: return r.chance(0.3) ? "throw new Error(\"no\");" : `if (${e(depth)} == 7) return "${r.int(9)}";`;
      case 7: {
        const k = 1 + r.int(30);
        return `${"{".repeat(k)} ${s(depth + 1)} ${"}".repeat(k)}`;
      }
      case 8: return r.pick(["const m = import(\"fs\");", "eval(request);", "new Function(request);", "const w = WebAssembly.Module;", "console.log(request);", "kv.set(\"k\", request);"]);
      default: return `${r.pick(names)} = f${r.int(2)}(${e(depth)});`;
    }
  };
  const fn = (i: number) =>
    r.chance(0.5)
      ? `function f${i}(x${ts ? `: ${num}` : ""})${ts ? `: ${num}` : ""} { return f${i}(x - 1); }`
      : `function f${i}(x${ts ? `: ${num}` : ""})${ts ? `: ${num}` : ""} { if (x <= 0) return 1; ${r.chance(0.5) ? `return f${i}(x - 1) + 1;` : "return x;"} }`;
  const header = r.pick(["", "import { kv, log } from \"solo\";", "import fs from \"fs\";", "import * as solo from \"solo\";", "export { a } from \"./b\";", "import \"data:text/javascript,1\";"]);
  const decl = names.map((n) => `let ${n}${ts ? `: ${num}` : ""} = ${r.int(10)};`).join(" ");
  const body = Array.from({ length: 1 + r.int(6) }, () => s(0)).join("\n  ");
  const ret = as ? `return (${names[0]} + ${names[1]}).toString();` : `return String(${names[0]} + ${names[1]});`;
  const sig = ts ? "export function handle(request: string): string" : "export function handle(request)";
  return `${header}\n${fn(0)}\n${fn(1)}\n${sig} {\n  ${decl}\n  ${body}\n  ${ret}\n}\n`;
}

/** Appends the closing braces the text is missing, so nesting does not always mean a syntax error. */
export function balance(source: string): string {
  let open = 0;
  for (const c of source) {
    if (c === "{") open++;
    else if (c === "}" && open > 0) open--;
  }
  return source + "}".repeat(open);
}

/** Units that, repeated to ~1 MB, make a line- or match-at-a-time scanner quadratic. */
export const BIG_UNITS = ["eval(", "\neval(", "function a(", "function a(){", "while(true){", "import a\n", "(", "{", "[", "/*", "\"", "`${", "//x\n", "a", "é", "\ud83d\ude00", "for(;;){"];

const DEEP_SHAPES = ["parens", "braces", "arrays", "ifs", "calls"] as const;

/** A handle whose body nests one construct `depth` deep: valid syntax a recursive parser must survive. */
export function deepSource(language: SourceLanguage, shape: (typeof DEEP_SHAPES)[number], depth: number): string {
  const sig = language === "javascript" ? "export function handle(request)" : "export function handle(request: string): string";
  const str = (x: string) => (language === "assemblyscript" ? `(${x}).toString()` : `String(${x})`);
  const body = {
    parens: `return ${str(`${"(".repeat(depth)}1${")".repeat(depth)}`)};`,
    braces: `${"{".repeat(depth)}${"}".repeat(depth)} return "";`,
    arrays: `return ${str(`${"[".repeat(depth)}${"]".repeat(depth)}.length`)};`,
    ifs: `${"if (request.length > 0) { ".repeat(depth)}${"}".repeat(depth)} return "";`,
    calls: `return ${str(`${"Math.abs(".repeat(depth)}1${")".repeat(depth)}`)};`,
  }[shape];
  return `${sig} { ${body} }\n`;
}

/** fast-check prints a failing case: a megabyte of source would drown the report, so clip it. */
function clipped(c: SourceCase): SourceCase {
  const text = c.source.length > 300 ? `${c.source.slice(0, 200)}...(${c.source.length} chars)...${c.source.slice(-60)}` : c.source;
  return Object.assign(c, { [fc.toStringMethod]: () => JSON.stringify({ kind: c.kind, language: c.language, deploy: c.deploy, source: text }) });
}

export function sourceCaseArb(options: { deployFreq: number; bigMaxBytes: number }): fc.Arbitrary<SourceCase> {
  return anySourceCase(options).map(clipped);
}

function anySourceCase(options: { deployFreq: number; bigMaxBytes: number }): fc.Arbitrary<SourceCase> {
  const language = fc.constantFrom<SourceLanguage>("typescript", "javascript", "assemblyscript");
  const deploy = fc.nat({ max: 99 }).map((n) => n < options.deployFreq);
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("text" as const), language, source: fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 200 })), deploy }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("tokens" as const), language, source: fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }).map((t) => t.join("")), deploy }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("program" as const), language, source: fc.constant(""), deploy }).chain((c) => fc.nat().map((seed) => ({ ...c, source: balance(programSource(seed, c.language)) }))) },
    { weight: 3, arbitrary: mutatedExampleArb(deploy) },
    // AssemblyScript's parser is recursive and fails fast: deep ones are always deployed.
    { weight: 1, arbitrary: fc.record({ language, depth: fc.integer({ min: 1, max: 20_000 }), shape: fc.constantFrom(...DEEP_SHAPES), deploy }).map(({ language, depth, shape, deploy }) => ({ kind: "deep" as const, language, deploy: deploy || language === "assemblyscript", source: deepSource(language, shape, depth) })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ unit: fc.constantFrom(...BIG_UNITS), bytes: fc.integer({ min: 1000, max: options.bigMaxBytes }), language, deploy })
        .map(({ unit, bytes, language, deploy }) => ({ kind: "big" as const, language, deploy, source: unit.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(unit)))) })),
    },
  );
}

type TextEdit = { at: number; len: number; insert: string };

function mutatedExampleArb(deploy: fc.Arbitrary<boolean>): fc.Arbitrary<SourceCase> {
  const edit = fc.record({ at: fc.nat(), len: fc.nat({ max: 40 }), insert: fc.oneof(fc.constant(""), fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })) });
  return fc.record({ file: fc.constantFrom(...EXAMPLE_FILES), edits: fc.array(edit, { minLength: 1, maxLength: 3 }), deploy }).map(({ file, edits, deploy }) => ({
    kind: "mutated" as const,
    language: languageOfFile(file),
    deploy,
    source: edits.reduce((text: string, m: TextEdit) => {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.insert + text.slice(Math.min(text.length, at + m.len));
    }, readFileSync(join(ROOT, file), "utf8")),
  }));
}
