import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

/** Polls until `done` (a move waits for a new thread to load: ~0.3 s idle, seconds on an overloaded machine). */
async function until(done: () => boolean, ms = 30_000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(done(), "timed out waiting");
}

test("a tenant moved to an isolated worker takes its services without instances as they were: made by their next call", async () => {
  const t = await openHost({ workers: 1, idleMs: 0, fairness: { loadWindowMs: 50, lightAfterMs: 600_000 } });
  try {
    const { host } = t;
    await host.deploy({ tenant: "proof", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript" });
    for (let i = 0; i < 5; i++) await host.deploy({ tenant: "a", service: `echo${i}`, source: example("echo.as.ts"), language: "assemblyscript" });
    assert.is(host.stats().instances.deploysWithoutStart, 5);
    assert.is((await host.call("a", "counter", "")).output, "1");

    const before = host.stats().instances.created;
    // ~100 ms of spinning (the default fuel) marks tenant a heavy: it moves.
    await rejects(host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    await until(() => host.workerOf("a")?.isolated === true);
    assert.is((await host.call("a", "counter", "")).output, "2", "the committed kv moved with it");
    // The new worker made counter's and loop's instances (live as far as the host knew), none of the echoes'.
    assert.is(host.stats().instances.created - before, 2);
    for (let i = 0; i < 5; i++) assert.is((await host.call("a", `echo${i}`, `e${i}`)).output, `e${i}`);
    assert.is(host.stats().instances.created - before, 2 + 5);
  } finally {
    await t.close();
  }
});

test.run();
