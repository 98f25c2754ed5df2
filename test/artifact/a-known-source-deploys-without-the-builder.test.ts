// A source built once (by any host sharing the cache directory) deploys again without starting the
// builder process: the host reads what the builder wrote; so do a restart's stored components. A cache file that was lost
// sends the deploy back to the builder, and the service still answers right.
import * as assert from "uvu/assert";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, openHost, test } from "../helpers.ts";

test("a second host deploys known sources without starting a builder", async () => {
  // A cache of its own (cold: AssemblyScript only, quick to build); the restart test covers TypeScript.
  const cacheDir = mkdtempSync(join(tmpdir(), "solo-built-cache-"));
  try {
    const first = await openHost({ cacheDir });
    try {
      await first.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      await first.host.deploy({ tenant: "a", service: "t", source: example("counter.as.ts"), language: "assemblyscript" });
      assert.is(first.host.stats().builderStarts, 1);
    } finally {
      await first.close();
    }
    const second = await openHost({ cacheDir });
    try {
      const d = await second.host.deploy({ tenant: "b", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      await second.host.deploy({ tenant: "b", service: "t", source: example("counter.as.ts"), language: "assemblyscript" });
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

test("a restarted host brings its services back without starting the builder", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "t", source: example("counter.ts"), language: "typescript" });
    await t.host.call("a", "t", "");
    await t.host.close();
    const again = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    try {
      assert.equal(again.list("a").map((s) => s.state), ["running", "running"]);
      assert.is(again.stats().builderStarts, 0, "every stored component was known");
      assert.is((await again.call("a", "t", "")).output, "2");
    } finally {
      await again.close();
    }
  } finally {
    await t.close().catch(() => {});
  }
});

/** A cache of its own in which a first host built examples/echo.as.ts (built once, copied per test). */
let builtOnce: string | undefined;
async function cacheWithEcho(): Promise<string> {
  if (!builtOnce) {
    builtOnce = mkdtempSync(join(tmpdir(), "solo-built-cache-"));
    const first = await openHost({ cacheDir: builtOnce });
    await first.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
    await first.close();
  }
  const copy = mkdtempSync(join(tmpdir(), "solo-built-cache-"));
  cpSync(builtOnce, copy, { recursive: true });
  return copy;
}

test("a cache file that was lost sends the deploy back to the builder, which answers right", async () => {
  const cacheDir = await cacheWithEcho();
  try {
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

test("an index that names glue outside the cache is not followed: the builder builds", async () => {
  const cacheDir = await cacheWithEcho();
  try {
    // Glue is host code: an index pointing it at any other file must not be taken.
    writeFileSync(join(cacheDir, "evil.js"), "export function instantiate() { throw new Error('ran'); }\n");
    for (const f of readdirSync(join(cacheDir, "built"))) {
      const path = join(cacheDir, "built", f);
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), glueUrl: pathToFileURL(join(cacheDir, "evil.js")).href }));
    }
    const second = await openHost({ cacheDir });
    try {
      await second.host.deploy({ tenant: "a", service: "e", source: example("echo.as.ts"), language: "assemblyscript" });
      assert.is(second.host.stats().builderStarts, 1, "the builder ran the job");
      assert.is((await second.host.call("a", "e", "safe")).output, "safe");
    } finally {
      await second.close();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    if (builtOnce) rmSync(builtOnce, { recursive: true, force: true });
  }
});

test.run();
