// The client verbs against one real `solo start` (spawned once for the file): what a user sees on
// stdout, stderr and in the exit code.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { SOLO, solo as soloIn, startSolo, type Started } from "./spawn.ts";

const dataDir = mkdtempSync(join(tmpdir(), "solo-client-"));
const ECHO = join(ROOT, "examples", "echo.ts");
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
  server = await startSolo(["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE, "--quota", "queuedCalls=5000"]);
  // The env stands in for --server and --data; the token defaults to DIR/admin.token.
  env = { SOLO_SERVER: server.ready.grpc, SOLO_DATA: dataDir, SOLO_TOKEN: "" };
});

test("deploy examples/echo.ts --tenant demo, then call demo echo hi prints hi", async () => {
  const d = await solo("deploy", ECHO, "--tenant", "demo");
  assert.is(d.code, 0, d.stderr);
  assert.match(d.stdout, /^deployed demo\/echo version 1 /);
  assert.not.match(d.stderr, /deploying/, "the progress line is for terminals only");
  const c = await solo("call", "demo", "echo", "hi");
  assert.is(c.code, 0, c.stderr);
  assert.is(c.stdout, "hi\n");
  assert.is(c.stderr, "", "nothing but the answer");
});

test("deploy flags reach the service: --service, --cap, --fuel, --memory, --description, --tag/--tags; --json answers the deploy result; discover --tag finds it", async () => {
  const d = await solo("deploy", ECHO, "--tenant", "demo", "--service", "narrow", "--cap", "log", "--fuel", "5000000", "--memory", "16777216", "--description", "a narrow echo", "--tag", "echoes", "--tags", "small,demo", "--json");
  assert.is(d.code, 0, d.stderr);
  const r = json(d.stdout);
  assert.is(r.service, "narrow");
  assert.equal(r.capabilities, ["log"]);
  assert.is(r.limits.fuel, 5_000_000);
  assert.is(r.limits.memoryBytes, 16_777_216);
  assert.equal([r.description, r.tags], ["a narrow echo", ["demo", "echoes", "small"]]);
  const f = await solo("discover", "demo", "--tag", "echoes", "--json");
  assert.is(f.code, 0, f.stderr);
  assert.equal(json(f.stdout), [{ tenant: "demo", service: "narrow", version: 1, language: "typescript", capabilities: ["log"], description: "a narrow echo", tags: ["demo", "echoes", "small"], state: "running" }]);
  const k = await solo("kill", "demo", "narrow");
  assert.is(k.code, 0, k.stderr);
  assert.is(k.stdout, "killed demo/narrow\n");
});

test("call --json prints what run --json prints; status, list and events answer as JSON", async () => {
  const [c, s, l, e] = await Promise.all([
    solo("call", "demo", "echo", "json please", "--json"),
    solo("status", "demo", "echo", "--json"),
    solo("list", "demo", "--json"),
    solo("events", "demo", "--json", "--type", "service_deployed", "--service", "echo"),
  ]);
  assert.is(c.code, 0, c.stderr);
  const reply = json(c.stdout);
  assert.equal(Object.keys(reply), ["output", "fuel", "memoryBytes"]);
  assert.is(reply.output, "json please");
  assert.ok(reply.fuel > 0);
  assert.is(s.code, 0, s.stderr);
  const status = json(s.stdout);
  assert.is(status.service, "echo");
  assert.is(status.state, "running");
  assert.is(status.language, "typescript");
  assert.is(l.code, 0, l.stderr);
  assert.equal(json(l.stdout).map((x: { service: string }) => x.service), ["echo"]);
  assert.is(e.code, 0, e.stderr);
  const events = e.stdout.trim().split("\n").map((x) => JSON.parse(x));
  assert.is(events.length, 1, "one JSON line per event");
  assert.is(events[0].type, "service_deployed");
  assert.is(events[0].service, "echo");
});

test("a source that does not compile: exit 1 with COMPILE_ERROR as JSON, or CODE: message and file:line:col", async () => {
  const bad = join(dataDir, "bad.as.ts");
  writeFileSync(bad, "export function handle(r: string): string {\n  return 1;\n}\n");
  const [j, plain] = await Promise.all([solo("deploy", bad, "--tenant", "demo", "--json"), solo("deploy", bad, "--tenant", "demo", "--service", "bad2")]);
  assert.is(j.code, 1);
  const err = json(j.stdout).error;
  assert.is(err.code, "COMPILE_ERROR");
  assert.is(err.details.diagnostics[0].line, 2);
  assert.is(plain.code, 1);
  assert.is(plain.stdout, "");
  assert.match(plain.stderr, /^COMPILE_ERROR: .*bad\.as\.ts:2:10/m);
});

