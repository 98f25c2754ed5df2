import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("a tenant past its fuel-per-second budget is throttled with retryAfterMs, another tenant is not, and after the wait it works again", async () => {
  const t = await openHost();
  try {
    // A budget of 1e8 units a second (burst 1e8) and a loop that takes 1.5e8 in one call: the
    // bucket is ~5e7 in debt afterwards, half a second of refill (the call itself takes ~15 ms).
    const rate = 100_000_000;
    await t.host.setQuotas("a", { fuelPerSecond: rate });
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 150_000_000 } });
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });

    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    const e = await rejects(t.host.call("a", "echo", "hi"), "RESOURCE_EXHAUSTED");
    assert.is(e.details?.quota, "fuelPerSecond");
    assert.is(e.details?.limit, rate);
    assert.ok((e.details?.used as number) > rate, `used ${String(e.details?.used)} is past the budget`);
    const wait = e.details?.retryAfterMs as number;
    assert.ok(wait > 0 && wait <= 1000, `retryAfterMs ${wait}`);
    assert.match(e.message, /fuelPerSecond quota is 100000000/);
    assert.ok(t.host.usage("a").quotas.fuelPerSecond.used > rate, "usage shows the debt");

    // Tenant b's calls are not throttled.
    for (let i = 0; i < 5; i++) assert.is((await t.host.call("b", "echo", "still")).output, "still");

    await new Promise((r) => setTimeout(r, wait));
    assert.is((await t.host.call("a", "echo", "again")).output, "again");
    assert.is(t.host.status("a", "echo").errors.RESOURCE_EXHAUSTED, 1, "the refused call is counted");
    const violations = [];
    for await (const ev of t.host.events("a", { type: "resource_violation", service: "echo" })) violations.push(ev.data);
    assert.is(violations.length, 1);
    assert.is(violations[0]!.quota, "fuelPerSecond");
  } finally {
    await t.close();
  }
});

test.run();
