import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, openHost, rejects, test } from "../helpers.ts";

test("a second host on the same data directory gets UNAVAILABLE; the first keeps working", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const e = await rejects(Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 }), "UNAVAILABLE");
    assert.match(e.message, /cannot open the database/);
    assert.is((await t.host.call("a", "echo", "still mine")).output, "still mine");
  } finally {
    await t.close();
  }
});

test.run();
