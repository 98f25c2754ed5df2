import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";

const cwd = mkdtempSync(join(tmpdir(), "solo-cli-"));
const SOLO = join(ROOT, "bin", "solo.mjs");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Each `solo run` is a process with its own host and builder process, and spends most of its
// ~5 s waiting on them: the runs below start together at load, at most RUNNING at a time, and
// each test awaits its own. Every run keeps its own stdout, stderr and exit code.
const RUNNING = 3;
let running = 0;
const waiting: (() => void)[] = [];

function solo(...args: string[]): Promise<Result> {
  return new Promise<void>((resolve) => (running < RUNNING ? (running++, resolve()) : waiting.push(resolve))).then(
    () =>
      new Promise<Result>((resolve, reject) => {
        const child = spawn(process.execPath, [SOLO, ...args], { cwd, env: { ...process.env, XDG_CACHE_HOME: join(TEST_CACHE, "xdg") } });
        // No request given and standard input not a terminal: solo run reads requests from it
        // until it ends (none: one empty request).
        child.stdin.end();
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => {
          const next = waiting.shift();
          if (next) next();
          else running--;
          resolve({ code, stdout, stderr });
        });
      }),
  );
}

writeFileSync(join(cwd, "in.txt"), "from a file");
writeFileSync(join(cwd, "bad.as.ts"), "export function handle(r: string): string {\n  return 1;\n}\n");
const runs = {
  asJson: solo("run", join(ROOT, "examples", "echo.as.ts"), "--input", "hi", "--json"),
  tsJson: solo("run", join(ROOT, "examples", "echo.ts"), "--input", "hi", "--json"),
  inputFile: solo("run", join(ROOT, "examples", "echo.as.ts"), "--input-file", join(cwd, "in.txt")),
  counter: solo("run", join(ROOT, "examples", "counter.as.ts")),
  badPlain: solo("run", join(cwd, "bad.as.ts")),
  badJson: solo("run", join(cwd, "bad.as.ts"), "--json"),
  fuel: solo("run", join(ROOT, "test", "fixtures", "loop.as.ts"), "--fuel", "100000", "--json"),
};

test("solo run --json prints one JSON line with output, fuel and memoryBytes", async () => {
  const r = await runs.asJson;
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1);
  const out = JSON.parse(lines[0]!);
  assert.is(out.output, "hi");
  assert.type(out.fuel, "number");
  assert.type(out.memoryBytes, "number");
  await Promise.all(Object.values(runs));
  assert.not.ok(existsSync(join(cwd, "data")), "solo run never creates ./data");
});

test("solo run works on TypeScript too: examples/echo.ts --input hi --json", async () => {
  const r = await runs.tsJson;
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.is(out.output, "hi");
  assert.ok(out.fuel > 0);
});

test("solo run prints the output on stdout and guest logs on stderr; --input-file works", async () => {
  const r = await runs.inputFile;
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "from a file\n");
  const c = await runs.counter;
  assert.is(c.stdout, "1\n");
  assert.match(c.stderr, /\[debug\] count is now 1/);
});

test("a Solo error exits 1: CODE: message on stderr, or a JSON error line", async () => {
  const plain = await runs.badPlain;
  assert.is(plain.code, 1);
  assert.match(plain.stderr, /^COMPILE_ERROR: .*bad\.as\.ts:2:10/m);
  const json = await runs.badJson;
  assert.is(json.code, 1);
  const out = JSON.parse(json.stdout.trim());
  assert.is(out.error.code, "COMPILE_ERROR");
  assert.is(out.error.details.diagnostics[0].line, 2);
  const fuel = await runs.fuel;
  assert.is(fuel.code, 1);
  assert.is(JSON.parse(fuel.stdout).error.code, "FUEL_EXHAUSTED");
});

test("usage errors exit 2 with the command's help on stderr; --help prints the defaults and exit codes", async () => {
  const none = await solo("run");
  assert.is(none.code, 2);
  assert.match(none.stderr, /Usage: solo run/);
  const fuel = await solo("run", "x.as.ts", "--fuel", "lots");
  assert.is(fuel.code, 2);
  assert.match(fuel.stderr, /--fuel must be a positive whole number/);
  assert.is((await solo("run", "x.unknown")).code, 2);
  assert.is((await solo("frobnicate")).code, 2);
  const help = await solo("run", "--help");
  assert.is(help.code, 0);
  assert.match(help.stdout, /--fuel 1000000000/);
  assert.match(help.stdout, /--memory 33554432/);
  assert.match(help.stdout, /2 +a usage error/);
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));

test.run();
