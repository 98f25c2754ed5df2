// A source built once (by any host sharing the cache directory) deploys again without starting the
// builder process: the host reads what the builder wrote. A cache file that was lost
// sends the deploy back to the builder, and the service still answers right.
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { example, openHost, test } from "../helpers.ts";

test("a second host deploys known AssemblyScript and TypeScript sources without starting a builder", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "solo-built-cache-"));
  try {
    const first = await openHost({ cacheDir });
    try {
      await first.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      await first.host.deploy({ tenant: "a", service: "t", source: example("counter.ts"), language: "typescript" });
      assert.is(first.host.stats().builderStarts, 1);
    } finally {
      await first.close();
    }
    const second = await openHost({ cacheDir });
    try {
      const d = await second.host.deploy({ tenant: "b", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      await second.host.deploy({ tenant: "b", service: "t", source: example("counter.ts"), language: "typescript" });
      assert.is(second.host.stats().builderStarts, 0, "no builder process was started");
      assert.is((await second.host.call("b", "e", "hé")).output, "hé");
      assert.is((await second.host.call("b", "t", "")).output, "1");
      assert.is(d.language, "assemblyscript");
    } finally {
      await second.close();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("a cache file that was lost sends the deploy back to the builder, which answers right", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "solo-built-cache-"));
  try {
    const first = await openHost({ cacheDir });
    await first.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
    await first.close();
    // Every component in the cache is gone: the index names files that are not there.
    for (const f of readdirSync(join(cacheDir, "components"))) rmSync(join(cacheDir, "components", f));
    const second = await openHost({ cacheDir });
    try {
      await second.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      assert.is(second.host.stats().builderStarts, 1, "the builder ran the job");
      assert.is((await second.host.call("a", "e", "still right")).output, "still right");
    } finally {
      await second.close();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test.run();
