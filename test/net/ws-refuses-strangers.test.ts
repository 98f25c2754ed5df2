// Over HTTPS and WebSocket a request without a live token is refused and changes nothing; a
// token never travels in the URL; a client certificate names the actor only when this server's
// CA signed it.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueClientCertificate, ensureCertificates } from "../../host/api/certs.ts";
import { readFileSync } from "node:fs";
import { WsClient } from "../../host/client/ws-client.ts";
import { example, rejects, test } from "../helpers.ts";
import { httpJson, openHttpServer } from "./ws-helpers.ts";

const echo = example("echo.as.ts");

test("a WebSocket without a token gets UNAUTHENTICATED on its first request, and for a bad Authenticate", async () => {
  const t = await openHttpServer();
  try {
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: "" });
    await rejects(c.deploy({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" }), "UNAUTHENTICATED");
    await rejects(c.list("a"), "UNAUTHENTICATED");
    await c.close();

    const b = await WsClient.connect({ url: t.url, ca: t.ca, token: "" });
    const e = await rejects(b.request("Authenticate", { token: "solo_not_a_token" }), "UNAUTHENTICATED");
    assert.ok(e.message.length > 0);
    await rejects(b.call("a", "echo", "x"), "UNAUTHENTICATED");
    // A good token by Authenticate (the browser way) then works on the same socket.
    const who = await b.request<{ admin: boolean }>("Authenticate", { token: t.adminToken }).catch((err) => err);
    // Authenticate comes before any other request: this socket already made some.
    assert.is(who.code, "INVALID_ARGUMENT");
    await b.close();

    const ok = await WsClient.connect({ url: t.url, ca: t.ca, token: "" });
    const me = await ok.request<{ admin: boolean; tokenId: string }>("Authenticate", { token: t.adminToken });
    assert.is(me.admin, true);
    assert.equal(await ok.list("a"), []);
    await ok.close();

    assert.equal(t.host.list("a"), []);
    const denied = [];
    for await (const ev of t.host.eventStore.stream({ type: "capability_denied" })) denied.push(ev);
    assert.ok(denied.length >= 2, `refusals are recorded: ${denied.length}`);
  } finally {
    await t.close();
  }
});

test("a token in the URL is refused before the upgrade", async () => {
  const t = await openHttpServer();
  try {
    const e = await rejects(WsClient.connect({ url: `${t.url.replace("https", "wss")}/v1/ws?token=${t.adminToken}`, ca: t.ca, token: "" }), "INVALID_ARGUMENT");
    assert.match(e.message, /URL/);
    // Also with the right header: a token in the URL is never accepted.
    await rejects(WsClient.connect({ url: `${t.url.replace("https", "wss")}/v1/ws?token=x`, ca: t.ca, token: t.adminToken }), "INVALID_ARGUMENT");
    const rest = await httpJson(t, "POST", `/v1/List?token=${t.adminToken}`, JSON.stringify({ tenant: "a" }));
    assert.is(rest.status, 400);
    assert.is(rest.body.error.code, "INVALID_ARGUMENT");
  } finally {
    await t.close();
  }
});

test("a tenant's token on another tenant gets PERMISSION_DENIED and nothing changes", async () => {
  const t = await openHttpServer();
  try {
    const admin = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const g = await admin.grant({ tenant: "a", permissions: ["deploy", "call", "read"], ttlMs: 60_000 });
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: g.token });
    await rejects(c.deploy({ tenant: "b", service: "echo", source: echo, language: "assemblyscript" }), "PERMISSION_DENIED");
    await rejects(c.list("b"), "PERMISSION_DENIED");
    await rejects(c.setQuotas("a", { services: 1 }), "PERMISSION_DENIED");
    const stream = c.events({ tenant: "b" });
    await rejects(stream[Symbol.asyncIterator]().next(), "PERMISSION_DENIED");
    assert.equal(await admin.list("b"), []);
    // Its own tenant works.
    await c.deploy({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" });
    assert.is((await c.call("a", "echo", "hi")).output, "hi");
    await c.close();
    await admin.close();
  } finally {
    await t.close();
  }
});

test("HTTPS REST with no token answers 401 with the error body", async () => {
  const t = await openHttpServer();
  try {
    const r = await httpJson(t, "POST", "/v1/Deploy", JSON.stringify({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" }));
    assert.is(r.status, 401);
    assert.is(r.body.error.code, "UNAUTHENTICATED");
    assert.type(r.body.error.message, "string");
    const bad = await httpJson(t, "POST", "/v1/List", JSON.stringify({ tenant: "a" }), { authorization: "Bearer nope" });
    assert.is(bad.status, 401);
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

test("a client certificate names the actor only when this server's CA signed it", async () => {
  const t = await openHttpServer();
  const otherDir = mkdtempSync(join(tmpdir(), "solo-other-ca-"));
  try {
    await ensureCertificates(otherDir);
    const mallory = await issueClientCertificate(otherDir, "mallory");
    const alice = await issueClientCertificate(t.dataDir, "alice");

    const m = await WsClient.connect({ url: t.url, ca: t.ca, cert: readFileSync(mallory.cert), key: readFileSync(mallory.key), token: t.adminToken });
    await m.deploy({ tenant: "a", service: "by-mallory", source: echo, language: "assemblyscript" });
    const a = await WsClient.connect({ url: t.url, ca: t.ca, cert: readFileSync(alice.cert), key: readFileSync(alice.key), token: t.adminToken });
    await a.deploy({ tenant: "a", service: "by-alice", source: echo, language: "assemblyscript" });

    const actors = new Map<string, string>();
    for await (const e of a.events({ tenant: "a", type: "service_deployed" })) actors.set(e.service!, e.actor);
    assert.not.match(actors.get("by-mallory")!, /mallory/);
    assert.ok(!actors.get("by-mallory")!.includes(":"), `no certificate name: ${actors.get("by-mallory")}`);
    assert.match(actors.get("by-alice")!, /^alice:/);
    await m.close();
    await a.close();
  } finally {
    await t.close();
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test.run();
