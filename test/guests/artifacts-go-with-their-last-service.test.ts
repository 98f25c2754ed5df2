// A stored artifact (the component a restart re-creates a service from) is kept while any service
// uses it and deleted with the last one's kill, in the same batch; it is stored as bytes.
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { artifactKey, Storage } from "../../host/storage/index.ts";
import { example, openHost, rejects, TEST_CACHE, test } from "../helpers.ts";

async function storedArtifacts(dataDir: string): Promise<[string, Uint8Array | null][]> {
  const storage = await Storage.open(join(dataDir, "db"));
  try {
    const keys = (await storage.recordsWithPrefix("a:")).map(([k]) => k);
    return await Promise.all(keys.map(async (k) => [k, await storage.recordBytes(k)] as [string, Uint8Array | null]));
  } finally {
    await storage.close();
  }
}

test("two services share one stored artifact; it goes with the last kill, and it is wasm bytes", async () => {
  const t = await openHost();
  try {
    const source = example("counter.as.ts");
    const a = await t.host.deploy({ tenant: "x", service: "one", source, language: "assemblyscript" });
    await t.host.deploy({ tenant: "y", service: "two", source, language: "assemblyscript" });
    await t.host.close();
    const stored = await storedArtifacts(t.dataDir);
    assert.equal(stored.map(([k]) => k), [artifactKey(a.artifact)], "stored once");
    assert.equal([...stored[0]![1]!.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "as the component's own bytes");

    let host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    await host.kill("x", "one");
    assert.is((await host.call("y", "two", "")).output, "1", "the other service still runs");
    await host.close();
    assert.is((await storedArtifacts(t.dataDir)).length, 1, "kept while a service uses it");

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    assert.is((await host.call("y", "two", "")).output, "2", "recovered from the stored artifact");
    await host.kill("y", "two");
    await host.close();
    assert.equal(await storedArtifacts(t.dataDir), [], "gone with the last service");

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    await rejects(host.call("y", "two", ""), "NOT_FOUND");
    await host.deploy({ tenant: "y", service: "two", source, language: "assemblyscript" });
    await host.close();
    assert.is((await storedArtifacts(t.dataDir)).length, 1, "a new deploy stores it again");
  } finally {
    await t.close().catch(() => {});
  }
});

test.run();
