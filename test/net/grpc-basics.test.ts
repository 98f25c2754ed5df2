// Over gRPC with the admin certificate and token, a service goes through its whole life (deploy,
// call, status, list, events, kill) with the Host's answers; failures arrive as the SoloError the
// host threw (code, message, details); the health service answers SERVING; a message over the
// edge limit is refused without hurting the server.
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProto } from "grpc-health-check";
import { METHODS } from "../../host/api/methods.ts";
import { GrpcClient } from "../../host/client/index.ts";
import type { SoloError, SoloEvent } from "../../host/index.ts";
import { example, rejects, test } from "../helpers.ts";
import { openServer, type TestServer } from "./server.ts";

const MAX_MESSAGE = 256 * 1024;

// One server for the file (opening one and deploying cost seconds); each test uses its own tenant.
let s: TestServer;
let c: GrpcClient;
test.before(async () => {
  s = await openServer({ limits: { maxMessageBytes: MAX_MESSAGE } });
  c = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
});
test.after(async () => {
  await c?.close();
  await s?.close();
});

test("deploy, call, status, list, events and kill over gRPC answer what the host answers", async () => {
  {
    const d = await c.deploy({ tenant: "acme", service: "echo", source: example("echo.ts"), file: "echo.ts", limits: { fuel: 50_000_000 } });
    assert.is(d.tenant, "acme");
    assert.is(d.service, "echo");
    assert.is(d.version, 1);
    assert.is(d.language, "typescript");
    assert.equal(d.warnings, []);
    assert.is(d.limits.fuel, 50_000_000, "a set limit comes back as the number set");
    assert.is(d.limits.memoryBytes, s.server.host.status("acme", "echo").limits.memoryBytes, "the others are the host's defaults");

    const r = await c.call("acme", "echo", "hello over grpc");
    assert.is(r.output, "hello over grpc");
    assert.ok(r.fuel > 0 && r.memoryBytes > 0);
    assert.is((await c.call("acme", "echo", "")).output, "", "an empty answer is an empty string, not undefined");

    const st = await c.status("acme", "echo");
    assert.equal(st, s.server.host.status("acme", "echo"), "status is the host's, field for field (errors map, numbers, lists)");
    assert.is(st.calls, 2);

    const list = await c.list("acme");
    assert.equal(list.map((x) => x.service), ["echo"]);
    assert.equal(await c.list("nobody"), [], "a tenant without services lists none");

    const events: SoloEvent[] = [];
    for await (const e of c.events({ tenant: "acme" })) events.push(e);
    const deployed = events.find((e) => e.type === "service_deployed");
    assert.ok(deployed, `a service_deployed event, got ${events.map((e) => e.type).join(", ")}`);
    assert.is(deployed!.service, "echo");
    assert.match(deployed!.actor, /^cn=admin:[A-Za-z0-9_-]+$/, "the actor names the certificate's CN and the token id");
    assert.is(typeof deployed!.data, "object", "data comes back as an object");

    await c.kill("acme", "echo");
    await rejects(c.status("acme", "echo"), "NOT_FOUND");
    await rejects(c.call("acme", "echo", "x"), "NOT_FOUND");
    assert.equal(await c.list("acme"), []);
    const killed: SoloEvent[] = [];
    for await (const e of c.events({ tenant: "acme", type: "service_killed" })) killed.push(e);
    assert.is(killed.length, 1);
    assert.match(killed[0]!.actor, /^cn=admin:/);
  }
});

test("a failure arrives as the host's SoloError: compile diagnostics and INVALID_ARGUMENT field carried through", async () => {
  {
    const bad = "export function handle(request: string): string {\n  return request +;\n}\n";
    const e = await rejects(c.deploy({ tenant: "errs", service: "bad", source: bad, file: "bad.ts" }), "COMPILE_ERROR");
    const diagnostics = e.details?.diagnostics as { file: string; line: number; column: number; message: string }[];
    assert.ok(Array.isArray(diagnostics) && diagnostics.length > 0, `diagnostics in details, got ${JSON.stringify(e.details)}`);
    assert.is(diagnostics[0]!.line, 2);
    assert.ok(diagnostics[0]!.column > 0);
    assert.match(diagnostics[0]!.file, /bad\.ts$/);
    assert.equal(await c.list("errs"), [], "nothing was deployed");

    // Same code, message and details as the host itself throws.
    const local = await rejects(METHODS.Grant!(s.server.host.session(s.adminToken), { tenant: "acme", permissions: ["call"], ttlMs: 0 }), "INVALID_ARGUMENT");
    const remote = await rejects(c.grant({ tenant: "acme", permissions: ["call"], ttlMs: 0 }), "INVALID_ARGUMENT");
    assert.equal(remote.toJSON(), local.toJSON());
    assert.is(remote.details?.field, "ttlMs");

    const v = await c.validate({ source: "export function handle(r: string): string { return eval(r); }", language: "typescript" });
    assert.is(v.ok, false);
    assert.ok(v.findings.length > 0 && v.findings[0]!.line === 1, JSON.stringify(v.findings));
  }
});

