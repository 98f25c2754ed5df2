import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, fixture, rejects, test } from "../helpers.ts";

test("services and their committed kv survive a restart: the count goes on, killed services stay gone", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-restart-"));
  try {
    const first = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    const deployed = await first.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript", limits: { fuel: 123_456_789 } });
    await first.deploy({ tenant: "a", service: "echo", source: example("echo.ts"), language: "typescript" });
    await first.deploy({ tenant: "b", service: "gone", source: example("echo.as.ts"), language: "assemblyscript" });
    await first.kill("b", "gone");
    for (let i = 0; i < 3; i++) await first.call("a", "counter", "");
    const lastId = first.eventStore.lastId();
    await first.close();

    // A fresh artifact cache: recovery must not depend on it.
    const second = await Host.open({ dataDir, cacheDir: join(dataDir, "fresh-cache"), workers: 1 });
    try {
      assert.equal(second.list("a").map((s) => s.service), ["counter", "echo"]);
      assert.equal(second.list("b"), []);
      const s = second.status("a", "counter");
      assert.is(s.artifact, deployed.artifact);
      assert.is(s.limits.fuel, 123_456_789);
      assert.is((await second.call("a", "counter", "")).output, "4");
      assert.is((await second.call("a", "echo", "back")).output, "back");
      assert.is(second.stats().artifacts.compiles, 0, "nothing was recompiled");
      assert.equal((await second.verifyEvents()).ok, true);
      const events = [];
      for await (const e of second.events("a", { after: lastId ?? undefined })) events.push(`${e.type} ${e.service}`);
      assert.equal(events, ["service_recovered counter", "service_recovered echo"]);
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
    await host.close();
    // The worker's copy above; what is durable is what a restart loads from the database.
    const again = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.is((await again.call("a", "w", "list")).output, "keep");
    } finally {
      await again.close();
    }
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
