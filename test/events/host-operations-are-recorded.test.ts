import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("deploy, failed deploy, crash, resource violation and kill are recorded with actor and reason", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "moody", source: fixture("moody.as.ts"), language: "assemblyscript" });
    await rejects(t.host.deploy({ tenant: "a", service: "broken", source: "export function handle(r: string): string { return 1; }", language: "assemblyscript" }), "COMPILE_ERROR");
    await rejects(t.host.call("a", "moody", "trap"), "GUEST_TRAP");
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 100_000 } });
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    await t.host.kill("a", "moody");

    const events = [];
    for await (const e of t.host.events("a")) events.push(e);
    assert.equal(events.map((e) => `${e.type} ${e.service}`), [
      "service_deployed moody",
      "service_deployment_failed broken",
      "service_crashed moody",
      "service_deployed loop",
      "resource_violation loop",
      "service_killed moody",
    ]);
    assert.ok(events.every((e) => e.actor === "local" && e.tenant === "a"));
    const failed = events[1]!;
    assert.is(failed.data.code, "COMPILE_ERROR");
    assert.ok(Array.isArray((failed.data.details as any).diagnostics));
    assert.equal(events[4]!.data.limit, "fuel");
    assert.is(events[4]!.data.value, 100_000);
    assert.match(String(events[2]!.data.message), /boom/);
    assert.is(events[3]!.data.artifact, t.host.status("a", "loop").artifact);
    assert.equal((await t.host.verifyEvents()).ok, true);
  } finally {
    await t.close();
  }
});

test("a tenant reads only its own events", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "alice", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "bob", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const bobs = [];
    for await (const e of t.host.events("bob")) bobs.push(e);
    assert.is(bobs.length, 1);
    assert.is(bobs[0]!.tenant, "bob");
    const alices = [];
    for await (const e of t.host.events("alice")) alices.push(e);
    await rejects(t.host.event("bob", alices[0]!.id), "NOT_FOUND");
    assert.is((await t.host.event("alice", alices[0]!.id)).id, alices[0]!.id);
    // The operator sees both.
    assert.is((await t.host.eventStore.list()).length, 2);
  } finally {
    await t.close();
  }
});

test("a live subscription sees a deploy as it happens", async () => {
  const t = await openHost();
  try {
    const sub = t.host.subscribe("a", { type: "service_deployed" });
    const first = sub.next();
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const r = await first;
    assert.is(r.value?.tenant, "a");
    assert.is(r.value?.type, "service_deployed");
    sub.close();
  } finally {
    await t.close();
  }
});

test.run();
