// validate knows what a guest must export and import: handle (synchronous, a string from a
// string), the optional health and migrate, and only names "solo" exports. Each finding is on the
// guest's own line, and a deploy refuses the errors before anything is compiled.
import * as assert from "uvu/assert";
import { validateSource } from "../../host/index.ts";
import { openHost, rejects, test } from "../helpers.ts";

type Lang = "typescript" | "javascript" | "assemblyscript";
const contract = new Set(["missing-handle", "export-signature", "unknown-import", "misspelled-export"]);
const found = (source: string, language: Lang) =>
  validateSource({ source, language }).findings.filter((f) => contract.has(f.rule)).map((f) => `${f.severity} ${f.rule} ${f.line}:${f.column}`);
const messages = (source: string, language: Lang) => validateSource({ source, language }).findings.map((f) => f.message).join("\n");

test("a misspelled handle is an error at the guest's own declaration that names the right name", () => {
  const ts = 'import { kv } from "solo";\nexport function handel(request: string): string {\n  return request;\n}\n';
  assert.equal(found(ts, "typescript"), ["error missing-handle 2:17"]);
  assert.match(messages(ts, "typescript"), "it exports handel: did you mean handle?");
  const js = "export function Handle(request) {\n  return request;\n}\n";
  assert.equal(found(js, "javascript"), ["error missing-handle 1:17"]);
  assert.match(messages(js, "javascript"), "it exports Handle: did you mean handle?");
  // Declared but not exported: said so.
  const unexported = "function handle(request) {\n  return request;\n}\n";
  assert.equal(found(unexported, "javascript"), ["error missing-handle 1:10"]);
  assert.match(messages(unexported, "javascript"), "handle is declared but not exported");
  // Nothing near: the finding says what to write.
  assert.equal(found("export const x = 1;\n", "javascript"), ["error missing-handle 1:1"]);
  assert.match(messages("export const x = 1;\n", "javascript"), "add `export function handle(request: string): string { ... }`");
});

test("an async handle is an error in every form, and so is a handle that returns a number", () => {
  assert.equal(found("export async function handle(r) {\n  return r;\n}\n", "javascript"), ["error export-signature 1:23"]);
  assert.equal(found("export const handle = async (r: string) => r;\n", "typescript"), ["error export-signature 1:14"]);
  assert.match(messages("export async function handle(r) { return r; }", "javascript"), "handle must not be async");
  // JavaScript: a literal that is not a string, returned from handle's own body.
  assert.equal(found('export function handle(r) {\n  if (r === "n") return 42;\n  return "ok";\n}\n', "javascript"), ["error export-signature 2:18"]);
  assert.equal(found("export const handle = (r) => 42;\n", "javascript"), ["error export-signature 1:30"]);
  assert.equal(found("export function handle(r) {\n  console.log(r);\n}\n", "javascript"), ["error export-signature 1:27"]);
  // Returns of nested functions are theirs, and an expression that only starts with a literal is not one.
  assert.equal(found('export function handle(r) {\n  const f = () => { return 1; };\n  function g() { return 2 }\n  return 1 + "" + f() + g();\n}\n', "javascript"), []);
  // TypeScript: the declared types.
  assert.equal(found("export function handle(r: string): number {\n  return 1;\n}\n", "typescript"), ["error export-signature 1:36"]);
  assert.equal(found("export function handle(r: number): string {\n  return String(r);\n}\n", "typescript"), ["error export-signature 1:24"]);
  assert.equal(found("export function handle(r: string): Promise<string> {\n  return Promise.resolve(r);\n}\n", "typescript"), ["error export-signature 1:36"]);
  // What the text cannot know is left to the type check: no finding here.
  assert.equal(found('export function handle(request: string): string {\n  if (request === "u") return undefined as unknown as string;\n  return `x`;\n}\n', "typescript"), []);
});

