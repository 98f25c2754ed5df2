import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("an infinite loop ends with FUEL_EXHAUSTED and every service keeps answering", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 2_000_000 } });
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const e = await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    assert.equal(e.details, { fuelLimit: 2_000_000 });
    assert.is(t.host.status("a", "loop").fuelUsed, 2_000_000, "a call that runs out is charged its whole limit");
    assert.is((await t.host.call("a", "echo", "still here")).output, "still here");
    assert.is((await t.host.call("b", "echo", "me too")).output, "me too");
    // The looping service itself is re-created and stops again, the same way.
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    const s = t.host.status("a", "loop");
    assert.is(s.errors.FUEL_EXHAUSTED, 2);
    // The second also pays its re-created instance's start (a few hundred units for this guest).
    const second = s.fuelUsed - 2_000_000;
    assert.ok(second > 2_000_000 && second < 2_010_000, `the second call was charged ${second}`);
  } finally {
    await t.close();
  }
});

test.run();
