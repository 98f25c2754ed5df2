import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, test, throwsCode } from "../helpers.ts";

test("await using closes the host at the end of the block (workers stop, the database is released)", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-dispose-"));
  let escaped: Host | undefined;
  try {
    {
      await using host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
      escaped = host;
      assert.equal(host.list("a"), []);
    }
    throwsCode(() => escaped!.list("a"), "UNAVAILABLE");
    // The database lock was released: the directory opens again.
    const again = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await again.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
