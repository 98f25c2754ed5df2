import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

const echo = example("echo.as.ts");

test("a tenant at its services quota cannot deploy another until it kills one; other tenants can", async () => {
  const t = await openHost({ quotas: { services: 2 } });
  try {
    await t.host.deploy({ tenant: "a", service: "one", source: echo, language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "two", source: echo, language: "assemblyscript" });
    const e = await rejects(t.host.deploy({ tenant: "a", service: "three", source: echo, language: "assemblyscript" }), "RESOURCE_EXHAUSTED");
    assert.equal({ quota: e.details?.quota, limit: e.details?.limit, used: e.details?.used }, { quota: "services", limit: 2, used: 2 });
    assert.match(e.message, /services quota is 2 and it uses 2; kill a service first/);
    await t.host.deploy({ tenant: "b", service: "three", source: echo, language: "assemblyscript" });
    await t.host.kill("a", "one");
    await t.host.deploy({ tenant: "a", service: "three", source: echo, language: "assemblyscript" });
    assert.equal(t.host.list("a").map((s) => s.service), ["three", "two"]);
  } finally {
    await t.close();
  }
});

test("deploys under way count against the services quota: of three at once, exactly one is refused", async () => {
  const t = await openHost({ quotas: { services: 2 } });
  try {
    const results = await Promise.allSettled(["x", "y", "z"].map((service) => t.host.deploy({ tenant: "a", service, source: echo, language: "assemblyscript" })));
    const refused = results.filter((r) => r.status === "rejected").map((r) => ((r as PromiseRejectedResult).reason as SoloError).code);
    assert.equal(refused, ["RESOURCE_EXHAUSTED"]);
    assert.is(t.host.list("a").length, 2);
  } finally {
    await t.close();
  }
});

test("past queuedCalls calls in flight to one service, exactly the extra calls are refused at once", async () => {
  const t = await openHost({ quotas: { queuedCalls: 3 } });
  try {
    await t.host.deploy({ tenant: "a", service: "spin", source: fixture("spin.as.ts"), language: "assemblyscript" });
    const calls = Array.from({ length: 5 }, () => t.host.call("a", "spin", "1000000"));
    assert.equal(t.host.usage("a").quotas.queuedCalls, { limit: 3, used: 3 });
    const results = await Promise.allSettled(calls);
    assert.equal(results.map((r) => r.status), ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"]);
    for (const r of results.slice(3)) {
      const e = (r as PromiseRejectedResult).reason as SoloError;
      assert.is(e.code, "RESOURCE_EXHAUSTED");
      assert.equal({ quota: e.details?.quota, limit: e.details?.limit, used: e.details?.used }, { quota: "queuedCalls", limit: 3, used: 3 });
    }
    // Once they answered, the service takes calls again.
    assert.ok((await t.host.call("a", "spin", "10")).output.length > 0);
  } finally {
    await t.close();
  }
});

test("the kvBytes quota spans all of a tenant's services: the second service's set answers limit-exceeded naming it", async () => {
  const t = await openHost({ quotas: { kvBytes: 10 * 1024 } });
  try {
    await t.host.deploy({ tenant: "a", service: "first", source: fixture("hoarder.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "second", source: fixture("hoarder.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "b", service: "other", source: fixture("hoarder.as.ts"), language: "assemblyscript" });
    // Each entry is "kN" + 1024 bytes: 1026 bytes (for N < 10). Nine fit in 10 KiB.
    const first = await t.host.call("a", "first", "");
    assert.match(first.output, /^9 limit-exceeded: the kv stores of tenant a would hold \d+ bytes; the tenant's kvBytes quota is 10240/);
    const second = await t.host.call("a", "second", "");
    assert.match(second.output, /^0 limit-exceeded: .*kvBytes quota is 10240/);
    // Another tenant has its own quota.
    await t.host.setQuotas("b", { kvBytes: 20 * 1024 });
    assert.match((await t.host.call("b", "other", "")).output, /^19 limit-exceeded: .*kvBytes quota is 20480/);
    const kv = t.host.usage("a").quotas.kvBytes;
    assert.is(kv.limit, 10 * 1024);
    assert.ok(kv.used === 9 * 1026, `kv used ${kv.used}`);
    // Killing the first service frees its bytes for the second.
    await t.host.kill("a", "first");
    assert.match((await t.host.call("a", "second", "")).output, /^9 limit-exceeded/);
  } finally {
    await t.close();
  }
});

test("a deploy asking for more fuel per call than the tenant's fuelPerCall quota is refused; without asking it gets the quota", async () => {
  const t = await openHost({ quotas: { fuelPerCall: 50_000_000 } });
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 60_000_000 } }), "RESOURCE_EXHAUSTED");
    assert.equal({ quota: e.details?.quota, limit: e.details?.limit, used: e.details?.used }, { quota: "fuelPerCall", limit: 50_000_000, used: 60_000_000 });
    assert.equal(t.host.list("a"), []);
    const d = await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript" });
    assert.is(d.limits.fuel, 50_000_000);
    const f = await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    assert.is(f.details?.fuelLimit, 50_000_000);
  } finally {
    await t.close();
  }
});

test.run();
