// The API over WebSocket JSON-RPC and REST: the same methods and answers as a session, errors
// with their SoloError, and input no client library would send refused clearly without
// disturbing anyone else.
import * as assert from "uvu/assert";
import { WsClient } from "../../host/client/ws-client.ts";
import type { SoloEvent } from "../../host/index.ts";
import { example, rejects, test } from "../helpers.ts";
import { httpJson, openHttpServer, rawSocket, type HttpTestServer } from "./ws-helpers.ts";

const echo = example("echo.as.ts");
const broken = "export function handle(request) {\n  return (;\n}\n";

// One server for the file (a host and its first deploy cost seconds); each test its own tenant.
let t: HttpTestServer;
test.before(async () => {
  t = await openHttpServer({ limits: { maxMessageBytes: 64 * 1024 } });
});
test.after(async () => {
  await t.close();
});

async function collect(stream: AsyncIterable<SoloEvent>): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

test("deploy, call, status, list, events and kill over WebSocket answer as a session does", async () => {
  {
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const d = await c.deploy({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" });
    assert.is(d.service, "echo");
    assert.is(d.version, 1);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => c.call("a", "echo", `m${i}`)));
    assert.equal(replies.map((r) => r.output), Array.from({ length: 20 }, (_, i) => `m${i}`));
    assert.is((await c.status("a", "echo")).service, "echo");
    assert.equal((await c.list("a")).map((s) => s.service), ["echo"]);
    assert.equal(await c.list("a"), t.host.list("a"));
    const stored = await collect(c.events({ tenant: "a" }));
    assert.equal(stored.map((e) => e.type), ["service_deployed"]);
    await c.kill("a", "echo");
    await rejects(c.status("a", "echo"), "NOT_FOUND");
    await rejects(c.call("a", "echo", "x"), "NOT_FOUND");
    assert.equal(await c.list("a"), []);
    assert.equal((await collect(c.events({ tenant: "a" }))).map((e) => e.type), ["service_deployed", "service_killed"]);
    // Admin: the whole log when the tenant is left out.
    assert.ok((await collect(c.events({}))).length >= 2);
    const v = await c.validate({ source: echo, language: "assemblyscript" });
    assert.ok(v, "validate answers a report");
    await c.close();
  }
});

test("a compile error carries its diagnostics over WebSocket and REST", async () => {
  {
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const e = await rejects(c.deploy({ tenant: "b", service: "bad", source: broken, language: "javascript" }), "COMPILE_ERROR");
    const diags = (e.details as { diagnostics: { line: number; message: string }[] }).diagnostics;
    assert.ok(diags.length >= 1);
    assert.is(diags[0]!.line, 2);
    const r = await httpJson(t, "POST", "/v1/Deploy", JSON.stringify({ tenant: "b", service: "bad", source: broken, language: "javascript" }), { authorization: `Bearer ${t.adminToken}` });
    assert.is(r.status, 422);
    assert.is(r.body.error.code, "COMPILE_ERROR");
    assert.equal(r.body.error.details.diagnostics, diags);
    assert.equal(t.host.list("b"), []);
    await c.close();
  }
});

