// Flapping: an isolated tenant quiet for lightAfterMs goes back to a shared worker, and its next
// heavy call runs there, in front of the light tenants, until it answers or reaches its deadline
// (seconds) before it is moved again. A tenant doing that in a loop (quiet, back, one long call)
// would hold a light tenant's worker once per lightAfterMs. Each quick relapse doubles the quiet
// time it needs to come back. The assertion is a lower bound the placement code enforces (a slow
// machine only makes the return later), so timing cannot make it fail when the code is right.
import * as assert from "uvu/assert";
import { example, fixture, openHost, test } from "../helpers.ts";

async function until(done: () => boolean, ms = 30_000) {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
}

const LIGHT_AFTER_MS = 300;

test("a tenant isolated again right after coming back must stay quiet twice as long the next time", async () => {
  const t = await openHost({ workers: 1, fairness: { loadWindowMs: 20, lightAfterMs: LIGHT_AFTER_MS } });
  try {
    // The default fuel (1e9): ~100 ms of spinning, well past heavyCallMs (20 ms).
    await t.host.deploy({ tenant: "hog", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "light", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const quietFor: number[] = [];
    for (let round = 0; round < 3; round++) {
      await until(() => t.host.workerOf("hog")?.isolated === false);
      assert.is(t.host.workerOf("hog")?.isolated, false, `round ${round}: back on the shared worker`);
      await t.host.call("hog", "loop", "").catch(() => {});
      await until(() => t.host.workerOf("hog")?.isolated === true);
      assert.is(t.host.workerOf("hog")?.isolated, true, `round ${round}: isolated again`);
      const isolatedAt = Date.now();
      if (round === 2) break;
      await until(() => t.host.workerOf("hog")?.isolated === false);
      quietFor.push(Date.now() - isolatedAt);
    }
    // Round 0 came back after lightAfterMs; round 1, a relapse, after at least twice that.
    assert.ok(quietFor[0]! >= LIGHT_AFTER_MS, `first return after ${quietFor[0]} ms`);
    assert.ok(quietFor[1]! >= 2 * LIGHT_AFTER_MS, `after a quick relapse the tenant came back after ${quietFor[1]} ms, not ${2 * LIGHT_AFTER_MS} or more`);
    const p = t.host.stats().placement;
    assert.is(p.isolations, 3);
    assert.is(p.returns, 2);
    assert.equal(t.host.workerOf("light"), { worker: 0, isolated: false });
  } finally {
    await t.close();
  }
});

test.run();
