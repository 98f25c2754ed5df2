// The gRPC listener lets in only clients whose certificate the data directory's CA signed: a
// client without one, or with one from another CA, is refused at the TLS handshake (UNAVAILABLE
// at the client; the host sees nothing and records nothing). Past the handshake the token
// decides: none or a bad one is UNAUTHENTICATED, a tenant's token on another tenant is
// PERMISSION_DENIED. None of these attempts changes anything.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { ensureCertificates } from "../../host/api/certs.ts";
import { GrpcClient } from "../../host/client/index.ts";
import type { SoloEvent } from "../../host/index.ts";
import { example, rejects, test } from "../helpers.ts";
import { openServer, type TestServer } from "./server.ts";

let s: TestServer;
let admin: GrpcClient;
const opened: GrpcClient[] = [];

async function client(o: { cert?: string; key?: string; token: string }): Promise<GrpcClient> {
  const c = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, ...o });
  opened.push(c);
  return c;
}

async function allEvents(): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of s.server.host.eventStore.stream({})) out.push(e);
  return out;
}

/** Every way a stranger could try to change acme/echo. */
function attempts(c: GrpcClient, tenant = "acme"): Promise<unknown>[] {
  return [
    c.deploy({ tenant, service: "echo", source: "export function handle(r: string): string { return 'pwned'; }", language: "typescript" }),
    c.deploy({ tenant, service: "other", source: example("echo.ts"), language: "typescript" }),
    c.kill(tenant, "echo"),
    c.setQuotas(tenant, { services: 1 }),
  ];
}

test.before(async () => {
  s = await openServer();
  admin = await client({ cert: s.cert, key: s.key, token: s.adminToken });
  await admin.deploy({ tenant: "acme", service: "echo", source: example("echo.ts"), language: "typescript" });
});

test.after(async () => {
  for (const c of opened) await c.close();
  await s?.close();
});

test("a client without a certificate is refused at the handshake: UNAVAILABLE, nothing recorded", async () => {
  const before = await allEvents();
  const c = await client({ token: s.adminToken });
  const e = await rejects(c.list("acme"), "UNAVAILABLE");
  assert.match(e.message, /certificate/, "the message says to check the client certificate");
  for (const p of attempts(c)) await rejects(p, "UNAVAILABLE");
  assert.equal(await allEvents(), before, "the host never saw the request: no event");
});

test("a certificate signed by another CA is refused at the handshake, even with the admin token", async () => {
  const otherDir = mkdtempSync(join(tmpdir(), "solo-other-ca-"));
  try {
    const other = await ensureCertificates(otherDir);
    const before = await allEvents();
    const c = await client({ cert: readFileSync(other.admin, "utf8"), key: readFileSync(other.adminKey, "utf8"), token: s.adminToken });
    await rejects(c.list("acme"), "UNAVAILABLE");
    for (const p of attempts(c)) await rejects(p, "UNAVAILABLE");
    assert.equal(await allEvents(), before, "no event");
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test("a good certificate without a token, or with a bad one, is UNAUTHENTICATED", async () => {
  const none = await client({ cert: s.cert, key: s.key, token: "" });
  await rejects(none.list("acme"), "UNAUTHENTICATED");
  for (const p of attempts(none)) await rejects(p, "UNAUTHENTICATED");
  const forged = s.adminToken.slice(0, -4) + (s.adminToken.endsWith("AAAA") ? "BBBB" : "AAAA");
  for (const token of ["not-a-token", forged]) {
    const bad = await client({ cert: s.cert, key: s.key, token });
    await rejects(bad.list("acme"), "UNAUTHENTICATED");
    await rejects(bad.call("acme", "echo", "x"), "UNAUTHENTICATED");
    for (const p of attempts(bad)) await rejects(p, "UNAUTHENTICATED");
  }
});

test("a tenant's token on another tenant is PERMISSION_DENIED, and the refusal is recorded", async () => {
  const granted = await admin.grant({ tenant: "globex", permissions: ["deploy", "call", "read", "kill"], ttlMs: 60_000 });
  const c = await client({ cert: s.cert, key: s.key, token: granted.token });
  assert.equal(await c.list("globex"), [], "the token works on its own tenant");
  await rejects(c.list("acme"), "PERMISSION_DENIED");
  await rejects(c.call("acme", "echo", "x"), "PERMISSION_DENIED");
  await rejects(c.status("acme", "echo"), "PERMISSION_DENIED");
  await rejects(c.events({ tenant: "acme", follow: true })[Symbol.asyncIterator]().next(), "PERMISSION_DENIED");
  await rejects(c.events({})[Symbol.asyncIterator]().next(), "PERMISSION_DENIED"); // every tenant's log: admin only
  for (const p of attempts(c)) await rejects(p, "PERMISSION_DENIED");
  const denied: SoloEvent[] = [];
  // Recorded in the caller's own tenant's log, naming the tenant it asked for; none in acme's.
  for await (const e of admin.events({ tenant: "globex", type: "capability_denied" })) denied.push(e);
  assert.ok(denied.some((e) => e.data.tokenId === granted.id && e.data.code === "PERMISSION_DENIED" && e.data.tenant === "acme"), JSON.stringify(denied.slice(-2)));
  const inAcme: SoloEvent[] = [];
  for await (const e of admin.events({ tenant: "acme", type: "capability_denied" })) inAcme.push(e);
  assert.not.ok(inAcme.some((e) => e.data.tokenId === granted.id), "nothing written into the tenant it asked for");
});

test("after every refused attempt nothing changed: one service, version 1, answering as before", async () => {
  const list = await admin.list("acme");
  assert.equal(list.map((x) => [x.service, x.version]), [["echo", 1]]);
  assert.is((await admin.call("acme", "echo", "still mine")).output, "still mine");
  assert.equal(await admin.list("globex"), []);
  const quota = (await admin.usage("acme")).quotas.services.limit;
  assert.ok(quota > 1, "the services quota was not lowered");
});

test.run();
