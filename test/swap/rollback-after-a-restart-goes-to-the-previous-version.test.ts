// The previous version is part of the durable history: after a restart, status still names it and
// rollback() with no version goes back to it, as it did before the restart.
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { openHost, TEST_CACHE, test } from "../helpers.ts";
import { labelled } from "./guests.ts";

test("swap v1 -> v2, restart: status().previousVersion is 1 and rollback() goes back to it", async () => {
  const t = await openHost({ workers: 1 });
  let host: Host = t.host;
  try {
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is(host.status("a", "c").previousVersion, 1);
    await host.close();

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 });
    assert.is(host.status("a", "c").previousVersion, 1, "status names the previous version after a restart");
    const back = await host.rollback("a", "c");
    assert.equal([back.version, back.previousVersion], [1, 2]);
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test.run();
