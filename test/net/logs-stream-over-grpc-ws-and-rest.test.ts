// A guest's log lines reach API clients: host.logs keeps the last lines and follows new ones;
// gRPC, WebSocket and REST serve them to a token with `read` on the service. A token of another
// tenant is refused PERMISSION_DENIED, and a token narrowed to one service sees only its lines.
import * as assert from "uvu/assert";
import { GrpcClient } from "../../host/client/index.ts";
import { WsClient } from "../../host/client/ws-client.ts";
import type { LogLine } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";
import { openServer, type TestServer } from "./server.ts";
import { httpJson } from "./ws-helpers.ts";

const GUEST = `import { log } from "solo";\nexport function handle(request: string): string {\n  log.info(request);\n  if (request.startsWith("warn")) log.warn("careful: " + request);\n  return "ok";\n}\n`;

let s: TestServer;
let admin: GrpcClient;
const opened: { close(): Promise<void> }[] = [];
const connect = async (token: string) => {
  const c = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token });
  opened.push(c);
  return c;
};

async function take(stream: AsyncIterable<LogLine>, n: number): Promise<LogLine[]> {
  const out: LogLine[] = [];
  if (n === 0) return out;
  for await (const l of stream) if (out.push(l) >= n) break;
  return out;
}

test.before(async () => {
  s = await openServer();
  admin = await connect(s.adminToken);
  for (const service of ["a", "b"]) await admin.deploy({ tenant: "acme", service, source: GUEST, file: "g.ts" });
});
test.after(async () => {
  for (const c of opened) await c.close();
  await s?.close();
});

test("host.logs: the last `tail` lines of the service, then with follow the lines logged after", async () => {
  const host = s.server.host;
  await admin.call("acme", "a", "one");
  await admin.call("acme", "a", "warn two");
  await admin.call("acme", "b", "b's own");
  const kept = await take(host.logs("acme", "a", { tail: 2 }), 2);
  assert.equal(kept.map((l) => `${l.service} ${l.level} ${l.message}`), ["a info warn two", "a warn careful: warn two"]);
  assert.equal((await take(host.logs("acme", "a", {}), 10)).map((l) => l.message), ["one", "warn two", "careful: warn two"], "without follow it ends after the kept lines");

  const feed = host.logs("acme", "a", { follow: true, tail: 0 });
  const next = take(feed, 1);
  await admin.call("acme", "a", "three");
  const [l] = await next;
  assert.is(l!.message, "three");
  assert.is(l!.tenant, "acme");
  assert.ok(Date.parse(l!.at) > 0, l!.at);
  feed.close();
});

test("gRPC Logs: a line logged while following arrives; a stored-only stream ends", async () => {
  const kept = await take(admin.logs({ tenant: "acme", service: "b" }), 10);
  assert.ok(kept.some((l) => l.message === "b's own"), JSON.stringify(kept));
  const stream = admin.logs({ tenant: "acme", service: "b", follow: true, tail: 0 });
  const next = take(stream, 1);
  // The stream opens on the server when its request arrives: a call after that logs into it.
  // A line logged before it opened is not sent (tail 0), so call until one arrives.
  let got: LogLine[] | undefined;
  void next.then((r) => (got = r));
  for (let i = 0; got === undefined && i < 200; i++) {
    await admin.call("acme", "b", `live ${i}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const [l] = await next;
  assert.match(l!.message, /^live \d+$/);
  assert.is(l!.service, "b");
  assert.is(l!.dropped, undefined, "no dropped count on an ordinary line");
  stream.close();
});

test("a token of another tenant is refused PERMISSION_DENIED; one narrowed to service a sees only a's lines", async () => {
  const other = await admin.grant({ tenant: "other", permissions: ["read"], ttlMs: 60_000 });
  const o = await connect(other.token);
  const refused = await rejects(take(o.logs({ tenant: "acme", service: "a" }), 1), "PERMISSION_DENIED");
  assert.match(refused.message, /tenant/);

  const narrow = await admin.grant({ tenant: "acme", permissions: ["read"], services: ["a"], ttlMs: 60_000 });
  const n = await connect(narrow.token);
  const seen = await take(n.logs({ tenant: "acme" }), 100);
  assert.ok(seen.length > 0);
  assert.equal([...new Set(seen.map((l) => l.service))], ["a"], "only service a's lines without naming a service");
  await rejects(take(n.logs({ tenant: "acme", service: "b" }), 1), "PERMISSION_DENIED");

  const callOnly = await admin.grant({ tenant: "acme", permissions: ["call"], ttlMs: 60_000 });
  await rejects(take((await connect(callOnly.token)).logs({ tenant: "acme", service: "a" }), 1), "PERMISSION_DENIED");
});

test("WebSocket Logs and REST POST /v1/Logs serve the same lines", async () => {
  const url = s.server.http;
  const ws = await WsClient.connect({ url, ca: s.ca, token: s.adminToken });
  opened.push(ws);
  const wsLines = await take(ws.logs({ tenant: "acme", service: "a", tail: 1 }), 1);
  const grpcLines = await take(admin.logs({ tenant: "acme", service: "a", tail: 1 }), 1);
  assert.equal(wsLines, grpcLines);

  const r = await httpJson({ url, ca: s.ca } as never, "POST", "/v1/Logs", JSON.stringify({ tenant: "acme", service: "a", tail: 1 }), { authorization: `Bearer ${s.adminToken}` });
  assert.is(r.status, 200);
  assert.equal(r.body, grpcLines[0], "one NDJSON line: the same line");
  const bad = await httpJson({ url, ca: s.ca } as never, "POST", "/v1/Logs", JSON.stringify({ tenant: "acme", tail: -1 }), { authorization: `Bearer ${s.adminToken}` });
  assert.is(bad.body.error.code, "INVALID_ARGUMENT");
});

test.run();
