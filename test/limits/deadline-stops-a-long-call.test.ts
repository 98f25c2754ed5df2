import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("a call past its deadline gets DEADLINE_EXCEEDED; calls queued behind it still answer", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 300 } });
    await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("a", "counter", "")).output, "1");
    const long = t.host.call("a", "loop", "");
    const queued = t.host.call("a", "counter", "");
    const e = await rejects(long, "DEADLINE_EXCEEDED");
    assert.match(e.message, /deadline/);
    assert.is((await queued).output, "2", "the queued call ran on the replacement worker with the committed kv");
    assert.is(t.host.stats().workerRestarts, 1);
    assert.is((await t.host.call("a", "counter", "")).output, "3");
  } finally {
    await t.close();
  }
});

test.run();