test("an AssemblyScript handle, health or migrate must have exactly the documented signature", () => {
  const ok = "export function handle(request: string): string { return request; }\nexport function health(): string | null { return null; }\nexport function migrate(fromVersion: u32): null | string { return null; }\n";
  assert.equal(found(ok, "assemblyscript"), []);
  assert.equal(found("export function handle(request: i32): string { return ''; }\n", "assemblyscript"), ["error export-signature 1:17"]);
  assert.equal(found("export function handle(request: string): string { return request; }\nexport function health(): void {}\n", "assemblyscript"), ["error export-signature 2:17"]);
  assert.match(messages("export function handle(request: string): string { return request; }\nexport function health(): void {}\n", "assemblyscript"), "health must be declared as `export function health(): string | null`; it is declared as (): void");
  assert.equal(found("export function handle(request: string): string { return request; }\nexport function migrate(v: i64): string | null { return null; }\n", "assemblyscript"), ["error export-signature 2:17"]);
});

test("TypeScript health and migrate: async is an error, a returned value is a warning (Solo ignores it), a misspelled name a warning", () => {
  const source = [
    "export function handle(r: string): string { return r; }",
    "export async function health() {}",
    "export function migrate(fromVersion: string): string { return ''; }",
  ].join("\n");
  assert.equal(found(source, "typescript"), ["error export-signature 2:23", "error export-signature 3:25", "warning export-signature 3:47"]);
  const misspelled = "export function handle(r: string): string { return r; }\nexport function helth(): void {}\nexport function Migrate(v: number): void {}\n";
  assert.equal(found(misspelled, "typescript"), ["warning misspelled-export 2:17", "warning misspelled-export 3:17"]);
  assert.match(messages(misspelled, "typescript"), "it exports helth: did you mean health?");
});

test("imports from \"solo\" of names it does not export are errors that suggest the right one", () => {
  const source = 'import { kvv, log as l } from "solo";\nimport solo from "solo";\nimport * as all from "solo";\nexport function handle(r: string): string { l.info(r); return r; }\n';
  assert.equal(found(source, "typescript"), ["error unknown-import 1:10", "error unknown-import 2:8"]);
  assert.match(messages(source, "typescript"), '"solo" has no export named kvv; did you mean kv?');
  assert.match(messages(source, "typescript"), '"solo" has no default export');
  // AssemblyScript compares with its own SDK: lastError and fail exist there, not in JavaScript's.
  const as = 'import { lastError, fail, kv } from "solo";\nexport function handle(r: string): string { return r; }\n';
  assert.equal(found(as, "assemblyscript"), []);
  assert.equal(found(as, "typescript"), ["error unknown-import 1:10", "error unknown-import 1:21"]);
});

test("export { local as handle } resolves to the local's declaration, where the finding is", () => {
  assert.equal(found("async function h(r) { return r; }\nexport { h as handle };\n", "javascript"), ["error export-signature 1:16"]);
  assert.equal(found("function h(r) { return r; }\nexport { h as handle };\n", "javascript"), []);
});

test("a deploy without handle is VALIDATION_FAILED at the guest's own line, never at the generated entry", async () => {
  const t = await openHost();
  try {
    for (const [file, source] of [["typo.ts", "export function handel(request: string): string {\n  return request;\n}\n"], ["typo.js", "\nexport function Handle(request) {\n  return request;\n}\n"]] as const) {
      const e = await rejects(t.host.deploy({ tenant: "a", service: "typo", source, file }), "VALIDATION_FAILED");
      const f = (e.details?.findings as { rule: string; line: number; column: number }[])[0]!;
      assert.equal([f.rule, f.line, f.column], ["missing-handle", file.endsWith(".ts") ? 1 : 2, 17], file);
      assert.match(e.message, /did you mean handle\?/);
      assert.not.match(e.message, /solo-entry/);
    }
    const async = await rejects(t.host.deploy({ tenant: "a", service: "later", source: "export async function handle(r) {\n  return r;\n}\n", language: "javascript" }), "VALIDATION_FAILED");
    assert.match(async.message, /export-signature at 1:23: handle must not be async/);
    assert.equal(t.host.list("a"), [], "nothing was deployed");
  } finally {
    await t.close();
  }
});

test.run();
