// The version history is durable: after a restart the service runs the version that was current,
// lists every version, and can roll back to one whose artifact is still kept (read back from the
// database, not compiled). Only the newest versions' artifacts are kept; older ones are deleted
// with the swap that drops them, and rolling back to one says so.
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { Storage, artifactKey } from "../../host/storage/index.ts";
import { TEST_CACHE, openHost, rejects, test } from "../helpers.ts";
import { constant } from "./constant-component.ts";
import { labelled } from "./guests.ts";


test("after a restart: the current version runs, the history is whole, rollback reads the kept artifact back", async () => {
  const t = await openHost();
  let host: Host = t.host;
  try {
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript", description: "counts", tags: ["demo"] });
    await host.call("a", "c", "x");
    await host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", rollbackWindowMs: 0 });
    await host.call("a", "c", "x");
    const before = host.versions("a", "c");
    await host.close();

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    assert.is(host.status("a", "c").version, 2);
    assert.equal([host.status("a", "c").description, host.status("a", "c").tags], ["counts", ["demo"]], "a swap keeps what the deploy said of the service");
    assert.is((await host.call("a", "c", "x")).output, "v2:3");
    const after = host.versions("a", "c");
    assert.equal(after, before);
    assert.equal(after.map((v) => [v.version, v.via, v.current, v.rollbackable, v.actor, v.sourceHash.length]), [[1, "deploy", false, true, "local", 64], [2, "swap", true, true, "local", 64]]);

    const compiles = host.stats().artifacts.compiles;
    await host.rollback("a", "c", 1);
    assert.is((await host.call("a", "c", "x")).output, "v1:4");
    assert.is(host.stats().artifacts.compiles, compiles, "nothing was compiled: the stored artifact was read back");
    await host.close();

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    assert.is(host.status("a", "c").version, 1, "the rollback is durable too");
    assert.is((await host.call("a", "c", "x")).output, "v1:5");
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test("only the newest versions' artifacts are kept; rolling back past them is NOT_FOUND, and a kill removes the history", async () => {
  const t = await openHost();
  let host: Host = t.host;
  try {
    await host.deploy({ tenant: "a", service: "k", source: await constant("one"), language: "component" });
    const names = ["two", "three", "four", "five", "six", "seven"];
    for (const n of names) await host.swap({ tenant: "a", service: "k", source: await constant(n), language: "component", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "k", "x")).output, "seven");
    const kept = host.versions("a", "k").map((v) => [v.version, v.rollbackable]);
    assert.equal(kept, [[1, false], [2, false], [3, true], [4, true], [5, true], [6, true], [7, true]]);
    const e = await rejects(host.rollback("a", "k", 1), "NOT_FOUND");
    assert.match(e.message, /no longer kept/);
    const hashes = host.versions("a", "k").map((v) => v.artifact);
    await host.close();

    // In the database itself: versions 1 and 2's artifacts were deleted, the others are there.
    const storage = await Storage.open(join(t.dataDir, "db"));
    try {
      const present = await Promise.all(hashes.map(async (h) => (await storage.recordBytes(artifactKey(h))) !== null));
      assert.equal(present, [false, false, true, true, true, true, true]);
    } finally {
      await storage.close();
    }

    // The dropped artifacts are gone from the database too: a restart can roll back only to kept ones.
    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    await rejects(host.rollback("a", "k", 2), "NOT_FOUND");
    await host.rollback("a", "k", 3);
    assert.is((await host.call("a", "k", "x")).output, "three");
    await host.kill("a", "k");
    await host.deploy({ tenant: "a", service: "k", source: await constant("again"), language: "component" });
    assert.equal(host.versions("a", "k").map((v) => v.version), [1], "a new service of the same name starts a new history");
    await host.close();
    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    assert.equal(host.versions("a", "k").map((v) => v.version), [1]);
    assert.is((await host.call("a", "k", "x")).output, "again");
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test.run();
