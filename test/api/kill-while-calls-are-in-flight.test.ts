import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { example, openHost, test } from "../helpers.ts";

test("killing a service with calls in flight: each call answers or gets NOT_FOUND, nothing hangs, the name is free again", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const calls = Array.from({ length: 500 }, () => t.host.call("a", "counter", "").then((r) => r.output, (e: SoloError) => e.code));
    const killed = t.host.kill("a", "counter");
    const outcomes = await Promise.all(calls);
    await killed;
    const codes = new Set(outcomes.filter((o) => !/^\d+$/.test(o)));
    assert.ok([...codes].every((c) => c === "NOT_FOUND"), `only NOT_FOUND besides answers, got ${[...codes]}`);
    assert.is((await t.host.call("a", "echo", "fine")).output, "fine");
    await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("a", "counter", "")).output, "1", "a fresh service with an empty store");
  } finally {
    await t.close();
  }
});

test.run();
