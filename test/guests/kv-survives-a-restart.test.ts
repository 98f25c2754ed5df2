import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, fixture, rejects, test } from "../helpers.ts";

test("committed kv is on disk: after the host restarts, the service's count goes on", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-restart-"));
  try {
    const first = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await first.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    for (let i = 0; i < 3; i++) await first.call("a", "counter", "");
    const lastId = first.eventStore.lastId();
    await first.close();

    const second = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      // Services come back with the persistence issue; the state is already there.
      await second.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
      assert.is((await second.call("a", "counter", "")).output, "4");
      assert.equal((await second.verifyEvents()).ok, true);
      const events = [];
      for await (const e of second.events("a", { after: lastId ?? undefined })) events.push(e.type);
      assert.equal(events, ["service_deployed"]);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a call that fails after writing leaves no writes behind", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-restart-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
  try {
    await host.deploy({ tenant: "a", service: "w", source: fixture("write-then-fail.as.ts"), language: "assemblyscript" });
    assert.is((await host.call("a", "w", "keep")).output, "kept");
    await rejects(host.call("a", "w", "fail"), "GUEST_ERROR");
    await rejects(host.call("a", "w", "trap"), "GUEST_TRAP");
    assert.is((await host.call("a", "w", "list")).output, "keep");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
