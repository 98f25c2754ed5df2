// TypeScript guests are type-checked against the SDK's declarations: findings with the guest's
// file, line, column and the checker's code; warnings unless typeCheck is "error" (a deploy
// option, HostOptions or SOLO_TYPECHECK), which makes a deploy with one VALIDATION_FAILED.
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { typeCheck, validateGuest } from "../../host/validate/index.ts";
import { ROOT, example, openHost, rejects, test } from "../helpers.ts";

const WRONG = [
  'import { kv } from "solo";',
  "export function handle(request: string): string {",
  "  const n: number = request;",
  '  kv.set("count", n);',
  "  return kv.gett(request) ?? String(n);",
  "}",
  "",
].join("\n");
const at = (findings: { line: number; column: number; code?: string; severity: string }[]) => findings.map((f) => `${f.severity} ${f.code} ${f.line}:${f.column}`);

test("type errors are findings with the guest's file, line, column and the checker's code", () => {
  const findings = typeCheck({ source: WRONG, file: "wrong.ts" });
  assert.equal(at(findings), ["warning TS2322 3:9", "warning TS2345 4:19", "warning TS2551 5:13"]);
  assert.ok(findings.every((f) => f.file === "wrong.ts" && f.rule === "type-check"));
  assert.match(findings[0]!.message, "Type 'string' is not assignable to type 'number'");
  assert.match(findings[2]!.message, "Did you mean 'get'?");
  assert.equal(at(typeCheck({ source: WRONG, severity: "error" })).map((s) => s.split(" ")[0]), ["error", "error", "error"]);
});

test("the examples, console, Date and Math type-check clean; a syntax error is left to the compiler", () => {
  for (const name of readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts") && !f.endsWith(".as.ts"))) {
    assert.equal(typeCheck({ source: example(name), file: name }), [], name);
  }
  assert.equal(typeCheck({ source: 'export function handle(r: string): string {\n  console.log(r, Date.now(), Math.random(), [1].includes(1), 2n ** 3n);\n  return r;\n}\n' }), []);
  assert.equal(typeCheck({ source: "export function handle(r: string): string { return r +; }\n" }), []);
});

test("the checker sees the contract where the text cannot: a handle made by a call that returns a number", () => {
  const source = "const make = () => (request: string) => request.length;\nexport const handle = make();\nconst later = () => async () => {};\nexport const health = later();\n";
  const findings = typeCheck({ source, file: "made.ts" });
  assert.equal(findings.map((f) => `${f.rule} ${f.code} ${f.line}:${f.column}`), ["export-signature contract 2:14", "export-signature contract 4:14"]);
  assert.match(findings[0]!.message, "handle must return a string; its type says it returns number");
  assert.match(findings[1]!.message, "health must not return a Promise");
  // validate's report merges both kinds, in source order, once per problem.
  const report = validateGuest({ source: "export async function handle(r: string) {\n  const n: number = r;\n  return r;\n}\n", language: "typescript", file: "a.ts" });
  assert.equal(report.findings.map((f) => `${f.severity} ${f.rule} ${f.code ?? "-"} ${f.line}:${f.column}`), ["error export-signature - 1:23", "warning type-check TS2322 2:9"]);
});

test("a warm type check costs little (figure printed)", () => {
  const source = example("counter.ts");
  let started = performance.now();
  typeCheck({ source });
  const first = performance.now() - started;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    started = performance.now();
    const findings = typeCheck({ source: `${source}\n// ${i}\n` });
    times.push(performance.now() - started);
    assert.equal(findings, []);
  }
  times.sort((a, b) => a - b);
  console.log(`type check of examples/counter.ts: first in this process ${first.toFixed(0)} ms, warm median ${times[5]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[9]!.toFixed(1)})`);
});

