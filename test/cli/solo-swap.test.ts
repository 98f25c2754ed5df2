// The hot swap verbs against one real `solo start`: deploy → swap → versions → rollback, what a
// user sees on stdout, stderr and in the exit code, and a swap that fails (exit 1, the error).
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { solo as soloIn, startSolo, type Started } from "./spawn.ts";

const dataDir = mkdtempSync(join(tmpdir(), "solo-swap-"));
const COUNTER = join(ROOT, "examples", "counter.as.ts");
const V2 = join(dataDir, "counter-v2.as.ts");
const BAD = join(dataDir, "counter-bad.as.ts");
let server: Started;
let env: Record<string, string>;
const solo = (...args: string[]) => soloIn(args, { env });
function json(stdout: string) {
  try {
    return JSON.parse(stdout.trim());
  } catch {
    throw new Error(`stdout is not one JSON value: ${JSON.stringify(stdout)}`);
  }
}

test.before(async () => {
  writeFileSync(V2, readFileSync(COUNTER, "utf8").replace("return next.toString();", 'return "v2:" + next.toString();'));
  writeFileSync(BAD, "export function handle(r: string): string {\n  return 1;\n}\n");
  server = await startSolo(["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE]);
  env = { SOLO_SERVER: server.ready.grpc, SOLO_DATA: dataDir, SOLO_TOKEN: "" };
});

test("deploy → swap → versions → rollback with --json: kv kept, each answer as one JSON line, exit 0", async () => {
  const d = await solo("deploy", COUNTER, "--tenant", "demo", "--service", "ctr", "--json");
  assert.is(d.code, 0, d.stderr);
  assert.is((await solo("call", "demo", "ctr", "+")).stdout, "1\n");

  const before = Date.now();
  const s = await solo("swap", "demo", "ctr", V2, "--rollback-window", "2m", "--max-failure-rate", "0.5", "--health-request", "reset", "--health-expect", "0", "--json");
  assert.is(s.code, 0, s.stderr);
  const swapped = json(s.stdout);
  assert.is(swapped.version, 2);
  assert.is(swapped.previousVersion, 1);
  assert.ok(swapped.rollbackUntil >= before + 120_000, "--rollback-window 2m reached the server");
  // The health check's kv writes are not kept: the count goes on from 1.
  const [c2, v, st, plain] = await Promise.all([solo("call", "demo", "ctr", "+"), solo("versions", "demo", "ctr", "--json"), solo("status", "demo", "ctr", "--json"), solo("status", "demo", "ctr")]);
  assert.is(c2.stdout, "v2:2\n");
  assert.is(v.code, 0, v.stderr);
  assert.equal(json(v.stdout).map((x: { version: number; via: string; current: boolean }) => [x.version, x.via, x.current]), [[1, "deploy", false], [2, "swap", true]]);
  assert.is(st.code, 0, st.stderr);
  assert.is(json(st.stdout).previousVersion, 1);
  assert.is(json(st.stdout).rollbackWindow.previousVersion, 1);
  assert.match(plain.stdout, /^ {2}previous version 1$/m);
  assert.match(plain.stdout, /^ {2}rollback window open until .*back to version 1 by itself/m);

  const r = await solo("rollback", "demo", "ctr", "--json");
  assert.is(r.code, 0, r.stderr);
  assert.is(json(r.stdout).version, 1);
  assert.is(json(r.stdout).previousVersion, 2);
  assert.is((await solo("call", "demo", "ctr", "+")).stdout, "3\n", "the old code, the count kept");

  // Without --json: one line per fact.
  const again = await solo("swap", "demo", "ctr", V2);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /^swapped demo\/ctr to version 3 \(from 1\) in \d+\.\d ms; rolls back by itself until \d\d:\d\d:\d\d if it fails\n$/);
  const back = await solo("rollback", "demo", "ctr", "1");
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stdout, /^rolled back demo\/ctr to version 1 \(from 3\) in \d+\.\d ms\n$/);
  const list = await solo("versions", "demo", "ctr");
  assert.equal(list.stdout.trim().split("\n").map((l) => l.slice(0, 4)), ["* v1", "  v2", "  v3"]);
});

test("a swap that does not compile: exit 1 with {\"error\":{...}}, version 1 serves on; bad flag values exit 2 with help", async () => {
  // Flags are checked before anything reaches the server: these run beside the swap.
  const [j, window, rate, health, version] = await Promise.all([
    solo("swap", "demo", "ctr", BAD, "--json"),
    solo("swap", "demo", "ctr", V2, "--rollback-window", "soon"),
    solo("swap", "demo", "ctr", V2, "--max-failure-rate", "1.5"),
    solo("swap", "demo", "ctr", V2, "--health-request", "+"),
    solo("rollback", "demo", "ctr", "two"),
  ]);
  assert.is(j.code, 1);
  assert.is(j.stderr, "");
  const e = json(j.stdout).error;
  assert.is(e.code, "COMPILE_ERROR");
  assert.is(e.details.diagnostics[0].file, "counter-bad.as.ts");
  assert.is(e.details.diagnostics[0].line, 2);
  assert.is(window.code, 2);
  assert.match(window.stderr, /--rollback-window must be a duration/);
  assert.match(window.stderr, /Usage: solo swap/);
  assert.is(rate.code, 2, rate.stderr);
  assert.match(rate.stderr, /--max-failure-rate must be a number from 0/);
  assert.is(health.code, 2, "--health-request needs --health-expect");
  assert.is(version.code, 2);

  // --health-request and --health-expect reach the server: a reply that does not match stops the swap.
  const sick = await solo("swap", "demo", "ctr", V2, "--health-request", "reset", "--health-expect", "1", "--json");
  assert.is(sick.code, 1);
  assert.is(json(sick.stdout).error.code, "GUEST_ERROR");
  assert.is(json(sick.stdout).error.details.phase, "health");
  const [c, missing] = await Promise.all([solo("call", "demo", "ctr", "+"), solo("rollback", "demo", "ctr", "9", "--json")]);
  assert.is(c.stdout, "4\n", "still version 1, count kept");
  assert.is(missing.code, 1);
  assert.is(json(missing.stdout).error.code, "NOT_FOUND");
});

test("replace kills and deploys afresh (the new code, an empty kv); --rollback-window 0 opens no window", async () => {
  const rep = await solo("replace", V2, "--tenant", "demo", "--service", "ctr", "--json");
  assert.is(rep.code, 0, rep.stderr);
  assert.is(json(rep.stdout).version, 1);
  assert.is((await solo("call", "demo", "ctr", "+")).stdout, "v2:1\n");
  const s = await solo("swap", "demo", "ctr", COUNTER, "--rollback-window", "0", "--json");
  assert.is(s.code, 0, s.stderr);
  assert.is(json(s.stdout).version, 2);
  assert.is(json(s.stdout).rollbackUntil, undefined);
  assert.is((await solo("call", "demo", "ctr", "+")).stdout, "2\n");
});

test.after(async () => {
  if (server) assert.is(await server.stop(), 0);
  rmSync(dataDir, { recursive: true, force: true });
});

test.run();
