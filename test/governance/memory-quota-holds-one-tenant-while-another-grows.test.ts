import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

const PAGE = 65536;

test("a tenant at its memory quota can neither grow nor deploy, while another tenant deploys and grows", async () => {
  const t = await openHost();
  try {
    const quota = 2 * 1024 * 1024;
    await t.host.setQuotas("a", { memoryBytes: quota });
    const grow = await t.host.deploy({ tenant: "a", service: "grow", source: fixture("grow.as.ts"), language: "assemblyscript", limits: { memoryBytes: 16 * 1024 * 1024 } });
    // Fill the quota exactly: the service's own limit (16 MiB) would allow far more.
    const fill = (quota - grow.memoryBytes) / PAGE;
    assert.is((await t.host.call("a", "grow", String(fill))).output, String(quota / PAGE));
    const e = await rejects(t.host.call("a", "grow", "1"), "MEMORY_LIMIT");
    assert.is(e.details?.quota, "memoryBytes");
    assert.is(e.details?.limit, quota);
    assert.is(e.details?.used, quota);
    assert.match(e.message, /memoryBytes quota is 2097152/);

    // The refused call trapped: its instance is re-created small, so grow it back to the quota.
    const again = (await t.host.call("a", "grow", "0")).memoryBytes;
    await t.host.call("a", "grow", String((quota - again) / PAGE));
    const d = await rejects(t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" }), "RESOURCE_EXHAUSTED");
    assert.is(d.details?.quota, "memoryBytes");
    assert.is(d.details?.limit, quota);
    assert.ok((d.details?.used as number) > quota, `used ${String(d.details?.used)} counts the new instance`);
    assert.equal(t.host.list("a").map((s) => s.service), ["grow"], "nothing of the refused deploy is left");
    await rejects(t.host.call("a", "echo", "x"), "NOT_FOUND");

    // Tenant b (default quota) deploys and grows past what a may have.
    const b = await t.host.deploy({ tenant: "b", service: "grow", source: fixture("grow.as.ts"), language: "assemblyscript", limits: { memoryBytes: 16 * 1024 * 1024 } });
    const r = await t.host.call("b", "grow", String(64));
    assert.is(r.memoryBytes, b.memoryBytes + 64 * PAGE);
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("b", "echo", "fine")).output, "fine");

    const violations = [];
    for await (const ev of t.host.events("a", { type: "resource_violation" })) violations.push(ev.data);
    assert.ok(violations.some((v) => v.quota === "memoryBytes" && v.code === "MEMORY_LIMIT" && v.limit === quota), JSON.stringify(violations));
    assert.ok(violations.some((v) => v.quota === "memoryBytes" && v.code === "RESOURCE_EXHAUSTED"), JSON.stringify(violations));
  } finally {
    await t.close();
  }
});

test("freeing memory (killing a service) lets the tenant deploy again", async () => {
  const t = await openHost({ quotas: { memoryBytes: 2 * 1024 * 1024 } });
  try {
    const grow = await t.host.deploy({ tenant: "a", service: "grow", source: fixture("grow.as.ts"), language: "assemblyscript" });
    await t.host.call("a", "grow", String((2 * 1024 * 1024 - grow.memoryBytes) / PAGE));
    await rejects(t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" }), "RESOURCE_EXHAUSTED");
    await t.host.kill("a", "grow");
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("a", "echo", "back")).output, "back");
  } finally {
    await t.close();
  }
});

test("a QuickJS guest (several memories, one budget) is held to what its tenant's quota leaves it", async () => {
  const t = await openHost();
  try {
    const d = await t.host.deploy({ tenant: "a", service: "bomb", source: fixture("bomb.ts"), language: "typescript", limits: { memoryBytes: 48 * 1024 * 1024, fuel: 2_000_000_000 } });
    const quota = d.memoryBytes + 4 * 1024 * 1024;
    await t.host.setQuotas("a", { memoryBytes: quota });
    const e = await rejects(t.host.call("a", "bomb", ""), "MEMORY_LIMIT");
    assert.is(e.details?.quota, "memoryBytes");
    assert.is(e.details?.limit, quota);
    assert.ok((e.details?.used as number) <= quota, `used ${String(e.details?.used)}`);
  } finally {
    await t.close();
  }
});

test.run();
