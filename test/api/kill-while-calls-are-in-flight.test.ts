import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, SoloError } from "../../host/index.ts";
import { TEST_CACHE, example, test } from "../helpers.ts";

const counter = { tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" as const };

test("kill with calls in flight: the calls already sent answer (their writes committed), later ones get NOT_FOUND, and after a restart the service and its kv are gone", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-kill-"));
  try {
    const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await host.deploy(counter);
    await host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const outcome = (p: Promise<{ output: string }>) => p.then((r) => r.output, (e: SoloError) => e.code);
    // Sent in the same tick as the kill: each is in flight (queued for the worker, its kv commit
    // still to come) when the kill starts.
    const before = Array.from({ length: 200 }, () => outcome(host.call("a", "counter", "")));
    const killed = host.kill("a", "counter");
    const after = Array.from({ length: 50 }, () => outcome(host.call("a", "counter", "")));
    await killed;
    assert.equal((await Promise.all(before)).map(Number).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), "every call sent before the kill answered in turn");
    assert.ok((await Promise.all(after)).every((o) => o === "NOT_FOUND"), "calls after the kill get NOT_FOUND");
    assert.is((await host.call("a", "echo", "fine")).output, "fine");
    await host.close();

    const again = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.equal(again.list("a").map((s) => s.service), ["echo"], "the killed service stays gone");
      await again.deploy(counter);
      assert.is((await again.call("a", "counter", "")).output, "1", "a fresh service with an empty store");
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
