// What a caller who proves nothing can make the HTTPS listener hold: a REST body is not read
// before its token is checked; bodies in flight share one budget; a request must arrive in time;
// connections are capped; close() cuts sockets that never spoke HTTP (or TLS); an event stream
// whose client left at once does not hold shutdown.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { httpJson, openHttpServer, rawConnection, within } from "./ws-helpers.ts";

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));

test("a REST request without a live token gets 401 before its body is read, is recorded, and loses its connection", async () => {
  const t = await openHttpServer();
  try {
    // Declares 40 MB and sends 10 bytes of it: the answer comes without waiting for the rest.
    const c = await rawConnection(t);
    await c.write(`POST /v1/List HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer solo_forged\r\nContent-Type: application/json\r\nContent-Length: ${40 * 1024 * 1024}\r\n\r\n{"tenant":`);
    const answer = await within(c.closed, 10_000, "the 401 and the close");
    assert.is(statusOf(answer), 401);
    assert.is(bodyOf(answer).error.code, "UNAUTHENTICATED");
    assert.match(answer, /connection: close/i);

    const none = await rawConnection(t);
    await none.write(`POST /v1/Deploy HTTP/1.1\r\nHost: x\r\nContent-Length: ${40 * 1024 * 1024}\r\n\r\n`);
    assert.is(statusOf(await within(none.closed, 10_000, "the 401 and the close")), 401);

    const denied = [];
    for await (const ev of t.host.eventStore.stream({ type: "capability_denied" })) denied.push(ev);
    assert.equal(denied.map((d) => (d.data as { permission: string }).permission), ["authenticate", "authenticate"]);
    // Others are served.
    assert.equal((await httpJson(t, "POST", "/v1/List", JSON.stringify({ tenant: "a" }), { authorization: `Bearer ${t.adminToken}` })).body, { services: [] });
  } finally {
    await t.close();
  }
});

test("bodies in flight share one budget: past it a request gets 429 RESOURCE_EXHAUSTED unread, and is served once bodies finish", async () => {
  const t = await openHttpServer({ limits: { maxMessageBytes: 1024 * 1024, bodyBytesInFlight: 2 * 1024 * 1024 } });
  try {
    const size = 1024 * 1024;
    const head = `POST /v1/List HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const json = '{"tenant":"a"}';
    // Two bodies of 1 MiB each, half sent: the budget is spent.
    const held = [await rawConnection(t), await rawConnection(t)];
    for (const c of held) await c.write(head + json);
    const list = JSON.stringify({ tenant: "a" });
    let r = await httpJson(t, "POST", "/v1/List", list, { authorization: `Bearer ${t.adminToken}` });
    // The first two may not have reached the server yet: ask until they have (the answer is then 429).
    for (let i = 0; i < 100 && r.status === 200; i++) {
      await new Promise((res) => setTimeout(res, 20));
      r = await httpJson(t, "POST", "/v1/List", list, { authorization: `Bearer ${t.adminToken}` });
    }
    assert.is(r.status, 429);
    assert.is(r.body.error.code, "RESOURCE_EXHAUSTED");
    assert.is(r.body.error.details.reason, "body_budget");
    // One held body completes: it is answered, and the budget has room again.
    await held[0]!.write(" ".repeat(size - json.length));
    const answer = await within(held[0]!.firstData, 10_000, "the completed body's answer");
    assert.is(statusOf(answer), 200);
    assert.is((await httpJson(t, "POST", "/v1/List", list, { authorization: `Bearer ${t.adminToken}` })).status, 200);
    for (const c of held) c.destroy();
  } finally {
    await t.close();
  }
});

test("a request whose body stalls gets 408 DEADLINE_EXCEEDED and loses its connection; an idle connection is closed", async () => {
  const t = await openHttpServer({ limits: { requestTimeoutMs: 400 } });
  try {
    const slow = await rawConnection(t);
    await slow.write(`POST /v1/List HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Length: 100\r\n\r\n{"ten`);
    const idle = await rawConnection(t);
    const answer = await within(slow.closed, 10_000, "the stalled request's close");
    assert.is(statusOf(answer), 408);
    assert.is(bodyOf(answer).error.code, "DEADLINE_EXCEEDED");
    // Connected over TLS and said nothing: told so and closed too.
    assert.is(statusOf(await within(idle.closed, 10_000, "the idle connection's close")), 408);
    assert.is((await httpJson(t, "POST", "/v1/List", JSON.stringify({ tenant: "a" }), { authorization: `Bearer ${t.adminToken}` })).status, 200);
  } finally {
    await t.close();
  }
});

test("connections past maxConnections are closed at once; one freed lets the next in", async () => {
  const t = await openHttpServer({ limits: { maxConnections: 3 } });
  try {
    const held = [await rawConnection(t), await rawConnection(t), await rawConnection(t)];
    // The fourth is closed without a TLS handshake: connecting fails.
    const fourth = await rawConnection(t).then(
      (c) => c,
      (err: Error) => err,
    );
    assert.instance(fourth, Error, "the connection past the cap was refused");
    const ws = await import("../../host/client/ws-client.ts");
    const refused = await ws.WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken }).then(
      () => "connected",
      (err: { code?: string }) => err.code,
    );
    assert.is(refused, "UNAVAILABLE");
    held[0]!.destroy();
    await held[0]!.closed;
    // The server sees the close on its next turn: retry until it has (each refused attempt is closed at once).
    let c: Awaited<ReturnType<typeof ws.WsClient.connect>> | undefined;
    for (let i = 0; i < 100 && !c; i++) c = await ws.WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken }).catch(() => undefined);
    assert.ok(c, "a client gets in once a connection is freed");
    assert.equal(await c!.list("a"), []);
    await c!.close();
    for (const h of held) h.destroy();
  } finally {
    await t.close();
  }
});

test("close() cuts a TLS connection that sent no HTTP and a TCP connection that never started TLS", async () => {
  const t = await openHttpServer();
  try {
    const tls = await rawConnection(t);
    const { connect } = await import("node:net");
    const u = new URL(t.url);
    const tcp = connect(Number(u.port), u.hostname);
    tcp.on("error", () => {});
    await new Promise((r) => tcp.once("connect", r));
    const tcpClosed = new Promise((r) => tcp.once("close", r));
    await within(t.listener.close(1000), 8_000, "close(1000)");
    await within(tls.closed, 2_000, "the TLS connection's close");
    await within(tcpClosed, 2_000, "the TCP connection's close");
  } finally {
    await t.close();
  }
});

test("an event stream whose client left at once is let go: close() does not wait out its grace", async () => {
  const t = await openHttpServer();
  try {
    for (const follow of [true, false]) {
      for (let i = 0; i < 5; i++) {
        const c = await rawConnection(t);
        const body = JSON.stringify({ tenant: "a", follow });
        await c.write(`POST /v1/Events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        c.destroy();
      }
    }
    await t.host.session(t.adminToken).setQuotas("a", { services: 3 });
    // A grace far longer than the guard: close() returns only if no handler is left in flight.
    await within(t.listener.close(60_000), 10_000, "close(60000) with every client gone");
  } finally {
    await t.close();
  }
});

test.run();
