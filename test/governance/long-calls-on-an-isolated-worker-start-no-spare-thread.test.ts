// A long call on a shared worker starts a spare isolated thread ahead of the move it will cause.
// Long calls already on an isolated worker must not: that tenant has nowhere further to go. This
// held only while isolated threads ran at a lower OS priority (the check read "nice 0" as
// "shared"); with fairness.nice 0 every long call of an isolated tenant started another thread.
import * as assert from "uvu/assert";
import { fixture, openHost, rejects, test } from "../helpers.ts";

async function until(done: () => boolean, ms = 30_000) {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

for (const nice of [0, 10]) {
  test(`long calls of a tenant already on an isolated worker start no spare thread (fairness.nice ${nice})`, async () => {
    const t = await openHost({ workers: 1, fairness: { nice, isolatedWorkers: 4 } });
    try {
      // The default fuel (1e9): ~100 ms of spinning, well past heavyCallMs (20 ms) on any machine.
      await t.host.deploy({ tenant: "hog", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript" });
      await rejects(t.host.call("hog", "loop", ""), "FUEL_EXHAUSTED");
      await until(() => t.host.workerOf("hog")?.isolated === true);
      assert.equal(t.host.workerOf("hog"), { worker: 1, isolated: true }, "moved to the spare its first long call started");
      assert.is(t.host.stats().placement.isolatedWorkers, 1);
      for (let i = 0; i < 3; i++) await rejects(t.host.call("hog", "loop", ""), "FUEL_EXHAUSTED");
      assert.is(t.host.stats().placement.isolatedWorkers, 1, "no spare was started for calls already on an isolated worker");
      assert.equal(t.host.workerOf("hog"), { worker: 1, isolated: true });
    } finally {
      await t.close();
    }
  });
}

test.run();
