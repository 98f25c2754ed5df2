import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { DEFAULT_QUOTAS } from "../../host/governance/index.ts";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

const loop = fixture("loop.as.ts");
const echo = example("echo.as.ts");

test("100 heavy calls sent at once spend at most the budget plus one call's limit; the extra are RESOURCE_EXHAUSTED with retryAfterMs; another tenant is not held up; nothing stays reserved", async () => {
  const t = await openHost();
  try {
    // A budget of 1e8 a second and calls that each burn their whole limit of 3e7: four fit
    // (1e8 free, then 7e7, 4e7, 1e7), the fifth finds nothing free.
    const budget = 100_000_000;
    const limit = 30_000_000;
    await t.host.setQuotas("a", { fuelPerSecond: budget });
    await t.host.deploy({ tenant: "a", service: "loop", source: loop, language: "assemblyscript", limits: { fuel: limit } });
    await t.host.deploy({ tenant: "b", service: "echo", source: echo, language: "assemblyscript" });

    const calls = Array.from({ length: 100 }, () => t.host.call("a", "loop", ""));
    const held = t.host.usage("a").quotas.fuelPerSecond;
    assert.is(held.reserved, 4 * limit, "each admitted call holds its fuel limit until it answers");
    const others = Array.from({ length: 20 }, (_, i) => t.host.call("b", "echo", `b${i}`));

    const results = await Promise.allSettled(calls);
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as SoloError).code : "OK"));
    const ran = codes.filter((c) => c === "FUEL_EXHAUSTED").length;
    const refused = results.filter((r) => r.status === "rejected" && (r.reason as SoloError).code === "RESOURCE_EXHAUSTED");
    assert.is(ran, 4, codes.join(","));
    assert.is(refused.length, 96);
    for (const r of refused) {
      const e = (r as PromiseRejectedResult).reason as SoloError;
      assert.is(e.details?.quota, "fuelPerSecond");
      assert.is(e.details?.limit, budget);
      assert.ok((e.details?.retryAfterMs as number) > 0, `retryAfterMs ${String(e.details?.retryAfterMs)}`);
    }
    const spent = t.host.status("a", "loop").fuelUsed;
    assert.ok(spent <= budget + limit + 1_000, `spent ${spent}, budget ${budget} + one call's ${limit}`);
    assert.ok(spent >= 4 * limit, `spent ${spent}`);

    assert.equal((await Promise.all(others)).map((r) => r.output), others.map((_, i) => `b${i}`));
    assert.is(t.host.usage("b").quotas.fuelPerSecond.reserved, 0);
    const after = t.host.usage("a").quotas.fuelPerSecond;
    assert.is(after.reserved, 0, "every reservation was given back");
    assert.ok(after.used > budget, `the bucket is in debt (${after.used}), by less than one call's limit`);
    assert.ok(after.used <= budget + limit, `used ${after.used}`);
  } finally {
    await t.close();
  }
});

test("a reservation is given back on every way a call ends: an answer, a guest error, a worker replaced at a deadline, a kill", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "loop", source: loop, language: "assemblyscript", limits: { fuel: 10_000_000 } });
    await t.host.deploy({ tenant: "a", service: "slow", source: loop, language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 50 } });
    const reserved = () => t.host.usage("a").quotas.fuelPerSecond.reserved;

    assert.is((await t.host.call("a", "echo", "x")).output, "x");
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    assert.is(reserved(), 0);

    // Stopped at its deadline: the worker is replaced, the calls queued behind it run after.
    const stuck = t.host.call("a", "slow", "");
    const behind = t.host.call("a", "echo", "behind");
    assert.is(reserved(), 10_000_000_000 + 1_000_000_000);
    await rejects(stuck, "DEADLINE_EXCEEDED");
    assert.is((await behind).output, "behind");
    assert.is(reserved(), 0);

    // Killed with calls in flight: they answer first, and give their reservations back.
    const inflight = Array.from({ length: 5 }, () => t.host.call("a", "loop", ""));
    const kill = t.host.kill("a", "loop");
    await Promise.allSettled(inflight);
    await kill;
    await rejects(t.host.call("a", "loop", ""), "NOT_FOUND");
    assert.is(reserved(), 0);
  } finally {
    await t.close();
  }
});

test("under the default quotas 1,000 calls at the default fuel limit may be in flight at once", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: echo, language: "assemblyscript" });
    const calls = Array.from({ length: 1_000 }, (_, i) => t.host.call("a", "echo", String(i)));
    assert.is(t.host.usage("a").quotas.fuelPerSecond.reserved, 1_000 * 1_000_000_000);
    assert.is(t.host.usage("a").quotas.fuelPerSecond.limit, DEFAULT_QUOTAS.fuelPerSecond);
    assert.equal((await Promise.all(calls)).map((r) => r.output), calls.map((_, i) => String(i)));
    assert.is(t.host.usage("a").quotas.fuelPerSecond.reserved, 0);
  } finally {
    await t.close();
  }
});

test.run();
