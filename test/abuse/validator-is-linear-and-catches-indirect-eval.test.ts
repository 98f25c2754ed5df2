import * as assert from "uvu/assert";
import { validateSource } from "../../host/index.ts";
import { openHost, rejects, test } from "../helpers.ts";

type Lang = "typescript" | "javascript" | "assemblyscript";
// The cases are fragments, not guests: the contract's missing-handle is not what they test.
const rules = (source: string, language: Lang = "typescript") => validateSource({ source, language }).findings.filter((f) => f.rule !== "missing-handle").map((f) => `${f.rule} ${f.line}:${f.column}`);

test("eval and Function reached indirectly, as values, members or literal-computed names, are refused", () => {
  const cases: [string, string[]][] = [
    ["(0, eval)(s);", ["no-eval 1:5"]],
    ["globalThis.eval(s);", ["no-eval 1:12"]],
    ["const e = eval; e(s);", ["no-eval 1:11"]],
    ['globalThis["eval"](s);', ["no-eval 1:12"]],
    ["globalThis[`eval`](s);", ["no-eval 1:12"]],
    ["globalThis?.['ev\\x61l'](s);", ["no-eval 1:14"]],
    ["ev\\u0061l(s);", ["no-eval 1:1"]],
    ["const F = Function; F('return 1')();", ["no-function-constructor 1:11"]],
    ["globalThis['Function']('return 1')();", ["no-function-constructor 1:12"]],
    ['"".constructor.constructor("return this")();', ["no-function-constructor 1:16"]],
    ['x["constructor"]("return 1");', ["no-function-constructor 1:3"]],
    ["(async () => {}).constructor`return 1`;", ["no-function-constructor 1:18"]],
    ["const w = WebAssembly;", ["no-webassembly 1:11"]],
    // Code inside a template's ${...} is code; a regular expression's quote is not a string.
    ["const t = `a${eval(s)}b`;", ["no-eval 1:15"]],
    ['if (s) /"/.test(s); eval(s); "', ["no-eval 1:21"]],
  ];
  for (const [source, expected] of cases) assert.equal(rules(source), expected, source);
});

test("what is not a reference to eval or Function is not a finding", () => {
  const source = [
    'const commands = ["eval", "Function"];',
    'if (cmd === "eval") run(`eval`);',
    "// eval(s) in a comment; /* Function('x') */",
    "type Handler = (cb: Function, all: Map<string, Function>) => Function[];",
    "function call(f: Function): void { (f as Function).name; }",
    "x.constructor.name; y.constructor === Z; class A extends B { constructor() { super(); } }",
    "const ratio = a / b / c; const re = /eval\\(/g;",
  ].join("\n");
  assert.equal(rules(source), []);
  // Without types, Function is a value wherever it appears.
  assert.equal(rules("function call(f) { return f instanceof Function; }", "javascript"), ["no-function-constructor 1:40"]);
});

test("a deploy using eval indirectly is VALIDATION_FAILED naming the rule", async () => {
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "sneaky", source: "export function handle(r: string): string {\n  return String((0, eval)(r));\n}\n", language: "typescript" }), "VALIDATION_FAILED");
    assert.equal((e.details?.findings as { rule: string }[]).map((f) => f.rule), ["no-eval"]);
    assert.match(e.message, /no-eval at 2:21/);
  } finally {
    await t.close();
  }
});

test("an oversized source gets only source-size, before anything else is read", () => {
  const work = { steps: 0 };
  const r = validateSource({ source: "eval(s);\n".repeat(300), language: "typescript", maxSourceBytes: 1000, work });
  assert.equal(r.findings.map((f) => f.rule), ["source-size"]);
  assert.match(r.findings[0]!.message, /^source is 2700 bytes; limits\.maxSourceBytes is 1000/);
  assert.is(work.steps, 0, "nothing was tokenized");
  // Bytes are measured before they are decoded: an oversized blob that is not UTF-8 is still source-size.
  const bytes = new Uint8Array(2000).fill(0xff);
  assert.equal(validateSource({ source: bytes, language: "javascript", maxSourceBytes: 1000 }).findings.map((f) => f.rule), ["source-size"]);
});

/** Many functions, loops and findings per kilobyte: every rule has work to do. */
function flat(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const block = `function f${i}(n: number): number { if (n > 0) return f${i}(n - 1); return 0; }\nfunction g${i}(n: number): number { return g${i}(n + 1); }\nfor (;;) { k++; }\nwhile (true) { if (k) break; }\nconst a${i} = eval(r); // ${i}\n`;
    parts.push(block);
    size += block.length;
  }
  return parts.join("");
}

/** Loops nested thousands deep inside one recursive function: each body holds all the inner ones. */
function nested(bytes: number): string {
  const depth = Math.floor(bytes / 40);
  return "function h(n: number): number {\n" + "while (true) {\n".repeat(depth) + "h(n);\n" + "}\n".repeat(depth) + "}\n";
}

test("validation work is linear in the source's size: 1 MB costs ten times 100 KB, counted in steps", () => {
  for (const [shape, make] of [["flat", flat], ["nested", nested]] as const) {
    const measure = (bytes: number) => {
      const source = make(bytes);
      const work = { steps: 0 };
      const started = performance.now();
      const report = validateSource({ source, language: "typescript", maxSourceBytes: 2 * 1024 * 1024, work });
      return { chars: source.length, steps: work.steps, findings: report.findings.length, ms: performance.now() - started };
    };
    const small = measure(100_000);
    const large = measure(1_000_000);
    // Informational only: durations depend on the machine and its load.
    console.log(`  ${shape}: 100 KB ${small.ms.toFixed(0)} ms, 1 MB ${large.ms.toFixed(0)} ms (${(large.ms / small.ms).toFixed(1)}x); steps per character ${(small.steps / small.chars).toFixed(2)} and ${(large.steps / large.chars).toFixed(2)}`);
    assert.ok(small.steps > 0, "the validator reports its work");
    assert.ok(large.findings >= 9 * small.findings, `findings grow with the source (${small.findings} -> ${large.findings})`);
    // A constant number of steps per character, the same at both sizes (quadratic work would
    // make the large source's ratio about ten times the small one's).
    assert.ok(large.steps <= 8 * large.chars, `${large.steps} steps for ${large.chars} characters`);
    assert.ok(large.steps / large.chars <= 1.1 * (small.steps / small.chars), `steps per character ${small.steps / small.chars} -> ${large.steps / large.chars}`);
  }
});

test.run();
