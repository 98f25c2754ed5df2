// During a swap both versions' instances are alive on the worker, so a service using more than
// half of its tenant's memory quota cannot be swapped. That must fail cleanly (version 1 serves)
// and tell the agent what to do about a swap, not about a deploy.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import { component, ECHO } from "../abuse/hostile.ts";

const MIB = 1024 * 1024;
/** The echo with a 100-page (6.25 MiB) memory; `tag` makes a distinct artifact. */
const big = (tag: number) => component(ECHO.replace(/\(memory (\(export "memory"\) )?1\)/, `(memory $1100)`).replace("(i32.const 1024)", `(i32.const ${1024 + tag * 16})`));

test("a swap over the tenant's memory quota with both instances alive: RESOURCE_EXHAUSTED naming the swap; version 1 serves", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const { host } = t;
    const v1 = await big(0);
    await host.deploy({ tenant: "a", service: "e", source: v1, language: "component" });
    const mem = host.status("a", "e").memoryBytes;
    assert.ok(mem >= 6 * MIB, `version 1 holds ${mem} bytes`);
    await host.setQuotas("a", { memoryBytes: 10 * MIB });
    const e = await rejects(host.swap({ tenant: "a", service: "e", source: await big(1), language: "component", rollbackWindowMs: 0 }), "RESOURCE_EXHAUSTED");
    assert.is(host.status("a", "e").version, 1);
    assert.is((await host.call("a", "e", "still")).output, "still");
    assert.match(e.message, /swap/, `the message speaks of the swap: ${e.message}`);
  } finally {
    await t.close();
  }
});

test.run();
