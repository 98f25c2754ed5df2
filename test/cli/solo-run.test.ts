import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";

const cwd = mkdtempSync(join(tmpdir(), "solo-cli-"));
const SOLO = join(ROOT, "bin", "solo.mjs");

function solo(...args: string[]) {
  const r = spawnSync(process.execPath, [SOLO, ...args], { cwd, encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: join(TEST_CACHE, "xdg") } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("solo run --json prints one JSON line with output, fuel and memoryBytes", () => {
  const r = solo("run", join(ROOT, "examples", "echo.as.ts"), "--input", "hi", "--json");
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1);
  const out = JSON.parse(lines[0]!);
  assert.is(out.output, "hi");
  assert.type(out.fuel, "number");
  assert.type(out.memoryBytes, "number");
  assert.not.ok(existsSync(join(cwd, "data")), "solo run never creates ./data");
});

test("solo run works on TypeScript too: examples/echo.ts --input hi --json", () => {
  const r = solo("run", join(ROOT, "examples", "echo.ts"), "--input", "hi", "--json");
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.is(out.output, "hi");
  assert.ok(out.fuel > 0);
});

test("solo run prints the output on stdout and guest logs on stderr; --input-file works", () => {
  writeFileSync(join(cwd, "in.txt"), "from a file");
  const r = solo("run", join(ROOT, "examples", "echo.as.ts"), "--input-file", join(cwd, "in.txt"));
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "from a file\n");
  const c = solo("run", join(ROOT, "examples", "counter.as.ts"));
  assert.is(c.stdout, "1\n");
  assert.match(c.stderr, /\[debug\] count is now 1/);
});

test("a Solo error exits 1: CODE: message on stderr, or a JSON error line", () => {
  writeFileSync(join(cwd, "bad.as.ts"), "export function handle(r: string): string {\n  return 1;\n}\n");
  const plain = solo("run", join(cwd, "bad.as.ts"));
  assert.is(plain.code, 1);
  assert.match(plain.stderr, /^COMPILE_ERROR: .*bad\.as\.ts:2:10/m);
  const json = solo("run", join(cwd, "bad.as.ts"), "--json");
  assert.is(json.code, 1);
  const out = JSON.parse(json.stdout.trim());
  assert.is(out.error.code, "COMPILE_ERROR");
  assert.is(out.error.details.diagnostics[0].line, 2);
  const fuel = solo("run", join(ROOT, "test", "fixtures", "loop.as.ts"), "--fuel", "100000", "--json");
  assert.is(fuel.code, 1);
  assert.is(JSON.parse(fuel.stdout).error.code, "FUEL_EXHAUSTED");
});

test("usage errors exit 2; --help prints the defaults", () => {
  assert.is(solo("run").code, 2);
  assert.is(solo("run", "x.as.ts", "--fuel", "lots").code, 2);
  assert.is(solo("run", "x.unknown").code, 2);
  assert.is(solo("frobnicate").code, 2);
  const help = solo("run", "--help");
  assert.is(help.code, 0);
  assert.match(help.stdout, /--fuel 1000000000/);
  assert.match(help.stdout, /--memory 33554432/);
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));

test.run();
