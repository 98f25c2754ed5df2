// The secret methods over the real server: gRPC, WebSocket and REST answer what a session
// answers; `secrets` stores, lists and removes, only an admin token reads a value or rotates; a
// refusal is PERMISSION_DENIED and recorded; no reply to a non-admin carries a value.
import * as assert from "uvu/assert";
import { GrpcClient } from "../../host/client/index.ts";
import { WsClient } from "../../host/client/ws-client.ts";
import type { SoloEvent } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";
import { openServer, type TestServer } from "../net/server.ts";
import { httpJson, type HttpTestServer } from "../net/ws-helpers.ts";

const VALUE = "sk_live_value_that_must_not_leak";

let s: TestServer;
let admin: GrpcClient;
const clients: { close(): Promise<void> }[] = [];
test.before(async () => {
  s = await openServer();
  admin = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
});
test.after(async () => {
  for (const c of clients) await c.close();
  await admin?.close();
  await s?.close();
});

async function grpcAs(permissions: string[], tenant = "acme", services?: string[]): Promise<GrpcClient> {
  const g = await admin.grant({ tenant, permissions: permissions as never, ttlMs: 600_000, ...(services && { services }) });
  const c = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: g.token });
  clients.push(c);
  return c;
}

test("a `secrets` token stores, lists and removes over gRPC, and never gets a value back; GetSecret and RotateSecrets need admin", async () => {
  const c = await grpcAs(["secrets"]);
  const put = await c.putSecret("acme", "db", VALUE);
  assert.equal(Object.keys(put).sort(), ["createdAt", "name", "tenant", "updatedAt", "version"]);
  assert.equal({ tenant: put.tenant, name: put.name, version: put.version }, { tenant: "acme", name: "db", version: 1 });
  assert.equal(await c.secrets("acme"), s.server.host.secrets("acme"), "the host's list, field for field");
  assert.is((await c.putSecret("acme", "db", `${VALUE}-2`)).version, 2);

  const get = await rejects(c.secret("acme", "db"), "PERMISSION_DENIED");
  assert.equal({ missing: get.details?.missing, need: get.details?.need }, { missing: "permission", need: "admin" });
  await rejects(c.rotateSecrets(), "PERMISSION_DENIED");

  assert.is(await admin.secret("acme", "db"), `${VALUE}-2`, "an admin reads the value");
  const removed = await c.removeSecret("acme", "db");
  assert.is(removed.version, 2);
  assert.equal(await c.secrets("acme"), []);
  const gone = await rejects(admin.secret("acme", "db"), "NOT_FOUND");
  assert.match(gone.message, /no secret db in tenant acme/);
  await rejects(c.removeSecret("acme", "db"), "NOT_FOUND");

  const big = await rejects(c.putSecret("acme", "big", "x".repeat(64 * 1024 + 1)), "INVALID_ARGUMENT");
  assert.is(big.details?.field, "value");
  const empty = await rejects(c.putSecret("acme", "db", ""), "INVALID_ARGUMENT");
  assert.is(empty.message, "a secret's value must not be empty; to delete a secret, remove it (solo secret rm)");
  assert.is((await rejects(c.putSecret("acme", "Bad Name", "v"), "INVALID_ARGUMENT")).details?.field, "name");
  assert.not.match(JSON.stringify([put, removed, await c.secrets("acme")]), VALUE);
});

test("without `secrets`, another tenant's token, or one narrowed to services: PERMISSION_DENIED, recorded as capability_denied, and nothing changes", async () => {
  await admin.putSecret("acme", "kept", VALUE);
  const reader = await grpcAs(["read", "deploy", "call"]);
  const stranger = await grpcAs(["secrets"], "other");
  const narrow = await grpcAs(["secrets"], "acme", ["x"]);
  for (const [c, missing] of [[reader, "permission"], [stranger, "tenant"], [narrow, "service"]] as const) {
    for (const op of [() => c.putSecret("acme", "kept", "overwritten"), () => c.secrets("acme"), () => c.removeSecret("acme", "kept")]) {
      const e = await rejects(op(), "PERMISSION_DENIED");
      assert.is(e.details?.missing, missing);
    }
  }
  assert.is(s.server.host.secret("acme", "kept"), VALUE, "unchanged");
  const events: SoloEvent[] = [];
  for await (const e of s.server.host.events("acme", { type: "capability_denied" })) events.push(e);
  assert.is(events.filter((e) => e.data.permission === "secrets").length, 6, "reader's and narrow's refusals, in acme's log");
  const rotateRefused = await rejects(reader.rotateSecrets(), "PERMISSION_DENIED");
  assert.is(rotateRefused.details?.need, "admin");
});

test("an admin rotates the master key over the API; every secret reads the same after", async () => {
  await admin.putSecret("rot", "a", "value a");
  await admin.putSecret("rot", "b", "value b");
  const r = await admin.rotateSecrets();
  assert.match(r.keyId, /^[0-9a-f]{16}$/);
  assert.is.not(r.keyId, r.previousKeyId);
  assert.ok(r.secrets >= 2);
  assert.is(await admin.secret("rot", "a"), "value a");
  assert.is(await admin.secret("rot", "b"), "value b");
});

test("WebSocket and REST carry the same methods and answers", async () => {
  const g = await admin.grant({ tenant: "web", permissions: ["secrets"], ttlMs: 600_000 });
  const ws = await WsClient.connect({ url: s.server.http, ca: s.ca, token: g.token });
  clients.push(ws);
  const put = await ws.putSecret("web", "api", VALUE);
  assert.equal({ name: put.name, version: put.version }, { name: "api", version: 1 });
  assert.equal(await ws.secrets("web"), s.server.host.secrets("web"));
  await rejects(ws.secret("web", "api"), "PERMISSION_DENIED");

  const rest = { url: s.server.http, ca: s.ca } as HttpTestServer;
  const auth = { authorization: `Bearer ${g.token}` };
  const list = await httpJson(rest, "POST", "/v1/ListSecrets", JSON.stringify({ tenant: "web" }), auth);
  assert.is(list.status, 200);
  assert.equal(list.body, { secrets: s.server.host.secrets("web") });
  const denied = await httpJson(rest, "POST", "/v1/GetSecret", JSON.stringify({ tenant: "web", name: "api" }), auth);
  assert.is(denied.status, 403);
  assert.is(denied.body.error.code, "PERMISSION_DENIED");
  const asAdmin = await httpJson(rest, "POST", "/v1/GetSecret", JSON.stringify({ tenant: "web", name: "api" }), { authorization: `Bearer ${s.adminToken}` });
  assert.equal(asAdmin.body, { tenant: "web", name: "api", value: VALUE });
  const removed = await ws.removeSecret("web", "api");
  assert.is(removed.name, "api");
  assert.not.match(JSON.stringify([put, list.body, denied.body, removed]), VALUE);
});

test.run();
