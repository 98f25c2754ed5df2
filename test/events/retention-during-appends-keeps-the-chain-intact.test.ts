import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

// Compaction used to re-read the chain head from disk when it finished, rolling back a head that
// appends had moved meanwhile: the next batch linked to an old hash and verify reported tampering.
test("compacting while appends stream in leaves a log that verifies, round after round, also after a reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-retention-race-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    for (let round = 0; round < 5; round++) {
      let writing = true;
      const lanes = Array.from({ length: 8 }, async (_, lane) => {
        while (writing) await store.append({ type: "guest_event", tenant: `t${lane % 3}`, service: "svc", data: { round, lane } });
      });
      for (let i = 0; i < 10; i++) await store.compact({ maxEvents: 50 });
      writing = false;
      await Promise.all(lanes);
      // A verify concurrent with appends must not see a chain that "ends early" either.
      const during = Array.from({ length: 4 }, (_, lane) => store.append({ type: "guest_event", tenant: "t0", data: { lane } }));
      const report = await store.verify();
      await Promise.all(during);
      assert.equal(report.ok, true, `round ${round}: ${JSON.stringify(report)}`);
      assert.equal((await store.verify()).ok, true, `round ${round}, after the appends settled`);
      const after = await store.append({ type: "guest_event", tenant: "t0", data: { round } });
      assert.equal((await store.verify()).ok, true, `round ${round}: a batch appended after compaction links to the head`);
      assert.is(store.lastId(), after.id);
    }
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.equal((await store.verify()).ok, true, "after a reopen");
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
