// The edge limits of the HTTPS listener: a per-connection request rate, an idle timeout, plain
// HTTP only on loopback, and a shutdown that lets requests in flight finish.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/host.ts";
import { ensureCertificates } from "../../host/api/certs.ts";
import { DEFAULT_EDGE_LIMITS } from "../../host/api/edge-limits.ts";
import { startHttp } from "../../host/api/http-server.ts";
import { WsClient } from "../../host/client/ws-client.ts";
import { rejects, test, TEST_CACHE } from "../helpers.ts";
import { httpJson, openHttpServer, rawSocket } from "./ws-helpers.ts";

test("a socket over its request rate gets RESOURCE_EXHAUSTED for the excess, then is served again", async () => {
  const t = await openHttpServer({ limits: { requestsPerSecond: 5 } });
  try {
    const s = await rawSocket(t, t.adminToken);
    for (let i = 1; i <= 30; i++) s.send(JSON.stringify({ jsonrpc: "2.0", id: i, method: "List", params: { tenant: "a" } }));
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await s.next());
    const refused = answers.filter((a) => a.error);
    assert.ok(refused.length >= 1, "some of a burst of 30 are refused");
    assert.ok(answers.filter((a) => a.result).length >= 5, "the first 5 are served");
    assert.is(refused[0].error.data.code, "RESOURCE_EXHAUSTED");
    assert.is(refused[0].error.data.details.reason, "rate");
    // Another connection has its own budget.
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    assert.equal(await c.list("a"), []);
    await c.close();
    s.close();
  } finally {
    await t.close();
  }
});

test("an idle socket is closed; one with an open subscription is not", async () => {
  const t = await openHttpServer({ limits: { idleTimeoutMs: 200 } });
  try {
    const idle = await rawSocket(t, t.adminToken);
    const following = await rawSocket(t, t.adminToken);
    following.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Events", params: { tenant: "a", follow: true } }));
    const sub = (await following.next()).result.subscription;
    assert.is(await idle.closed, 1000);
    // The follower outlived the idle one and still gets its events.
    await t.host.session(t.adminToken).setQuotas("a", { services: 7 });
    const f = await following.next();
    assert.is(f.params.subscription, sub);
    assert.is(f.params.event.type, "quota_changed");
    following.close();
  } finally {
    await t.close();
  }
});

test("plain HTTP is refused on a non-loopback address and served on loopback", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-ws-insecure-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
  try {
    const tls = await ensureCertificates(dataDir);
    await rejects(startHttp({ host, address: "0.0.0.0:0", tls, limits: DEFAULT_EDGE_LIMITS, insecure: true }), "INVALID_ARGUMENT");
    await rejects(startHttp({ host, address: "nonsense", tls, limits: DEFAULT_EDGE_LIMITS }), "INVALID_ARGUMENT");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const t = await openHttpServer({ insecure: true });
  try {
    assert.match(t.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await httpJson(t, "GET", "/healthz")).body, { ok: true });
    const c = await WsClient.connect({ url: t.url, token: t.adminToken });
    assert.equal(await c.list("a"), []);
    await c.close();
  } finally {
    await t.close();
  }
});

test.run();
