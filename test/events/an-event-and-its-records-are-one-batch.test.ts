import { rejects, test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

test("an event appended with records and kv: all durable together, also after a reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-also-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    await storage.write({ records: [["v:a/old", "gone soon"]] });
    const e = await store.append({ type: "service_deployed", tenant: "a", service: "svc" }, {
      records: [["v:a/svc", '{"artifact":"x"}'], ["a:x", new Uint8Array([0, 1, 255])], ["v:a/old", null]],
      kv: ["a/svc", [["seed", "1"]]],
    });
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.is((await store.get(e.id))?.type, "service_deployed");
    assert.equal(await storage.recordsWithPrefix("v:"), [["v:a/svc", '{"artifact":"x"}']]);
    assert.equal([...(await storage.recordBytes("a:x"))!], [0, 1, 255]);
    assert.equal(await storage.kvLoad("a/svc"), [["seed", "1"]]);
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("when the batch fails, neither the event nor its records nor its kv are written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-also-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    await storage.write({ records: [["v:a/svc", "deployed"]] });
    await storage.injectFaults({ ops: ["write"], next: 1 });
    await rejects(store.append({ type: "service_killed", tenant: "a", service: "svc" }, { records: [["v:a/svc", null]], kv: ["a/svc", [["k", "v"]]] }), "INTERNAL");
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.equal(await store.list(), []);
    assert.equal(await storage.recordsWithPrefix("v:"), [["v:a/svc", "deployed"]], "the delete did not happen");
    assert.equal(await storage.kvLoad("a/svc"), []);
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("under random write failures, every event is on disk exactly when its record is", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-also-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    await storage.injectFaults({ ops: ["write"], rate: 0.3, seed: 42 });
    const outcomes: { i: number; ok: boolean }[] = [];
    // Spread over ticks so there are many batches, some failing, some not.
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        const i = round * 10 + j;
        const ok = await store.append({ type: "guest_event", tenant: "a", data: { i } }, { records: [[`v:a/s${String(i).padStart(3, "0")}`, String(i)]] }).then(() => true, () => false);
        outcomes.push({ i, ok });
      }));
    }
    await storage.injectFaults(null);
    assert.ok(outcomes.some((o) => o.ok) && outcomes.some((o) => !o.ok), "some batches failed, some did not");
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    const events = new Set((await store.list()).map((e) => e.data.i as number));
    const records = new Set((await storage.recordsWithPrefix("v:")).map(([, v]) => Number(v)));
    for (const { i, ok } of outcomes) {
      assert.is(events.has(i), ok, `event ${i}: acknowledged exactly when durable`);
      assert.is(records.has(i), ok, `record ${i}: written exactly with its event`);
    }
    assert.is((await store.verify()).ok, true, "failed batches left no gap in the chain");
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
