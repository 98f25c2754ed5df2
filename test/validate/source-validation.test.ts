import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateSource } from "../../host/index.ts";
import { ROOT, example, openHost, rejects, test } from "../helpers.ts";

const rules = (source: string, language: "typescript" | "javascript" | "assemblyscript" = "typescript") =>
  validateSource({ source, language }).findings.map((f) => `${f.severity} ${f.rule} ${f.line}:${f.column}`);

test("eval, the Function constructor, dynamic import and WebAssembly are errors with positions", () => {
  const source = [
    'import { log } from "solo";',
    "export function handle(r: string): string {",
    "  const a = eval(r);",
    '  const f = new Function("return 1");',
    '  const m = import("x");',
    "  WebAssembly.compile(new Uint8Array(0));",
    "  return String(a);",
    "}",
  ].join("\n");
  assert.equal(rules(source), [
    "error no-eval 3:13",
    "error no-function-constructor 4:13",
    "error no-dynamic-import 5:13",
    "error no-webassembly 6:3",
  ]);
});

test("words inside strings and comments are not findings", () => {
  const source = 'export function handle(r: string): string {\n  // eval(r) would be bad\n  return "eval( and import( and WebAssembly.x";\n}\n';
  assert.equal(rules(source), []);
});

test("imports other than \"solo\" are errors; endless loops and unguarded recursion are warnings", () => {
  const source = [
    'import { readFileSync } from "node:fs";',
    'import { kv } from "solo";',
    "function down(n: number): number { return down(n + 1); }",
    "export function handle(r: string): string {",
    "  while (true) { kv.set('x', r); }",
    "  for (;;) { if (r) break; }",
    "}",
  ].join("\n");
  assert.equal(rules(source), [
    "error imports-only-solo 1:30",
    "warning recursion-without-base-case 3:1",
    "warning loop-without-exit 5:3",
  ]);
});

test("bytes that are not UTF-8, and an oversized source, are errors", () => {
  const bad = validateSource({ source: new Uint8Array([0x65, 0xff, 0xfe]), language: "javascript" });
  assert.equal(bad.findings.map((f) => f.rule), ["utf8"]);
  assert.is(bad.ok, false);
  const big = validateSource({ source: "x".repeat(2000), language: "javascript", maxSourceBytes: 1000 });
  assert.equal(big.findings.map((f) => f.rule), ["source-size"]);
});

test("a deploy with an error finding is VALIDATION_FAILED with the findings; warnings are kept in status", async () => {
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "evil", source: 'export function handle(r: string): string { return eval(r); }\n', language: "typescript" }), "VALIDATION_FAILED");
    assert.equal((e.details?.findings as { rule: string }[]).map((f) => f.rule), ["no-eval"]);
    assert.match(e.message, /no-eval at 1:52/);
    await t.host.deploy({ tenant: "a", service: "spinner", source: "let n = 0;\nexport function handle(r: string): string {\n  while (true) { n++; }\n}\n", language: "assemblyscript" });
    assert.equal(t.host.status("a", "spinner").warnings.map((f) => f.rule), ["loop-without-exit"]);
    assert.equal(await t.host.validate({ source: example("counter.ts"), file: "counter.ts" }), { ok: true, findings: [] });
  } finally {
    await t.close();
  }
});

test("solo validate prints findings and exits 1 on an error, 0 otherwise", () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-validate-"));
  try {
    writeFileSync(join(dir, "evil.js"), "export function handle(r) {\n  return eval(r);\n}\n");
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "evil.js")], { encoding: "utf8" });
    assert.is(r.status, 1);
    assert.match(r.stdout, /evil\.js:2:10: error no-eval/);
    const j = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(ROOT, "examples", "echo.ts"), "--json"], { encoding: "utf8" });
    assert.is(j.status, 0);
    assert.equal(JSON.parse(j.stdout), { ok: true, findings: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
