import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { Storage, artifactKey, serviceKey } from "../../host/storage/index.ts";
import { TEST_CACHE, example, rejects, test } from "../helpers.ts";

test("a stored record that is not JSON, or whose artifact is missing, fails that service alone: listed failed with the reason, a recover event, the rest come back", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-recover-"));
  try {
    const first = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await first.deploy({ tenant: "a", service: "good", source: example("echo.as.ts"), language: "assemblyscript" });
    await first.deploy({ tenant: "a", service: "garbled", source: example("counter.as.ts"), language: "assemblyscript" });
    const lost = await first.deploy({ tenant: "b", service: "lost", source: example("echo.ts"), language: "typescript" });
    await first.call("a", "good", "x");
    const lastId = first.eventStore.lastId();
    await first.close();

    const storage = await Storage.open(join(dataDir, "db"));
    await storage.write({ records: [[serviceKey("a", "garbled"), "{not json"], [artifactKey(lost.artifact), null]] });
    await storage.close();

    const second = await Host.open({ dataDir, cacheDir: join(dataDir, "fresh-cache"), workers: 1 });
    try {
      assert.equal(second.list("a").map((s) => [s.service, s.state]), [["garbled", "failed"], ["good", "running"]]);
      const garbled = second.status("a", "garbled");
      assert.is(garbled.failure?.code, "INTERNAL");
      assert.match(garbled.failure!.message, /not valid JSON/);
      const gone = second.status("b", "lost");
      assert.is(gone.state, "failed");
      assert.match(gone.failure!.message, /stored artifact .* is missing/);
      assert.is((await second.call("a", "good", "back")).output, "back");
      await rejects(second.call("a", "garbled", ""), "UNAVAILABLE");
      const events = [];
      for (const tenant of ["a", "b"]) {
        for await (const e of second.events(tenant, { after: lastId ?? undefined })) events.push(`${e.type} ${e.service} ${String(e.data.phase ?? "")}`.trim());
      }
      assert.equal(events.sort(), ["service_deployment_failed garbled recover", "service_deployment_failed lost recover", "service_recovered good"]);
      // The agent's way out: kill it (record and kv go) and deploy it again.
      await second.kill("a", "garbled");
      await second.deploy({ tenant: "a", service: "garbled", source: example("counter.as.ts"), language: "assemblyscript" });
      assert.is((await second.call("a", "garbled", "")).output, "1");
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
