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
import { httpJson, openHttpServer, rawSocket } from "./ws-helpers.ts";

const echo = example("echo.as.ts");

test("a WebSocket without a token gets UNAUTHENTICATED on its first request, and for a bad Authenticate, each recorded", async () => {
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
    // Authenticate comes once: a good token after a bad one is refused on this socket.
    await rejects(b.request("Authenticate", { token: t.adminToken }), "INVALID_ARGUMENT");
    await rejects(b.list("a"), "UNAUTHENTICATED");
    await b.close();

    const ok = await WsClient.connect({ url: t.url, ca: t.ca, token: "" });
    const me = await ok.request<{ admin: boolean; tokenId: string }>("Authenticate", { token: t.adminToken });
    assert.is(me.admin, true);
    assert.equal(await ok.list("a"), []);
    await ok.close();

    assert.equal(t.host.list("a"), []);
    const denied = [];
    for await (const ev of t.host.eventStore.stream({ type: "capability_denied" })) denied.push(ev);
    // deploy and list without a token, the bad Authenticate, the call and list behind it: five.
    assert.is(denied.length, 5, JSON.stringify(denied.map((d) => d.data)));
    assert.equal(
      denied.map((d) => (d.data as { permission: string }).permission),
      ["deploy", "read", "authenticate", "call", "read"],
    );
    assert.ok(denied.every((d) => (d.data as { code: string }).code === "UNAUTHENTICATED"));
  } finally {
    await t.close();
  }
});

test("Authenticate cannot switch a socket's identity: a second one, or one after a header token, is refused", async () => {
  const t = await openHttpServer();
  try {
    const admin = t.host.session(t.adminToken);
    const a = (await admin.grant({ tenant: "a", permissions: ["read"], ttlMs: 60_000 })).token;
    const b = (await admin.grant({ tenant: "b", permissions: ["read"], ttlMs: 60_000 })).token;

    // Authenticate a, then b, sent back to back: b is refused and the socket stays a's.
    const s = await rawSocket(t);
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Authenticate", params: { token: a } }));
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "Authenticate", params: { token: b } }));
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "List", params: { tenant: "b" } }));
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "Authenticate", params: { token: t.adminToken } }));
    const answers = new Map<number, any>();
    for (let i = 0; i < 4; i++) {
      const f = await s.next();
      answers.set(f.id, f);
    }
    assert.is(answers.get(1).result.tenant, "a");
    assert.is(answers.get(2).error.data.code, "INVALID_ARGUMENT");
    assert.is(answers.get(3).error.data.code, "PERMISSION_DENIED");
    assert.is(answers.get(4).error.data.code, "INVALID_ARGUMENT");
    s.close();

    // A token in the header: Authenticate is refused whatever it carries.
    const h = await WsClient.connect({ url: t.url, ca: t.ca, token: a });
    await rejects(h.request("Authenticate", { token: t.adminToken }), "INVALID_ARGUMENT");
    await rejects(h.list("b"), "PERMISSION_DENIED");
    assert.equal(await h.list("a"), []);
    await h.close();
  } finally {
    await t.close();
  }
});

test("a token that is not live in the upgrade's header is refused at the upgrade with 401, recorded", async () => {
  const t = await openHttpServer();
  try {
    const { default: WebSocket } = await import("ws");
    const status = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const ws = new WebSocket(`${t.url.replace(/^http/, "ws")}/v1/ws`, { ca: t.ca, headers: { authorization: "Bearer solo_forged" } });
      ws.on("open", () => reject(new Error("the upgrade was accepted")));
      ws.on("error", () => {});
      ws.on("unexpected-response", (_req, res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
      });
    });
    assert.is(status.status, 401);
    assert.is(status.body.error.code, "UNAUTHENTICATED");
    // The client reports it on each request, as over gRPC.
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: "solo_forged" });
    await rejects(c.list("a"), "UNAUTHENTICATED");
    await c.close();
    const denied = [];
    for await (const ev of t.host.eventStore.stream({ type: "capability_denied" })) denied.push(ev);
    assert.equal(denied.map((d) => (d.data as { permission: string }).permission), ["authenticate", "authenticate"]);
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
    // Named as over gRPC: cn=<CN>:<token id>.
    assert.match(actors.get("by-alice")!, /^cn=alice:[A-Za-z0-9_-]+$/);
    await m.close();
    await a.close();
  } finally {
    await t.close();
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test.run();
