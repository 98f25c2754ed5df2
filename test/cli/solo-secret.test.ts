// `solo secret put|ls|rm|get` against one real `solo start`: what a user sees on stdout, stderr and
// in the exit code; a value is printed only by an admin's `get`.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_CACHE, test } from "../helpers.ts";
import { solo as soloIn, startSolo, type Started } from "./spawn.ts";

const dataDir = mkdtempSync(join(tmpdir(), "solo-secret-"));
let server: Started;
let env: Record<string, string>;
const solo = (args: string[], input?: string, extra: Record<string, string> = {}) => soloIn(args, { env: { ...env, ...extra }, input });
const json = (stdout: string) => JSON.parse(stdout.trim());

test.before(async () => {
  server = await startSolo(["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE]);
  env = { SOLO_SERVER: server.ready.grpc, SOLO_DATA: dataDir, SOLO_TOKEN: "" };
});

test.after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("put from stdin and with --value, ls, get (admin) prints it, rm; no other verb prints a value", async () => {
  const [put, putJson] = await Promise.all([
    solo(["secret", "put", "demo", "db"], "stdin-value-1\n"),
    solo(["secret", "put", "demo", "api", "--value", "flag-value-2", "--json"]),
  ]);
  assert.is(put.code, 0, put.stderr);
  assert.is(put.stdout, "stored demo/db version 1\n");
  assert.is(putJson.code, 0, putJson.stderr);
  const info = json(putJson.stdout);
  assert.equal(Object.keys(info).sort(), ["createdAt", "name", "tenant", "updatedAt", "version"]);
  assert.equal([info.tenant, info.name, info.version], ["demo", "api", 1]);

  const [ls, lsJson, get] = await Promise.all([
    solo(["secret", "ls", "demo"]),
    solo(["secret", "ls", "demo", "--json"]),
    solo(["secret", "get", "demo", "db"]),
  ]);
  assert.is(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^api\tv1\tupdated \S+\ndb\tv1\tupdated \S+\n$/);
  assert.equal(json(lsJson.stdout).map((s: { name: string }) => s.name), ["api", "db"]);
  assert.is(get.code, 0, get.stderr);
  assert.is(get.stdout, "stdin-value-1", "one trailing newline of stdin dropped; printed as it is");

  const [rm, rmAgain] = [await solo(["secret", "rm", "demo", "db", "--json"]), await solo(["secret", "rm", "demo", "db"])];
  assert.is(rm.code, 0, rm.stderr);
  assert.equal(json(rm.stdout), { tenant: "demo", name: "db", version: 1, removed: true });
  assert.is(rmAgain.code, 1);
  assert.match(rmAgain.stderr, /^NOT_FOUND: no secret db in tenant demo/);

  for (const r of [put, putJson, ls, lsJson, rm, rmAgain]) {
    assert.not.match(r.stdout + r.stderr, "stdin-value-1");
    assert.not.match(r.stdout + r.stderr, "flag-value-2");
  }
});

test("a token without `secrets` gets PERMISSION_DENIED (exit 1, JSON with --json); without --value and with nothing on stdin, an empty value is refused", async () => {
  const g = await solo(["token", "grant", "--tenant", "demo", "--permissions", "read", "--json"]);
  assert.is(g.code, 0, g.stderr);
  const [ls, empty] = await Promise.all([
    solo(["secret", "ls", "demo", "--json"], undefined, { SOLO_TOKEN: json(g.stdout).token }),
    solo(["secret", "put", "demo", "none"], ""),
  ]);
  assert.is(ls.code, 1);
  assert.is(json(ls.stdout).error.code, "PERMISSION_DENIED");
  assert.match(json(ls.stdout).error.message, /lacks the "secrets" permission/);
  assert.is(empty.code, 1);
  assert.match(empty.stderr, /^INVALID_ARGUMENT: a secret's value must not be empty/);
});

test.run();
