// Noisy neighbour by deadline: a tenant whose calls run until the watchdog stops them (a low
// limits.deadlineMs, a high fuel) holds its shared worker for the whole deadline and then has the
// worker replaced (every neighbour's service re-created). Such a call answers DEADLINE_EXCEEDED,
// not through the worker's results, so it must still count as a long call: the tenant is moved
// to an isolated worker like any heavy tenant, and its next stops replace that worker, not the
// light tenant's. (Supervision does not back it off: DEADLINE_EXCEEDED is no crash.)
import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

async function until(done: () => boolean, ms = 30_000) {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

test("a tenant whose calls are stopped at their deadline is moved to an isolated worker; the light tenant stays shared and keeps answering", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "hog", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 100 } });
    await t.host.deploy({ tenant: "light", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    assert.equal(t.host.workerOf("hog"), { worker: 0, isolated: false });
    assert.equal(t.host.workerOf("light"), { worker: 0, isolated: false });

    await rejects(t.host.call("hog", "loop", ""), "DEADLINE_EXCEEDED");
    await until(() => t.host.workerOf("hog")?.isolated === true);
    assert.is(t.host.workerOf("hog")?.isolated, true, "the tenant that ran into its deadline was moved off the shared worker");
    assert.is(t.host.stats().placement.isolations, 1);
    assert.equal(t.host.workerOf("light"), { worker: 0, isolated: false });

    // Its next stop replaces its own worker: the light tenant's worker is not re-created again.
    const restarts = t.host.stats().workerRestarts;
    await rejects(t.host.call("hog", "loop", ""), "DEADLINE_EXCEEDED");
    assert.is(t.host.stats().workerRestarts, restarts + 1);
    assert.is((await t.host.call("light", "echo", "hi")).output, "hi");
    assert.equal(t.host.status("light", "echo").state, "running");
    assert.equal(t.host.workerOf("light"), { worker: 0, isolated: false });
  } finally {
    await t.close();
  }
});

test.run();