test("usage, quotas and tokens over gRPC answer the host's shapes", async () => {
  const host = s.server.host;
  assert.equal(await c.usage("quota"), host.usage("quota"), "usage, with fuelPerCall's missing `used` left out");
  const quotas = await c.setQuotas("quota", { services: 3, kvBytes: 1 << 20 });
  assert.equal(quotas, Object.fromEntries(Object.entries(host.usage("quota").quotas).map(([k, v]) => [k, v.limit])), "every quota comes back");
  assert.is(quotas.services, 3);

  const granted = await c.grant({ tenant: "quota", permissions: ["read", "call"], ttlMs: 60_000, note: "grpc test" });
  assert.ok(granted.expiresAt > Date.now() && granted.expiresAt <= Date.now() + 60_000);
  const narrow = await c.attenuate({ token: granted.token, permissions: ["read"] });
  assert.is.not(narrow.id, granted.id);
  const reader = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: narrow.token });
  try {
    assert.equal(await reader.list("quota"), []);
    await rejects(reader.call("quota", "any", ""), "PERMISSION_DENIED");
    assert.equal(await c.revoke(granted.id), { id: granted.id, revoked: 1 }, "one grant record revoked");
    await rejects(reader.list("quota"), "UNAUTHENTICATED"); // the offline-narrowed token dies with it
  } finally {
    await reader.close();
  }
});

test("a connection over requestsPerSecond gets RESOURCE_EXHAUSTED; the requests within it are served", async () => {
  const limited = await openServer({ limits: { requestsPerSecond: 2 } });
  const lc = await GrpcClient.connect({ address: limited.server.grpc, ca: limited.ca, cert: limited.cert, key: limited.key, token: limited.adminToken });
  try {
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => lc.list("acme")));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as SoloError);
    assert.ok(refused.length >= 1 && refused.length < 12, `some refused, some served: ${refused.length} of 12 refused`);
    for (const e of refused) {
      assert.is(e.code, "RESOURCE_EXHAUSTED", e.message);
      assert.is(e.details?.reason, "rate");
    }
  } finally {
    await lc.close();
    await limited.close();
  }
});

test("the health service answers SERVING for Solo and for the server as a whole", async () => {
  const def = protoLoader.loadSync(healthProto, { keepCase: true, longs: Number, enums: String, defaults: true });
  const Health = ((grpc.loadPackageDefinition(def).grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const creds = grpc.credentials.createSsl(Buffer.from(s.ca), Buffer.from(s.key), Buffer.from(s.cert));
  const client = new (Health.Health as grpc.ServiceClientConstructor)(s.server.grpc, creds);
  const check = (client.check as (req: unknown, cb: (err: Error | null, res: { status: string }) => void) => void).bind(client);
  try {
    for (const service of ["", "solo.v1.Solo"]) {
      const r = await new Promise<{ status: string }>((resolve, reject) => check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res))));
      assert.is(r.status, "SERVING", `health of ${JSON.stringify(service)}`);
    }
  } finally {
    client.close();
  }
});

test("server reflection lists the Solo service (for grpcurl and the like)", async () => {
  const proto = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "..", "proto", "grpc", "reflection", "v1", "reflection.proto");
  const def = protoLoader.loadSync(proto, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const Reflection = (((grpc.loadPackageDefinition(def).grpc as grpc.GrpcObject).reflection as grpc.GrpcObject).v1 as grpc.GrpcObject).ServerReflection as grpc.ServiceClientConstructor;
  const client = new Reflection(s.server.grpc, grpc.credentials.createSsl(Buffer.from(s.ca), Buffer.from(s.key), Buffer.from(s.cert)));
  try {
    const call = (client.ServerReflectionInfo as () => grpc.ClientDuplexStream<unknown, { list_services_response?: { service: { name: string }[] } }>).call(client);
    call.write({ list_services: "" });
    const [reply] = (await once(call, "data")) as [{ list_services_response?: { service: { name: string }[] } }];
    call.end();
    const names = reply.list_services_response!.service.map((x) => x.name);
    assert.ok(names.includes("solo.v1.Solo"), names.join(", "));
  } finally {
    client.close();
  }
});

test("a message over maxMessageBytes is refused with RESOURCE_EXHAUSTED and the server keeps serving", async () => {
  {
    await c.deploy({ tenant: "big", service: "echo", source: example("echo.ts"), file: "echo.ts" });
    const e = await rejects(c.call("big", "echo", "x".repeat(MAX_MESSAGE + 1)), "RESOURCE_EXHAUSTED");
    assert.match(e.message, /maxMessageBytes/, e.message);
    assert.is((await c.call("big", "echo", "still here")).output, "still here", "the same client goes on");
    assert.is(s.server.host.status("big", "echo").calls, 1, "the oversized call never reached the service");
  }
});

test.run();