test("deploy keeps type findings as warnings by default; typeCheck \"error\" refuses with VALIDATION_FAILED, cached build or not", async () => {
  const t = await openHost();
  try {
    const source = `${WRONG}// ${Date.now()}\n`;
    const d = await t.host.deploy({ tenant: "a", service: "loose", source, file: "wrong.ts" });
    assert.equal(at(d.warnings), ["warning TS2322 3:9", "warning TS2345 4:19", "warning TS2551 5:13"]);
    assert.equal(at(t.host.status("a", "loose").warnings), at(d.warnings));
    // The same source again (its build is cached), now as an error.
    const cached = await rejects(t.host.deploy({ tenant: "a", service: "strict", source, file: "wrong.ts", typeCheck: "error" }), "VALIDATION_FAILED");
    assert.equal(at(cached.details!.findings as never), ["error TS2322 3:9", "error TS2345 4:19", "error TS2551 5:13"]);
    assert.match(cached.message, /wrong\.ts:3:9: TS2322 Type 'string' is not assignable to type 'number'/);
    // A new source: refused by the builder before it is compiled.
    const fresh = await rejects(t.host.deploy({ tenant: "a", service: "strict", source: `${WRONG}// fresh ${Date.now()}\n`, file: "wrong.ts", typeCheck: "error" }), "VALIDATION_FAILED");
    assert.equal(at(fresh.details!.findings as never), ["error TS2322 3:9", "error TS2345 4:19", "error TS2551 5:13"]);
    assert.equal(t.host.list("a").map((s) => s.service), ["loose"]);
    await rejects(t.host.deploy({ tenant: "a", service: "odd", source, file: "wrong.ts", typeCheck: "loud" as never }), "INVALID_ARGUMENT");
    // Host.validate type-checks too (in the builder).
    const report = await t.host.validate({ source: WRONG, file: "wrong.ts" });
    assert.equal(report.ok, true);
    assert.equal(at(report.findings), ["warning TS2322 3:9", "warning TS2345 4:19", "warning TS2551 5:13"]);
    const strict = await t.host.validate({ source: WRONG, file: "wrong.ts", typeCheck: "error" });
    assert.equal(strict.ok, false);
  } finally {
    await t.close();
  }
});

test("HostOptions.typeCheck \"error\" refuses for every service; a bad setting is INVALID_ARGUMENT", async () => {
  const t = await openHost({ typeCheck: "error" });
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "s", source: WRONG, file: "wrong.ts", typeCheck: "warning" }), "VALIDATION_FAILED");
    assert.match(e.message, /typeCheck is "error"/);
    assert.is((await t.host.validate({ source: WRONG, file: "wrong.ts" })).ok, false);
  } finally {
    await t.close();
  }
  const dataDir = mkdtempSync(join(tmpdir(), "solo-typecheck-"));
  try {
    await rejects(Host.open({ dataDir, typeCheck: "strict" as never }), "INVALID_ARGUMENT");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("solo validate prints type findings with their code; SOLO_TYPECHECK=error makes them errors (exit 1); --types warning|error|off wins", () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-validate-"));
  try {
    writeFileSync(join(dir, "wrong.ts"), WRONG);
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "wrong.ts")], { encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, "wrong.ts:3:9: warning type-check TS2322: Type 'string' is not assignable to type 'number'.");
    const strict = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "wrong.ts")], { encoding: "utf8", env: { ...process.env, SOLO_TYPECHECK: "error" } });
    assert.is(strict.status, 1, strict.stderr);
    assert.match(strict.stdout, "wrong.ts:3:9: error type-check TS2322");
    // --types wins over SOLO_TYPECHECK; off skips the checker, leaving the contract and source rules.
    const flag = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "wrong.ts"), "--types", "warning"], { encoding: "utf8", env: { ...process.env, SOLO_TYPECHECK: "error" } });
    assert.is(flag.status, 0, flag.stderr);
    assert.match(flag.stdout, "wrong.ts:3:9: warning type-check TS2322");
    const off = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "wrong.ts"), "--types", "off"], { encoding: "utf8" });
    assert.is(off.status, 0, off.stderr);
    assert.not.match(off.stdout, "TS2322");
    const bad = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "validate", join(dir, "wrong.ts"), "--types", "strict"], { encoding: "utf8" });
    assert.is(bad.status, 2);
    assert.match(bad.stderr, "--types must be warning, error or off");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
