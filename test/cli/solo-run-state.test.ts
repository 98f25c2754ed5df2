// `solo run` with state: kv kept between runs with --data, several requests from standard input
// against one instance (one answer line each, --json one object each), and what a guest built
// before costs (no compiler) without changing what it answers. Run as a user runs it.
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { solo as soloIn } from "./spawn.ts";

const cwd = mkdtempSync(join(tmpdir(), "solo-run-state-"));
const env = { XDG_CACHE_HOME: join(TEST_CACHE, "xdg") };
const solo = (args: string[], input?: string) => soloIn(args, { cwd, env, ...(input !== undefined && { input }) });
const COUNTER = join(ROOT, "examples", "counter.as.ts");
const MOODY = join(ROOT, "test", "fixtures", "moody.as.ts");
const WRITER = join(ROOT, "test", "fixtures", "write-then-fail.as.ts");
const jsonLines = (stdout: string) => stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, any>);

test("solo run --data DIR keeps kv between runs; without it, or with another DIR, kv starts empty", async () => {
  const data = join(cwd, "state");
  const other = join(cwd, "other");
  const first = await solo(["run", COUNTER, "--data", data, "--input", "x"]);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout, "1\n");
  const second = await solo(["run", COUNTER, "--data", data, "--input", "x"]);
  assert.is(second.stdout, "2\n", second.stderr);
  const [fresh, elsewhere] = await Promise.all([solo(["run", COUNTER, "--input", "x"]), solo(["run", COUNTER, "--data", other, "--input", "x"])]);
  assert.is(fresh.stdout, "1\n", fresh.stderr);
  assert.is(elsewhere.stdout, "1\n", elsewhere.stderr);
  // Its own RocksDB under DIR/run: DIR may be a server's data directory without touching its state.
  assert.ok(existsSync(join(data, "run", "CURRENT")));
  const third = await solo(["run", COUNTER, "--data", data, "--input", "x"]);
  assert.is(third.stdout, "3\n", third.stderr);
});

test("a failed request's kv writes are not kept with --data", async () => {
  const data = join(cwd, "writer");
  const r = await solo(["run", WRITER, "--data", data], "a\nfail\ntrap\n");
  assert.is(r.code, 1);
  assert.is(r.stdout, "kept\n\n\n", r.stderr);
  assert.match(r.stderr, /^GUEST_ERROR: failed after writing$/m);
  assert.match(r.stderr, /^GUEST_TRAP: /m);
  const list = await solo(["run", WRITER, "--data", data, "--input", "list"]);
  assert.is(list.stdout, "a\n", list.stderr);
});

test("requests from standard input run in order against one instance, one output line each", async () => {
  const [piped, flagged, none] = await Promise.all([
    solo(["run", COUNTER], "a\nb\nc\n"),
    solo(["run", MOODY, "--stdin"], "x\r\ny\nz"),
    solo(["run", COUNTER], ""),
  ]);
  assert.is(piped.code, 0, piped.stderr);
  assert.is(piped.stdout, "1\n2\n3\n");
  assert.match(piped.stderr, /\[debug\] count is now 1\n\[debug\] count is now 2\n\[debug\] count is now 3\n/);
  // One instance: its own global counts every call (a last line without a newline counts too).
  assert.is(flagged.code, 0, flagged.stderr);
  assert.is(flagged.stdout, "call 1\ncall 2\ncall 3\n");
  // No lines: one empty request.
  assert.is(none.stdout, "1\n", none.stderr);
});

test("--json prints one object per line of standard input; a failure is its own line and the run exits 1", async () => {
  const r = await solo(["run", MOODY, "--json"], "a\nfail\nb\ntrap\nc\n");
  assert.is(r.code, 1, r.stderr);
  const lines = jsonLines(r.stdout);
  assert.is(lines.length, 5);
  assert.is(lines[0]!.output, "call 1");
  assert.type(lines[0]!.fuel, "number");
  assert.is(lines[1]!.error.code, "GUEST_ERROR");
  assert.is(lines[1]!.error.message, "you asked me to fail");
  assert.is(lines[2]!.output, "call 3");
  assert.is(lines[3]!.error.code, "GUEST_TRAP");
  // The trap dropped the instance: the next request runs on a new one.
  assert.is(lines[4]!.output, "call 1");
});

test("--input with --stdin is a usage error (exit 2)", async () => {
  const r = await solo(["run", COUNTER, "--stdin", "--input", "x"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--stdin reads the requests from standard input/);
});

test("--deadline stops a guest that runs past it: DEADLINE_EXCEEDED, exit 1", async () => {
  const r = await solo(["run", join(ROOT, "test", "fixtures", "loop.as.ts"), "--fuel", "10000000000", "--deadline", "200", "--json"]);
  assert.is(r.code, 1, r.stderr);
  assert.is(JSON.parse(r.stdout).error.code, "DEADLINE_EXCEEDED");
});

test("a TypeScript guest built before runs again from the build cache with the same answer", async () => {
  const file = join(ROOT, "examples", "echo.ts");
  const first = await solo(["run", file, "--input", "hi", "--json"]);
  assert.is(first.code, 0, first.stdout + first.stderr);
  const again = await solo(["run", file, "--input", "hi", "--json"]);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.equal(JSON.parse(again.stdout), JSON.parse(first.stdout));
  assert.is(JSON.parse(again.stdout).output, "hi");
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));

test.run();
