// GET /metrics on the real server (HTTPS, as `solo start` serves it): Prometheus text that holds
// the calls made (by tenant and code), their latency histograms, fuel, memory, queue depth,
// event-store batches and builds; refused without a token, or with one that lacks `read`; a
// tenant's read token sees its own series and the host-wide ones, never another tenant's. The
// scrapers' loopback port serves the same text without a token.
import * as assert from "uvu/assert";
import { example, fixture, rejects, test } from "../helpers.ts";
import { openServer, type TestServer } from "../net/server.ts";
import { get, labelValues, parsePrometheus } from "./prometheus.ts";

let s: TestServer;
const ECHO = example("echo.as.ts");

test.before(async () => {
  s = await openServer({ metricsPort: 0 });
  const host = s.server.host;
  await host.deploy({ tenant: "alpha", service: "echo", source: ECHO, language: "assemblyscript" });
  await host.deploy({ tenant: "beta", service: "echo", source: ECHO, language: "assemblyscript" });
  // Through sessions, as the API calls them: every call goes through Host.call.
  const admin = host.session(s.adminToken);
  for (let i = 0; i < 20; i++) await admin.call("alpha", "echo", `a${i}`);
  for (let i = 0; i < 5; i++) await admin.call("beta", "echo", `b${i}`);
  await admin.call("alpha", "missing", "x").catch(() => {});
  // Each way a call can end is counted once, under its code: answered, failed in the guest (an
  // answer that takes the slow path), refused before any worker (a request that is not a string).
  await host.deploy({ tenant: "gamma", service: "moody", source: fixture("moody.as.ts"), language: "assemblyscript" });
  await admin.call("gamma", "moody", "hello");
  await rejects(admin.call("gamma", "moody", "fail"), "GUEST_ERROR");
  await rejects(host.call("gamma", "moody", 42 as unknown as string), "INVALID_ARGUMENT");
});

test.after(async () => {
  await s?.close();
});

const metricsUrl = () => `${s.server.http}/metrics`;

test("an admin token gets Prometheus text holding calls by tenant and code, latencies, fuel, memory, queues, event batches and builds", async () => {
  const r = await get(metricsUrl(), { ca: s.ca, token: s.adminToken });
  assert.is(r.status, 200, r.body);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheus(r.body);
  assert.is(m.types.get("solo_calls_total"), "counter");
  assert.is(m.types.get("solo_call_duration_seconds"), "histogram");
  assert.is(m.value("solo_calls_total", { tenant: "alpha", code: "OK" }), 20);
  assert.is(m.value("solo_calls_total", { tenant: "beta", code: "OK" }), 5);
  assert.is(m.value("solo_calls_total", { tenant: "alpha", code: "NOT_FOUND" }), 1);
  assert.is(m.value("solo_call_duration_seconds_count", { tenant: "alpha" }), 21);
  assert.is(m.value("solo_call_duration_seconds_count", { tenant: "beta" }), 5);
  assert.is(m.value("solo_calls_total", { tenant: "gamma", code: "OK" }), 1);
  assert.is(m.value("solo_calls_total", { tenant: "gamma", code: "GUEST_ERROR" }), 1);
  assert.is(m.value("solo_calls_total", { tenant: "gamma", code: "INVALID_ARGUMENT" }), 1);
  assert.is(m.value("solo_call_duration_seconds_count", { tenant: "gamma" }), 3);
  assert.ok(m.value("solo_call_duration_seconds_sum", { tenant: "alpha" }) > 0);
  assert.ok(m.value("solo_call_fuel_total", { tenant: "alpha" }) > 0, "fuel is counted");
  assert.ok(m.value("solo_tenant_memory_bytes", { tenant: "alpha" }) >= 65536, "an instance has at least one page");
  assert.is(m.value("solo_queue_depth", { worker: "0" }), 0, "nothing queued once every call answered");
  assert.is(m.value("solo_services", { state: "running" }), 3);
  assert.is(m.value("solo_workers"), 1);
  assert.is(m.value("solo_circuit_breakers", { state: "open" }), 0);
  // Built by the builder, or read back from what it built before (the cache is shared by tests).
  assert.ok(m.value("solo_builds_total", { outcome: "ok" }) + m.value("solo_builds_total", { outcome: "cached" }) >= 1, "the first deploy was built");
  assert.ok(m.value("solo_build_duration_seconds_count") >= 1);
  // Deploys, grants and the admin token wrote events: batches and their sizes are measured.
  const batches = m.value("solo_event_append_seconds_count");
  assert.ok(batches >= 1, "event-store batches are measured");
  assert.ok(m.value("solo_event_batch_events_sum") >= batches, "each batch holds one event or more");
  assert.is(m.value("solo_worker_restarts_total"), 0);
  assert.ok(m.find("solo_process_resident_memory_bytes").length === 1, "process metrics are there too");
});

test("no token is refused with 401 UNAUTHENTICATED; a token without read with 403 PERMISSION_DENIED; POST with INVALID_ARGUMENT", async () => {
  const none = await get(metricsUrl(), { ca: s.ca });
  assert.is(none.status, 401);
  assert.is(JSON.parse(none.body).error.code, "UNAUTHENTICATED");
  const bad = await get(metricsUrl(), { ca: s.ca, token: "not-a-token" });
  assert.is(bad.status, 401);
  const { token: caller } = await s.server.host.grant({ tenant: "beta", permissions: ["call"], ttlMs: 3_600_000 });
  const denied = await get(metricsUrl(), { ca: s.ca, token: caller });
  assert.is(denied.status, 403);
  assert.is(JSON.parse(denied.body).error.code, "PERMISSION_DENIED");
  const post = await get(metricsUrl(), { ca: s.ca, token: s.adminToken, method: "POST" });
  assert.is(post.status, 400);
  assert.is(JSON.parse(post.body).error.code, "INVALID_ARGUMENT");
});

test("a tenant's read token sees its own series and the host-wide ones, never another tenant's", async () => {
  const { token } = await s.server.host.grant({ tenant: "beta", permissions: ["read"], ttlMs: 3_600_000 });
  const r = await get(metricsUrl(), { ca: s.ca, token });
  assert.is(r.status, 200, r.body);
  const m = parsePrometheus(r.body);
  assert.equal([...labelValues(m, "tenant")], ["beta"]);
  assert.is(m.value("solo_calls_total", { tenant: "beta", code: "OK" }), 5);
  assert.is(m.value("solo_workers"), 1, "host-wide figures stay");
});

test("the loopback scrapers' port serves the same text without a token, and nothing else", async () => {
  assert.ok(s.server.metrics?.startsWith("http://127.0.0.1:"), s.server.metrics);
  const r = await get(`${s.server.metrics}/metrics`);
  assert.is(r.status, 200);
  const m = parsePrometheus(r.body);
  assert.is(m.value("solo_calls_total", { tenant: "alpha", code: "OK" }), 20);
  const other = await get(`${s.server.metrics}/v1/List`);
  assert.is(other.status, 404);
  assert.is(JSON.parse(other.body).error.code, "NOT_FOUND");
});

test.run();
