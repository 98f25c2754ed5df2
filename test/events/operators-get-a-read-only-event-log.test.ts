import * as assert from "uvu/assert";
import { example, openHost, test } from "../helpers.ts";

// The log is tamper-evident; a library user holding the Host must not be able to write forged
// events into it. host.eventStore reads everything and appends nothing.
test("host.eventStore reads the whole log but cannot append to it", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const view = t.host.eventStore as unknown as Record<string, unknown>;
    assert.is(view.append, undefined, "no append");
    assert.not.ok("append" in view);
    assert.ok(Object.isFrozen(view), "nothing can be attached to it either");
    assert.equal(Object.values(view).every((v) => typeof v === "function"), true, "it exposes no store object to reach through");
    const all = await t.host.eventStore.list();
    assert.equal(all.map((e) => e.type), ["service_deployed"]);
    assert.is(t.host.eventStore.lastId(), all[0]!.id);
    assert.is((await t.host.eventStore.get(all[0]!.id))?.service, "echo");
    assert.equal((await t.host.eventStore.verify()).ok, true);
    const sub = t.host.eventStore.subscribe({}, { after: "" });
    assert.is((await sub.next()).value?.id, all[0]!.id);
    sub.close();
  } finally {
    await t.close();
  }
});

test.run();
