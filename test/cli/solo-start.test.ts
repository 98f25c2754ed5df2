import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_CACHE, test } from "../helpers.ts";
import { solo, startSolo } from "./spawn.ts";

const dataDir = mkdtempSync(join(tmpdir(), "solo-start-"));
const ARGS = ["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE];
const mode = (p: string) => statSync(p).mode & 0o777;

test("solo start prints one ready line once both listeners listen, makes certificates and a 0600 admin token, and exits 0 on SIGTERM", async () => {
  const s = await startSolo(ARGS);
  assert.is(s.ready.ready, true);
  assert.match(s.ready.grpc, /^127\.0\.0\.1:\d+$/);
  assert.not.match(s.ready.grpc, /:0$/);
  assert.match(s.ready.http, /^https:\/\/127\.0\.0\.1:\d+/);
  assert.is(s.ready.dataDir, dataDir);
  for (const f of ["ca.pem", "server.pem", "admin.pem"]) assert.ok(statSync(join(dataDir, "tls", f)).isFile(), f);
  for (const f of ["ca-key.pem", "server-key.pem", "admin-key.pem"]) assert.is(mode(join(dataDir, "tls", f)), 0o600, f);
  assert.is(mode(join(dataDir, "admin.token")), 0o600);
  const token = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  assert.match(token, /^solo_/);
  assert.ok(s.stderr().includes(join(dataDir, "admin.token")), "stderr names the token's file");
  assert.is(await s.stop("SIGTERM"), 0);
  assert.is(s.stdout().split("\n").filter(Boolean).length, 1, "stdout is the ready line only");
  assert.not.ok(s.stderr().includes(token), "the token itself is never printed");
});

test("a restart on the same data directory keeps the admin token and the CA; SIGINT exits 0", async () => {
  const token = readFileSync(join(dataDir, "admin.token"), "utf8");
  const ca = readFileSync(join(dataDir, "tls", "ca.pem"), "utf8");
  const s = await startSolo(ARGS);
  assert.is(readFileSync(join(dataDir, "admin.token"), "utf8"), token);
  assert.is(readFileSync(join(dataDir, "tls", "ca.pem"), "utf8"), ca);
  assert.is(await s.stop("SIGINT"), 0);
});

test("SOLO_DATA, SOLO_GRPC, SOLO_HTTP, SOLO_WORKERS and SOLO_CALL_SPIN_MS stand in for the flags", async () => {
  const s = await startSolo(["--cache", TEST_CACHE], { SOLO_DATA: dataDir, SOLO_GRPC: "127.0.0.1:0", SOLO_HTTP: "127.0.0.1:0", SOLO_WORKERS: "1", SOLO_CALL_SPIN_MS: "0" });
  assert.is(s.ready.dataDir, dataDir);
  assert.match(s.ready.grpc, /^127\.0\.0\.1:\d+$/);
  assert.is(await s.stop(), 0);
});

test("bad flags exit 2 with start's help and open nothing", async () => {
  const bad = await solo(["start", "--data", dataDir, "--grpc", "nowhere"]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--grpc must be HOST:PORT/);
  assert.match(bad.stderr, /Usage: solo start/);
  assert.is(bad.stdout, "");
  const workers = await solo(["start", "--workers", "many"]);
  assert.is(workers.code, 2);
  for (const spin of ["fast", "5", "-1", ""]) {
    const r = await solo(["start", "--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--call-spin-ms", spin]);
    assert.is(r.code, 2, `--call-spin-ms ${JSON.stringify(spin)}`);
    assert.match(r.stderr, /--call-spin-ms must be a number of milliseconds from 0 to 0.5/);
    assert.is(r.stdout, "");
  }
  const fromEnv = await solo(["start", "--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"], { env: { SOLO_CALL_SPIN_MS: "9" } });
  assert.is(fromEnv.code, 2, "SOLO_CALL_SPIN_MS stands in for --call-spin-ms");
  assert.match(fromEnv.stderr, /--call-spin-ms must be/);
  const help = await solo(["start", "--help"]);
  assert.is(help.code, 0);
  assert.match(help.stdout, /SOLO_GRPC/);
  assert.match(help.stdout, /exit codes/);
});

test.after(() => rmSync(dataDir, { recursive: true, force: true }));

test.run();
