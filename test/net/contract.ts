// The API's behaviour, the same whatever carries it: each transport's test file runs this suite
// with its own client against a real server (port 0, real certificates). deploy → call → status →
// list → events → kill, a bad source, and every kind of refusal, each asserted as a user sees it.
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { SoloError, type ErrorCode, type SoloEvent } from "../../host/index.ts";
import type { SoloClient } from "../../host/client/types.ts";
import { example } from "../helpers.ts";
import { openServer, type TestServer } from "./server.ts";

export type Connect = (ts: TestServer, token: string) => Promise<SoloClient>;

async function fails(p: Promise<unknown>, code: ErrorCode): Promise<SoloError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, SoloError, `expected a SoloError ${code}, got ${String(err)}`);
    assert.is((err as SoloError).code, code, (err as Error).message);
    return err as SoloError;
  }
  throw new assert.Assertion({ message: `expected ${code}, but it succeeded`, operator: "fails", generated: false, expects: code, actual: "success" });
}

export function runContract(transport: string, connect: Connect): void {
  const s = suite(`API contract over ${transport}`);
  let ts: TestServer;
  let admin: SoloClient;
  const extra: SoloClient[] = [];
  const as = async (token: string) => {
    const c = await connect(ts, token);
    extra.push(c);
    return c;
  };

  s.before(async () => {
    ts = await openServer();
    admin = await connect(ts, ts.adminToken);
  });
  s.after(async () => {
    for (const c of extra) await c.close().catch(() => {});
    await admin?.close().catch(() => {});
    await ts?.close();
  });

  s("deploy → call → status → list → events → kill", async () => {
    const d = await admin.deploy({ tenant: "demo", service: "echo", source: example("echo.ts"), file: "echo.ts" });
    assert.is(d.tenant, "demo");
    assert.is(d.service, "echo");
    assert.is(d.version, 1);
    assert.is(d.language, "typescript");
    assert.equal([...d.capabilities].sort(), ["clock", "kv", "log", "random"]);

    const r = await admin.call("demo", "echo", "hi");
    assert.is(r.output, "hi");
    assert.ok(r.fuel > 0 && r.memoryBytes > 0);

    const st = await admin.status("demo", "echo");
    assert.is(st.state, "running");
    assert.is(st.calls, 1);
    assert.ok(st.fuelUsed >= r.fuel);
    assert.is(st.limits.fuel, d.limits.fuel);

    assert.equal((await admin.list("demo")).map((x) => x.service), ["echo"]);

    const seen: SoloEvent[] = [];
    for await (const e of admin.events({ tenant: "demo" })) seen.push(e);
    const deployed = seen.find((e) => e.type === "service_deployed" && e.service === "echo");
    assert.ok(deployed, "service_deployed is in the tenant's events");
    assert.is(deployed!.tenant, "demo");
    assert.is((deployed!.data as { version: number }).version, 1);
    // The actor names who asked: the admin certificate and the admin token's id.
    assert.match(deployed!.actor, /:/);

    await admin.kill("demo", "echo");
    await fails(admin.call("demo", "echo", "gone"), "NOT_FOUND");
    assert.equal(await admin.list("demo"), []);
  });

  s("a source that does not compile: COMPILE_ERROR with file, line and column, nothing deployed", async () => {
    const e = await fails(admin.deploy({ tenant: "demo", service: "broken", source: "export function handle(request: string): string {\n  return request +;\n}\n", file: "broken.ts" }), "COMPILE_ERROR");
    const d = (e.details?.diagnostics as { file: string; line: number; column: number; message: string }[])[0]!;
    assert.is(d.file, "broken.ts");
    assert.is(d.line, 2);
    assert.ok(d.column > 0);
    assert.equal(await admin.list("demo"), []);
  });

  s("a call the guest fails gets GUEST_ERROR with its message; bad names get INVALID_ARGUMENT", async () => {
    await admin.deploy({ tenant: "demo", service: "moody", source: 'export function handle(r: string): string {\n  if (r === "fail") throw new Error("asked to fail");\n  return r;\n}\n', file: "moody.ts" });
    const e = await fails(admin.call("demo", "moody", "fail"), "GUEST_ERROR");
    assert.match(e.message, /asked to fail/);
    assert.is((await admin.call("demo", "moody", "fine")).output, "fine");
    await fails(admin.call("Not A Tenant", "moody", "x"), "INVALID_ARGUMENT");
    await admin.kill("demo", "moody");
  });

  s("refusals: no token, a bad token, another tenant, a missing permission or service; nothing changes", async () => {
    await admin.deploy({ tenant: "demo", service: "keep", source: example("echo.as.ts"), file: "keep.as.ts" });
    const before = JSON.stringify((await admin.list("demo")).map((x) => [x.service, x.calls]));

    await fails((await as("")).call("demo", "keep", "x"), "UNAUTHENTICATED");
    await fails((await as("solo_not-a-token")).call("demo", "keep", "x"), "UNAUTHENTICATED");
    const other = await admin.grant({ tenant: "other", permissions: ["call", "read", "kill", "deploy"], ttlMs: 60_000 });
    await fails((await as(other.token)).call("demo", "keep", "x"), "PERMISSION_DENIED");
    await fails((await as(other.token)).kill("demo", "keep"), "PERMISSION_DENIED");
    const callOnly = await admin.grant({ tenant: "demo", permissions: ["call"], ttlMs: 60_000 });
    const c = await as(callOnly.token);
    const denied = await fails(c.kill("demo", "keep"), "PERMISSION_DENIED");
    assert.is(denied.details?.missing, "permission");
    await fails(c.deploy({ tenant: "demo", service: "sneak", source: example("echo.as.ts"), file: "sneak.as.ts" }), "PERMISSION_DENIED");
    await fails(c.list("demo"), "PERMISSION_DENIED");
    const narrow = await admin.grant({ tenant: "demo", permissions: ["call"], services: ["elsewhere"], ttlMs: 60_000 });
    const n = await fails((await as(narrow.token)).call("demo", "keep", "x"), "PERMISSION_DENIED");
    assert.is(n.details?.missing, "service");

    // Revoked: refused at once.
    const gone = await admin.grant({ tenant: "demo", permissions: ["call"], ttlMs: 60_000 });
    const g = await as(gone.token);
    assert.is((await g.call("demo", "keep", "before")).output, "before");
    await admin.revoke(gone.id);
    await fails(g.call("demo", "keep", "after"), "UNAUTHENTICATED");

    assert.is(JSON.stringify((await admin.list("demo")).map((x) => [x.service, x.calls])), before.replace('"keep",0', '"keep",1'));
    // Every refusal is recorded where it belongs: a live token's in its own tenant's log, the
    // rest (no token, a bad or revoked one) in the host's log, never in the tenant they named.
    const refusals: SoloEvent[] = [];
    for await (const e of admin.events({ type: "capability_denied" })) refusals.push(e);
    const where = (tenant: string) => refusals.filter((e) => e.tenant === tenant).length;
    assert.is(where("demo"), 4, "call-only: kill, deploy, list; narrowed: call");
    assert.is(where("other"), 2, "the other tenant's token, in its own log");
    assert.ok(where("_host") >= 3, "no token, a bad token, a revoked token");
    assert.not.ok(JSON.stringify(refusals).includes(callOnly.token), "no event holds a token");
  });

  s("a token with call works for call and reads its own usage only with read", async () => {
    const t = await admin.grant({ tenant: "demo", permissions: ["call", "read"], ttlMs: 60_000 });
    const c = await as(t.token);
    assert.is((await c.call("demo", "keep", "mine")).output, "mine");
    const u = await c.usage("demo");
    assert.is(u.tenant, "demo");
    assert.is(u.quotas.services.used, 1);
    assert.ok(u.quotas.memoryBytes.used > 0);
    await fails(c.usage("other"), "PERMISSION_DENIED");
  });

  s("attenuate narrows offline; the narrowed token cannot do what was dropped", async () => {
    const t = await admin.grant({ tenant: "demo", permissions: ["call", "kill"], ttlMs: 60_000 });
    const narrowed = await admin.attenuate({ token: t.token, permissions: ["call"] });
    assert.ok(narrowed.id.startsWith(t.id));
    const c = await as(narrowed.token);
    assert.is((await c.call("demo", "keep", "narrow")).output, "narrow");
    await fails(c.kill("demo", "keep"), "PERMISSION_DENIED");
    await fails(admin.attenuate({ token: narrowed.token, permissions: ["call", "kill"] }), "INVALID_ARGUMENT");
  });

  s("a live event stream sees what happens after it starts", async () => {
    const stream = admin.events({ tenant: "demo", follow: true });
    const it = stream[Symbol.asyncIterator]();
    // The stream is open once the server answers; a deploy after that must reach it.
    await new Promise((r) => setTimeout(r, 200));
    await admin.deploy({ tenant: "demo", service: "late", source: example("echo.as.ts"), file: "late.as.ts" });
    let found = false;
    for (let i = 0; i < 50 && !found; i++) {
      const { value, done } = await it.next();
      if (done) break;
      found = value.type === "service_deployed" && value.service === "late";
    }
    stream.close();
    assert.ok(found, "the live stream delivered service_deployed of the late service");
  });

  // --- Hot swap over the wire (issue 11): Swap, Rollback, Versions, Replace ---

  // The counter keeps its count in kv; v2 answers the same count marked "v2:".
  const counterV2 = () => example("counter.as.ts").replace("return next.toString();", 'return "v2:" + next.toString();');

  s("swap changes the answer and keeps kv; status and versions show both; rollback goes back", async () => {
    await admin.deploy({ tenant: "demo", service: "ctr", source: example("counter.as.ts"), file: "ctr.as.ts" });
    assert.is((await admin.call("demo", "ctr", "+")).output, "1");
    assert.is((await admin.call("demo", "ctr", "+")).output, "2");

    const before = Date.now();
    const sw = await admin.swap({ tenant: "demo", service: "ctr", source: counterV2(), file: "ctr.as.ts", rollbackWindowMs: 60_000 });
    assert.is(sw.version, 2);
    assert.is(sw.previousVersion, 1);
    assert.is(sw.language, "assemblyscript");
    assert.ok(typeof sw.switchMs === "number" && sw.switchMs >= 0, "switchMs is a number of ms");
    assert.ok(sw.rollbackUntil !== undefined && sw.rollbackUntil >= before + 60_000, "a 60 s window is open");
    assert.equal(sw.capabilities, ["clock", "kv", "log", "random"], "the running version's capabilities carry over");
    assert.is((await admin.call("demo", "ctr", "+")).output, "v2:3", "the new code, the old count");

    const st = await admin.status("demo", "ctr");
    assert.is(st.version, 2);
    assert.is(st.previousVersion, 1);
    assert.is(st.rollbackWindow?.previousVersion, 1);
    assert.is(st.rollbackWindow?.until, sw.rollbackUntil);
    assert.is(st.rollbackWindow?.failures, 0);
    assert.is(st.crashes, undefined, "no crashes: the field is absent, not zeros");

    const vs = await admin.versions("demo", "ctr");
    assert.equal(vs.map((v) => [v.version, v.via, v.current, v.rollbackable]), [[1, "deploy", false, true], [2, "swap", true, true]]);
    assert.is(vs[1]!.artifact, sw.artifact);
    assert.match(vs[1]!.sourceHash, /^[0-9a-f]{64}$/);
    assert.is(vs[1]!.language, "assemblyscript");
    assert.is(vs[0]!.limits.fuel, st.limits.fuel);
    assert.match(vs[1]!.actor ?? "", /:/, "the swap names who asked");

    const rb = await admin.rollback("demo", "ctr");
    assert.is(rb.version, 1);
    assert.is(rb.previousVersion, 2);
    assert.is(rb.rollbackUntil, undefined, "a rollback opens no window");
    assert.is((await admin.call("demo", "ctr", "+")).output, "4", "the old code, the count kept");
    const after = await admin.status("demo", "ctr");
    assert.is(after.version, 1);
    assert.is(after.previousVersion, 2);
    assert.is(after.rollbackWindow, undefined, "the rollback closed the window");

    // Back to 2 by number, then a version that never was: NOT_FOUND naming the versions.
    assert.is((await admin.rollback("demo", "ctr", 2)).version, 2);
    assert.is((await admin.call("demo", "ctr", "+")).output, "v2:5");
    const none = await fails(admin.rollback("demo", "ctr", 9), "NOT_FOUND");
    assert.match(none.message, /1, 2/);

    const events: string[] = [];
    for await (const e of admin.events({ tenant: "demo", service: "ctr" })) events.push(e.type);
    assert.ok(events.includes("hot_swap_started") && events.includes("hot_swap_succeeded"), events.join(", "));
  });

  s("a swap that does not compile: COMPILE_ERROR with its diagnostics, the old version keeps serving", async () => {
    const bad = "export function handle(r: string): string {\n  return 1;\n}\n";
    const e = await fails(admin.swap({ tenant: "demo", service: "ctr", source: bad, file: "ctr-v3.as.ts" }), "COMPILE_ERROR");
    const d = (e.details?.diagnostics as { file: string; line: number; column: number }[])[0]!;
    assert.is(d.file, "ctr-v3.as.ts");
    assert.is(d.line, 2);
    assert.ok(d.column > 0);
    assert.is((await admin.call("demo", "ctr", "+")).output, "v2:6", "version 2 serves on, count intact");
    assert.is((await admin.status("demo", "ctr")).version, 2);
    assert.equal((await admin.versions("demo", "ctr")).map((v) => v.version), [1, 2], "no version was made");

    // A health check the new version fails: GUEST_ERROR, nothing switched.
    const h = await fails(admin.swap({ tenant: "demo", service: "ctr", source: example("counter.as.ts"), file: "ctr.as.ts", health: { request: "reset", expect: "not what it answers" } }), "GUEST_ERROR");
    assert.is(h.details?.phase, "health");
    assert.is((await admin.status("demo", "ctr")).version, 2);
    // Params are checked the same way on every transport.
    const bad1 = await fails(admin.swap({ tenant: "demo", service: "ctr", source: counterV2(), file: "ctr.as.ts", maxFailureRate: 2 }), "INVALID_ARGUMENT");
    assert.is(bad1.details?.field, "maxFailureRate");
  });

  s("swap and rollback need `swap`: PERMISSION_DENIED without it, nothing changes; versions needs only read", async () => {
    const t = await admin.grant({ tenant: "demo", permissions: ["call", "read", "deploy", "kill"], ttlMs: 60_000 });
    const c = await as(t.token);
    const e = await fails(c.swap({ tenant: "demo", service: "ctr", source: example("counter.as.ts"), file: "ctr.as.ts" }), "PERMISSION_DENIED");
    assert.is(e.details?.missing, "permission");
    assert.is(e.details?.need, "swap");
    await fails(c.rollback("demo", "ctr"), "PERMISSION_DENIED");
    assert.equal((await c.versions("demo", "ctr")).map((v) => v.version), [1, 2]);
    assert.is((await admin.status("demo", "ctr")).version, 2);
    const rollbackOnly = await admin.grant({ tenant: "demo", permissions: ["swap"], services: ["ctr"], ttlMs: 60_000 });
    const r = await (await as(rollbackOnly.token)).rollback("demo", "ctr", 1);
    assert.is(r.version, 1);
    // Replace needs kill and deploy: the swap token may not; this one may, and the kv starts empty.
    await fails((await as(rollbackOnly.token)).replace({ tenant: "demo", service: "ctr", source: example("counter.as.ts"), file: "ctr.as.ts" }), "PERMISSION_DENIED");
    const rep = await c.replace({ tenant: "demo", service: "ctr", source: example("counter.as.ts"), file: "ctr.as.ts" });
    assert.is(rep.version, 1);
    assert.is((await c.call("demo", "ctr", "+")).output, "1", "replace starts from empty kv");
    assert.equal((await c.versions("demo", "ctr")).map((v) => v.version), [1], "a new history");
    await admin.kill("demo", "ctr");
  });

  s.run();
}
