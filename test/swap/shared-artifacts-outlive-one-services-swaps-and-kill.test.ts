// Two services built from the same code share one stored artifact. One service's swaps (which
// drop artifacts past the newest kept ones) and its kill must never delete an artifact the other
// still runs or can roll back to, before or after a restart.
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, openHost, test } from "../helpers.ts";
import { constant } from "./constant-component.ts";


const reopen = (dataDir: string) => Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });

test("A and B share an artifact; A swaps past it and is killed; B runs it and rolls back to it across restarts", async () => {
  const t = await openHost({ workers: 1 });
  let host: Host = t.host;
  try {
    const one = await constant("one");
    await host.deploy({ tenant: "a", service: "sa", source: one, language: "component" });
    await host.deploy({ tenant: "b", service: "sb", source: one, language: "component" });
    // B moves on to "two" but keeps "one" to roll back to.
    await host.swap({ tenant: "b", service: "sb", source: await constant("two"), language: "component", rollbackWindowMs: 0 });
    // A swaps 6 times: "one" leaves A's kept artifacts.
    for (const n of ["a2", "a3", "a4", "a5", "a6", "a7"]) await host.swap({ tenant: "a", service: "sa", source: await constant(n), language: "component", rollbackWindowMs: 0 });
    assert.is(host.versions("a", "sa")[0]!.rollbackable, false);
    await host.close();

    host = await reopen(t.dataDir);
    await host.kill("a", "sa");
    await host.close();

    host = await reopen(t.dataDir);
    assert.is(host.status("b", "sb").state, "running");
    assert.is((await host.call("b", "sb", "x")).output, "two");
    await host.rollback("b", "sb", 1);
    assert.is((await host.call("b", "sb", "x")).output, "one", "B rolled back to the shared artifact");
    await host.close();

    host = await reopen(t.dataDir);
    assert.is(host.status("b", "sb").state, "running", `B recovers on the shared artifact: ${host.status("b", "sb").failure?.message}`);
    assert.is((await host.call("b", "sb", "x")).output, "one");
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test.run();
