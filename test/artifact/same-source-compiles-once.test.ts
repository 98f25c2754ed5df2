import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { example, test } from "../helpers.ts";

test("deploying the same source twice compiles and meters once; a new host reuses the disk cache", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-cache-test-"));
  // A unique comment makes this source new to every cache.
  const source = `// ${Date.now()} ${Math.random()}\n${example("echo.as.ts")}`;
  try {
    const first = await Host.open({ dataDir: join(dir, "data1"), cacheDir: join(dir, "cache"), workers: 1 });
    try {
      const a = await first.deploy({ tenant: "t", service: "one", source, language: "assemblyscript" });
      assert.equal(first.stats().artifacts, { compiles: 1, compileHits: 0, meters: 1, meterHits: 0 });
      const b = await first.deploy({ tenant: "t", service: "two", source, language: "assemblyscript" });
      assert.is(b.artifact, a.artifact);
      assert.equal(first.stats().artifacts, { compiles: 1, compileHits: 1, meters: 1, meterHits: 0 });
    } finally {
      await first.close();
    }
    // Another host sharing the artifact cache directory (its own data, so nothing is recovered).
    const second = await Host.open({ dataDir: join(dir, "data2"), cacheDir: join(dir, "cache"), workers: 1 });
    try {
      const started = performance.now();
      await second.deploy({ tenant: "t", service: "one", source, language: "assemblyscript" });
      const ms = performance.now() - started;
      assert.equal(second.stats().artifacts, { compiles: 0, compileHits: 1, meters: 0, meterHits: 1 });
      assert.is((await second.call("t", "one", "cached")).output, "cached");
      console.log(`cached deploy took ${ms.toFixed(1)} ms`);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("concurrent deploys of one new source share a single compile", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-cache-test-"));
  const source = `// ${Date.now()} ${Math.random()}\n${example("echo.as.ts")}`;
  const host = await Host.open({ dataDir: dir, workers: 1 });
  try {
    await Promise.all(["a", "b", "c"].map((service) => host.deploy({ tenant: "t", service, source, language: "assemblyscript" })));
    assert.is(host.stats().artifacts.compiles, 1);
    assert.is(host.list("t").length, 3);
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