test("REST mirrors the methods: POST /v1/<Method>, errors with status and body, /healthz", async () => {
  {
    const auth = { authorization: `Bearer ${t.adminToken}` };
    const health = await httpJson(t, "GET", "/healthz");
    assert.is(health.status, 200);
    assert.equal(health.body, { ok: true });

    const d = await httpJson(t, "POST", "/v1/Deploy", JSON.stringify({ tenant: "r", service: "echo", source: echo, language: "assemblyscript" }), auth);
    assert.is(d.status, 200);
    assert.is(d.body.service, "echo");
    const call = await httpJson(t, "POST", "/v1/Call", JSON.stringify({ tenant: "r", service: "echo", request: "hello" }), auth);
    assert.is(call.status, 200);
    assert.is(call.body.output, "hello");
    const list = await httpJson(t, "POST", "/v1/List", JSON.stringify({ tenant: "r" }), auth);
    assert.equal(list.body.services.map((s: { service: string }) => s.service), ["echo"]);
    const missing = await httpJson(t, "POST", "/v1/Status", JSON.stringify({ tenant: "r", service: "nope" }), auth);
    assert.is(missing.status, 404);
    assert.is(missing.body.error.code, "NOT_FOUND");
    const noField = await httpJson(t, "POST", "/v1/Call", JSON.stringify({ tenant: "r" }), auth);
    assert.is(noField.status, 400);
    assert.equal(noField.body.error.details, { field: "service" });
    // Events stream as one JSON event a line.
    const ev = await httpJson(t, "POST", "/v1/Events", JSON.stringify({ tenant: "r" }), auth);
    assert.is(ev.status, 200);
    const lines = String(typeof ev.body === "string" ? ev.body : JSON.stringify(ev.body)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.map((e: SoloEvent) => e.type), ["service_deployed"]);

    const malformed = await httpJson(t, "POST", "/v1/Call", "{not json", auth);
    assert.is(malformed.status, 400);
    assert.is(malformed.body.error.code, "INVALID_ARGUMENT");
    const unknown = await httpJson(t, "POST", "/v1/Nope", "{}", auth);
    assert.is(unknown.status, 404);
    assert.is(unknown.body.error.code, "NOT_FOUND");
    const elsewhere = await httpJson(t, "GET", "/index.html");
    assert.is(elsewhere.status, 404);
    assert.is(elsewhere.body.error.code, "NOT_FOUND");
    const wrongVerb = await httpJson(t, "GET", "/v1/Call", undefined, auth);
    assert.is(wrongVerb.status, 400);
    const big = await httpJson(t, "POST", "/v1/Call", JSON.stringify({ tenant: "r", service: "echo", request: "x".repeat(70 * 1024) }), auth);
    assert.is(big.status, 413);
    assert.is(big.body.error.code, "INVALID_ARGUMENT");
    // Still serving.
    assert.is((await httpJson(t, "POST", "/v1/Call", JSON.stringify({ tenant: "r", service: "echo", request: "still" }), auth)).body.output, "still");
  }
});

test("malformed frames, unknown methods and oversized frames get clear errors; other sockets keep working", async () => {
  {
    const other = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    await other.deploy({ tenant: "m", service: "echo", source: echo, language: "assemblyscript" });
    const s = await rawSocket(t, t.adminToken);

    s.send("{nope");
    let f = await s.next();
    assert.is(f.jsonrpc, "2.0");
    assert.is(f.id, null);
    assert.is(f.error.code, -32700);
    assert.is(f.error.data.code, "INVALID_ARGUMENT");

    s.send("[]");
    f = await s.next();
    assert.is(f.error.code, -32600);
    s.send(JSON.stringify({ jsonrpc: "2.0", method: "List", params: { tenant: "m" } }));
    f = await s.next();
    assert.is(f.error.code, -32600);
    assert.equal(f.error.data.details, { field: "id" });
    s.send(Buffer.from([0, 1, 2]));
    f = await s.next();
    assert.is(f.error.code, -32600);

    s.send(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "Nope", params: {} }));
    f = await s.next();
    assert.is(f.id, 7);
    assert.is(f.error.code, -32601);
    assert.is(f.error.data.code, "NOT_FOUND");
    assert.match(f.error.message, /Call/);

    s.send(JSON.stringify({ jsonrpc: "2.0", id: "x", method: "Call", params: { tenant: "m" } }));
    f = await s.next();
    assert.is(f.id, "x");
    assert.is(f.error.code, -32602);
    assert.equal(f.error.data, { code: "INVALID_ARGUMENT", message: "service must be a string", details: { field: "service" } });
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "Call", params: [1] }));
    assert.is((await s.next()).error.code, -32602);

    s.send(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "Call", params: { tenant: "m", service: "nope", request: "" } }));
    f = await s.next();
    assert.is(f.error.code, -32000);
    assert.is(f.error.data.code, "NOT_FOUND");

    // The same socket still answers.
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 10, method: "Call", params: { tenant: "m", service: "echo", request: "ok" } }));
    f = await s.next();
    assert.equal(f, { jsonrpc: "2.0", id: 10, result: (f as { result: unknown }).result });
    assert.is(f.result.output, "ok");

    // A frame over maxMessageBytes: the socket is closed with 1009 (message too big); the client
    // reports INVALID_ARGUMENT for what was in flight.
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const e = await rejects(c.call("m", "echo", "x".repeat(70 * 1024)), "INVALID_ARGUMENT");
    assert.match(e.message, /size limit/);
    await rejects(c.call("m", "echo", "x"), "INVALID_ARGUMENT");
    s.send("x".repeat(70 * 1024));
    assert.is(await s.closed, 1009);

    // Others are untouched.
    assert.is((await other.call("m", "echo", "after")).output, "after");
    await other.close();
    await c.close();
  }
});

test.run();
