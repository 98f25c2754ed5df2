import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, SoloError } from "../../host/index.ts";
import { TEST_CACHE, example, fixture, rejects, test } from "../helpers.ts";

const echo = (service: string) => ({ tenant: "a", service, source: example("echo.as.ts"), language: "assemblyscript" as const });

test("close() finishes the calls and deploys in flight, refuses new work with UNAVAILABLE, then releases the data directory", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-close-"));
  try {
    // A bound no loaded machine reaches: the drain, not the bound, ends this close.
    const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, closeTimeoutMs: 120_000 });
    await host.deploy(echo("first"));
    await host.deploy({ tenant: "a", service: "spin", source: fixture("spin.as.ts"), language: "assemblyscript", limits: { fuel: 1e10, deadlineMs: 60_000 } });
    // Long enough (~0.2 s) to be running still when the workers would be stopped.
    const call = host.call("a", "spin", "100000000");
    const deploy = host.deploy(echo("second"));
    const closed = host.close();
    await rejects(host.call("a", "first", "late"), "UNAVAILABLE");
    await rejects(host.deploy(echo("third")), "UNAVAILABLE");
    await rejects(host.kill("a", "first"), "UNAVAILABLE");
    assert.match((await call).output, /^\d+$/, "the call in flight answered");
    assert.is((await deploy).service, "second");
    await closed;
    await host.close(); // twice is fine

    const again = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.equal(again.list("a").map((s) => s.service), ["first", "second", "spin"], "the deploy that was in flight is durable");
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("destroy() stops at once: a call and a deploy in flight settle with UNAVAILABLE and the data directory is released", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-destroy-"));
  try {
    const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await host.deploy({ tenant: "a", service: "spin", source: fixture("spin.as.ts"), language: "assemblyscript", limits: { fuel: 1e10, deadlineMs: 60_000 } });
    // Seconds of work: still running when destroy() begins.
    const call = host.call("a", "spin", "1000000000").then(() => "answered", (e: SoloError) => e.code);
    const deploy = host.deploy(echo("late")).then(() => "deployed", (e: SoloError) => e.code);
    await host.destroy();
    assert.is(await call, "UNAVAILABLE");
    assert.is(await deploy, "UNAVAILABLE");
    await host.close(); // after destroy, close has nothing left to do
    const again = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.equal(again.list("a").map((s) => s.service), ["spin"]);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
