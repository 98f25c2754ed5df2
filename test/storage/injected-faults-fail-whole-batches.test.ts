import { rejects, test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../host/events/index.ts";
import { RocksKvStore, Storage } from "../../host/storage/index.ts";

async function withStorage(fn: (s: Storage, store: EventStore) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "solo-faults-"));
  const storage = await Storage.open(join(dir, "db"));
  try {
    await fn(storage, await EventStore.open(storage));
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a failed write fails its whole batch: nothing of it is written, the head does not move; the next write works", () =>
  withStorage(async (storage, store) => {
    const kv = new RocksKvStore(storage);
    const kept = await store.append({ type: "guest_event", tenant: "a" });
    await storage.injectFaults({ ops: ["write"], next: 1 });
    // Queued in one tick: one group-committed batch.
    const failed = [
      store.append({ type: "guest_event", tenant: "a", data: { lost: 1 } }),
      kv.commit("a/svc", [["k", "v"]]),
      storage.write({ records: [["v:a/svc", "{}"]] }),
    ];
    for (const p of failed) {
      const e = await rejects(p, "INTERNAL");
      assert.match(e.message, /injected fault \(write\)/);
    }
    assert.equal((await store.list()).map((e) => e.id), [kept.id]);
    assert.equal(await kv.load("a/svc"), []);
    assert.equal(await storage.recordsWithPrefix("v:"), []);
    assert.is(store.lastId(), kept.id, "the head did not move");
    const next = await store.append({ type: "guest_event", tenant: "a" });
    await kv.commit("a/svc", [["k", "v2"]]);
    assert.equal(await store.verify(), { ok: true, checked: 2 });
    assert.equal(await kv.load("a/svc"), [["k", "v2"]]);
    assert.is(store.lastId(), next.id);
  }));

test("a plan picks its operations: kv-load, records and compact fail as asked, then work again", () =>
  withStorage(async (storage, store) => {
    const kv = new RocksKvStore(storage);
    for (let i = 0; i < 6; i++) await store.append({ type: "guest_event", tenant: "a", data: { i } });
    await kv.commit("a/s", [["k", "v"]]);
    await storage.injectFaults({ ops: ["kv-load", "records", "compact"], next: 3 });
    await store.append({ type: "guest_event", tenant: "a" }); // a write is not in the plan
    await rejects(kv.load("a/s"), "INTERNAL");
    await rejects(storage.recordsWithPrefix("v:"), "INTERNAL");
    await rejects(store.compact({ maxEvents: 1 }), "INTERNAL");
    assert.equal(await kv.load("a/s"), [["k", "v"]], "only the next 3 failed");
    assert.equal(await store.verify(), { ok: true, checked: 7 }, "a failed compaction removed nothing");
    await storage.injectFaults({ ops: ["kv-load"], rate: 1 });
    await rejects(kv.load("a/s"), "INTERNAL");
    await storage.injectFaults(null);
    assert.equal(await kv.load("a/s"), [["k", "v"]]);
  }));

test("a rate fails a seeded, repeatable share of operations", async () => {
  const pattern = async (seed: number) => {
    let out = "";
    await withStorage(async (storage) => {
      await storage.injectFaults({ ops: ["records"], rate: 0.5, seed });
      for (let i = 0; i < 40; i++) out += await storage.recordsWithPrefix("v:").then(() => ".", () => "x");
    });
    return out;
  };
  const a = await pattern(7);
  assert.is(await pattern(7), a, "the same seed fails the same operations");
  assert.ok(a.includes("x") && a.includes("."), `some fail, some succeed: ${a}`);
  assert.is.not(await pattern(8), a, "another seed, another pattern");
});

test.run();