test("token grant --json gives a token that may call but not kill (PERMISSION_DENIED, exit 1); attenuate and revoke narrow it", async () => {
  const before = Date.now();
  const g = await solo("token", "grant", "--tenant", "demo", "--permissions", "call,read", "--ttl", "10m", "--json");
  const after = Date.now();
  assert.is(g.code, 0, g.stderr);
  const granted = json(g.stdout);
  assert.equal(Object.keys(granted).sort(), ["expiresAt", "id", "token"]);
  assert.ok(granted.expiresAt >= before + 600_000 && granted.expiresAt <= after + 600_000, "--ttl 10m: ten minutes from the grant");
  const withToken = (...args: string[]) => soloIn(args, { env: { ...env, SOLO_TOKEN: granted.token } });
  const [c, k] = await Promise.all([withToken("call", "demo", "echo", "as demo"), withToken("kill", "demo", "echo", "--json")]);
  assert.is(c.code, 0, c.stderr);
  assert.is(c.stdout, "as demo\n");
  assert.is(k.code, 1);
  assert.is(json(k.stdout).error.code, "PERMISSION_DENIED");
  assert.is(json(k.stdout).error.details.need, "kill");

  // Offline: a read-only token from it, made without the server, may not call.
  const a = await solo("token", "attenuate", granted.token, "--permissions", "read", "--json");
  assert.is(a.code, 0, a.stderr);
  const readOnly = json(a.stdout).token;
  const denied = await soloIn(["call", "demo", "echo", "x"], { env: { ...env, SOLO_TOKEN: readOnly } });
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /^PERMISSION_DENIED: /);

  const r = await solo("token", "revoke", granted.id, "--json");
  assert.is(r.code, 0, r.stderr);
  assert.is(json(r.stdout).id, granted.id);
  const revoked = await withToken("call", "demo", "echo", "x", "--json");
  assert.is(revoked.code, 1);
  assert.is(json(revoked.stdout).error.code, "UNAUTHENTICATED");
});

test("certs issue NAME prints two paths (key 0600) that work as --cert/--key", async () => {
  const issued = await solo("certs", "issue", "bot");
  assert.is(issued.code, 0, issued.stderr);
  const [cert, key] = issued.stdout.trim().split("\n");
  assert.is(cert, join(dataDir, "tls", "bot.pem"));
  assert.is(key, join(dataDir, "tls", "bot-key.pem"));
  assert.is(statSync(key!).mode & 0o777, 0o600);
  const c = await solo("call", "demo", "echo", "as bot", "--cert", cert!, "--key", key!);
  assert.is(c.code, 0, c.stderr);
  assert.is(c.stdout, "as bot\n");
});

test("events --follow --after ID prints later events as JSON lines until Ctrl-C, then exits 0", async () => {
  // Resuming after the last stored event: the kill's event comes through whether the stream
  // opens before or after the kill.
  const stored = await solo("events", "demo", "--json");
  assert.is(stored.code, 0, stored.stderr);
  const last = JSON.parse(stored.stdout.trim().split("\n").at(-1)!).id as string;
  const child = spawn(process.execPath, [SOLO, "events", "demo", "--follow", "--json", "--after", last, "--type", "service_killed"], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const firstLine = new Promise<void>((resolve) => child.stdout.setEncoding("utf8").on("data", (d: string) => ((out += d), out.includes("\n") && resolve())));
  const k = await solo("kill", "demo", "echo", "--json");
  assert.is(k.code, 0, k.stderr);
  assert.equal(json(k.stdout), { tenant: "demo", service: "echo", killed: true });
  await firstLine;
  const e = JSON.parse(out.split("\n")[0]!);
  assert.is(e.type, "service_killed");
  assert.is(e.service, "echo");
  child.kill("SIGINT");
  assert.is(await exited, 0);
  const gone = await solo("status", "demo", "echo", "--json");
  assert.is(gone.code, 1);
  assert.is(json(gone.stdout).error.code, "NOT_FOUND");
});

test("start --quota sets every tenant's default; quota T name=value sets one tenant's; a deploy past it is RESOURCE_EXHAUSTED", async () => {
  const u = await solo("usage", "quotas", "--json");
  assert.is(u.code, 0, u.stderr);
  assert.is(json(u.stdout).quotas.queuedCalls.limit, 5000, "the --quota default");
  const q = await solo("quota", "quotas", "services=1", "--json");
  assert.is(q.code, 0, q.stderr);
  assert.is(json(q.stdout).quotas.services, 1);
  const first = await solo("deploy", ECHO, "--tenant", "quotas", "--service", "one");
  assert.is(first.code, 0, first.stderr);
  const second = await solo("deploy", ECHO, "--tenant", "quotas", "--service", "two", "--json");
  assert.is(second.code, 1);
  const e = json(second.stdout).error;
  assert.is(e.code, "RESOURCE_EXHAUSTED");
  assert.is(e.details.quota, "services");
  assert.is((await solo("quota", "quotas", "services=lots")).code, 2, "a bad pair is a usage error");
  assert.is((await solo("kill", "quotas", "one")).code, 0);
});

test("no server at --server: UNAVAILABLE, exit 1; a bad flag: exit 2 with the command's help", async () => {
  const down = await soloIn(["list", "demo", "--json", "--server", "127.0.0.1:1"], { env });
  assert.is(down.code, 1);
  assert.is(json(down.stdout).error.code, "UNAVAILABLE");
  const usage = await solo("token", "grant", "--tenant", "demo", "--permissions", "call", "--ttl", "soon");
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /--ttl must be a duration/);
  assert.match(usage.stderr, /Usage: solo token grant/);
  assert.is((await solo("deploy", ECHO)).code, 2, "--tenant is required");
});

test.after(async () => {
  if (server) assert.is(await server.stop(), 0);
  rmSync(dataDir, { recursive: true, force: true });
});

test.run();
