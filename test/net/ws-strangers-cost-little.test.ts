// What a WebSocket client can make the server hold: before it authenticates only small frames
// and only for a few seconds; no answer quotes more than a little of what it sent; a client that
// stops reading its answers stops being read, and is cut if they pile up anyway; other clients
// are served meanwhile.
import * as assert from "uvu/assert";
import type WebSocket from "ws";
import { WsClient } from "../../host/client/ws-client.ts";
import { example, test } from "../helpers.ts";
import { openHttpServer, rawSocket, within } from "./ws-helpers.ts";

const echo = example("echo.as.ts");

test("a socket without a token may send only small frames, and is closed (1008) if it does not Authenticate in time", async () => {
  const t = await openHttpServer({ limits: { authTimeoutMs: 300, unauthenticatedMessageBytes: 1024 } });
  try {
    const big = await rawSocket(t);
    big.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Authenticate", params: { token: "x".repeat(2000) } }));
    assert.is(await within(big.closed, 10_000, "the close for a big frame"), 1009);

    const silent = await rawSocket(t);
    assert.is(await within(silent.closed, 10_000, "the close for no Authenticate"), 1008);

    // Authenticated in time: frames up to maxMessageBytes, and it stays open past the deadline.
    const ok = await rawSocket(t);
    ok.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Authenticate", params: { token: t.adminToken } }));
    assert.is((await ok.next()).result.admin, true);
    await new Promise((r) => setTimeout(r, 600));
    ok.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "List", params: { tenant: "a", pad: "x".repeat(4000) } }));
    assert.equal((await ok.next()).result, { services: [] });
    ok.close();
    assert.is(await ok.closed, 1005);
  } finally {
    await t.close();
  }
});

test("errors quote at most a little of what the client sent", async () => {
  const t = await openHttpServer();
  try {
    const s = await rawSocket(t, t.adminToken);
    const name = "N".repeat(100_000);
    s.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: name, params: {} }));
    const f = await s.next();
    assert.is(f.error.code, -32601);
    assert.is(f.error.data.code, "NOT_FOUND");
    assert.ok(JSON.stringify(f).length < 2000, `the answer is ${JSON.stringify(f).length} bytes`);
    assert.ok(f.error.message.includes("N".repeat(64)) && !f.error.message.includes("N".repeat(65)));

    s.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "Unsubscribe", params: { subscription: "S".repeat(100_000) } }));
    const u = await s.next();
    assert.is(u.error.data.code, "NOT_FOUND");
    assert.ok(JSON.stringify(u).length < 1000, `the answer is ${JSON.stringify(u).length} bytes`);

    // The id comes back in every answer: a long one is refused, not repeated.
    s.send(JSON.stringify({ jsonrpc: "2.0", id: "I".repeat(100_000), method: "List", params: { tenant: "a" } }));
    const i = await s.next();
    assert.is(i.id, null);
    assert.is(i.error.data.code, "INVALID_ARGUMENT");
    assert.is(i.error.data.details.field, "id");
    s.close();
  } finally {
    await t.close();
  }
});

test("a client that stops reading its answers stops being read, or is cut once they pile up; others are served", async () => {
  const t = await openHttpServer({ limits: { maxMessageBytes: 1024 * 1024 } });
  try {
    const admin = t.host.session(t.adminToken);
    await admin.deploy({ tenant: "m", service: "echo", source: echo, language: "assemblyscript" });
    const { default: WS } = await import("ws");
    const ws: WebSocket = new WS(`${t.url.replace(/^http/, "ws")}/v1/ws`, { ca: t.ca, headers: { authorization: `Bearer ${t.adminToken}` } });
    ws.on("error", () => {});
    await new Promise((r) => ws.once("open", r));
    let answers = 0;
    ws.on("message", () => answers++);
    const closed = new Promise<void>((r) => ws.once("close", () => r()));
    // Stop reading, then ask for 20 answers of ~900 KB each (18 MB; the server holds at most ~6 MB for it).
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const N = 20;
    for (let i = 0; i < N; i++) ws.send(JSON.stringify({ jsonrpc: "2.0", id: i, method: "Call", params: { tenant: "m", service: "echo", request: "x".repeat(900 * 1024) } }));
    // Meanwhile another client is served.
    const other = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    assert.is((await other.call("m", "echo", "hi")).output, "hi");
    // Wait until the server has run all of them (it kept reading) or has stopped taking more (the
    // count holds still for a second below N + 1); a loaded machine may take seconds either way.
    let calls = 0;
    let still = 0;
    for (let i = 0; i < 1500 && calls < N + 1 && still < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const now = t.host.status("m", "echo").calls;
      still = now === calls ? still + 1 : 0;
      calls = now;
    }
    const ranAll = calls >= N + 1;
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Reading again: every answer arrives, or the socket was cut because answers piled up (which
    // must be the outcome if the server ran them all while nobody read). Up to a minute: 18 MB
    // through TLS on a loaded 2-core machine took over 10 s in CI.
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    for (let i = 0; i < 3000 && answers < N && !isClosed; i++) await new Promise((r) => setTimeout(r, 20));
    console.log(`  slow reader: the server took ${calls - 1} of ${N} calls while it was not read; then ${isClosed ? `cut it after ${answers} answers` : `${answers} answers arrived`}`);
    if (ranAll || isClosed) {
      await within(closed, 10_000, "the server closing the socket");
      assert.ok(answers < N, `the socket was cut before all ${N} answers went out (got ${answers}, the server ran ${calls - 1} of them before the client read)`);
    } else {
      assert.is(answers, N, "every answer arrived once the client read again");
      ws.close();
      await closed;
    }
    assert.is((await other.call("m", "echo", "still")).output, "still");
    await other.close();
  } finally {
    await t.close();
  }
});

test.run();
