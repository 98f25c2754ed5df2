// `solo audit` against a real `solo start`: exit 0 when healthy, 3 when degraded, 4 when failing
// (1 stays "a Solo error", 2 "usage"); --json prints the report; the human form names each
// component. `--metrics-port 0` serves /metrics on loopback and the ready line says where.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RocksLevel } from "@nxtedition/rocksdb";
import { TEST_CACHE, test } from "../helpers.ts";
import { solo as soloIn, startSolo, type Started } from "../cli/spawn.ts";
import { get, parsePrometheus } from "./prometheus.ts";

const dataDir = mkdtempSync(join(tmpdir(), "solo-audit-cli-"));
const args = ["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE, "--metrics-port", "0"];
let server: Started | undefined;
let env: Record<string, string>;
const solo = (...a: string[]) => soloIn(a, { env });

async function start() {
  server = await startSolo(args);
  env = { SOLO_SERVER: server.ready.grpc, SOLO_DATA: dataDir, SOLO_TOKEN: "" };
}

test.after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("healthy: exit 0, the report as JSON with --json", async () => {
  await start();
  const j = await solo("audit", "--json");
  assert.is(j.code, 0, j.stderr + j.stdout);
  const r = JSON.parse(j.stdout);
  assert.is(r.status, "healthy");
  assert.is(r.components.certificates.status, "healthy");
  assert.ok((r.components.certificates.details.checked as unknown[]).length >= 3, "ca, server and admin certificates are checked");
  assert.is(r.components.events.details.full, true);
});

test("the ready line names the loopback metrics port, which serves /metrics without a token", async () => {
  const ready = server!.ready as { metrics?: string };
  assert.match(String(ready.metrics), /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await get(`${ready.metrics}/metrics`);
  assert.is(r.status, 200);
  assert.ok(parsePrometheus(r.body).value("solo_workers") === 1);
});

test("degraded: a token expiring within 24 h makes exit 3", async () => {
  const g = await solo("token", "grant", "--tenant", "acme", "--permissions", "read", "--ttl", "2h", "--json");
  assert.is(g.code, 0, g.stderr);
  const j = await solo("audit", "--json");
  assert.is(j.code, 3, j.stderr);
  const r = JSON.parse(j.stdout);
  assert.is(r.status, "degraded");
  assert.is(r.components.tokens.status, "degraded");
  assert.is(r.components.tokens.details.expiringSoon[0].id, JSON.parse(g.stdout).id);
});

test("failing: a tampered event chain makes exit 4 after a restart, the human form worst first; a usage error is still 2", async () => {
  await server!.stop();
  server = undefined;
  const db = new RocksLevel(join(dataDir, "db"), { keyEncoding: "utf8", valueEncoding: "utf8" }) as any;
  await db.open();
  const [key, value] = ((await db.iterator({ gte: "b:", lt: "b:~", limit: 1 }).all()) as [string, string][])[0]!;
  await db.put(key, value.replace('"type":"', '"type":"x'));
  await db.close();
  await start();
  const h = await solo("audit");
  assert.is(h.code, 4, h.stderr);
  // Worst first: the failing chain, then the token still expiring, then the healthy rest.
  assert.match(h.stdout, /^failing \(.*\n  events +failing +the event chain is broken at .*\n  tokens +degraded +1 token/);
  for (const c of ["storage", "workers", "tenants", "services", "certificates"]) assert.match(h.stdout, new RegExp(`\\n  ${c} +healthy `));
  const u = await solo("audit", "--nope");
  assert.is(u.code, 2);
});

test.run();
