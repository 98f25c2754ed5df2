// A rollback window with a health check runs it every second. Closing the host (or killing the
// service) ends those checks: close() resolves, no check is left running against a closed pool,
// and no automatic rollback is attempted while the host closes.
import * as assert from "uvu/assert";
import type { SoloEvent } from "../../host/index.ts";
import { Host } from "../../host/index.ts";
import { openHost, TEST_CACHE, test } from "../helpers.ts";
import { labelled } from "./guests.ts";

const HEALTHY = labelled("v2") + `\nexport function health(): string | null { return null; }\n`;

test("close() with a window whose health check is due: resolves; the reopened log has no rollback", async () => {
  const t = await openHost({ workers: 1 });
  let host: Host = t.host;
  try {
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "k", source: labelled("k1"), language: "assemblyscript" });
    await host.swap({ tenant: "a", service: "c", source: HEALTHY, language: "assemblyscript", rollbackWindowMs: 60_000, maxFailureRate: 0 });
    await host.swap({ tenant: "a", service: "k", source: HEALTHY, language: "assemblyscript", rollbackWindowMs: 60_000, maxFailureRate: 0 });
    await host.kill("a", "k");
    // Let a few health checks run, then close in the middle of the next ones.
    await new Promise((r) => setTimeout(r, 2_500));
    await host.close();
    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 });
    const types: string[] = [];
    for await (const e of host.events("a") as AsyncGenerator<SoloEvent>) types.push(e.type);
    assert.ok(!types.includes("hot_swap_rolled_back"), `no rollback: ${types.join(", ")}`);
    assert.is(host.status("a", "c").version, 2);
    assert.is(host.status("a", "c").rollbackWindow, undefined, "a window does not outlive a restart (not stored)");
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test.run();
