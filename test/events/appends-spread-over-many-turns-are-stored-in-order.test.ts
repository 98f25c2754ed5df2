import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore, type SoloEvent } from "../../host/events/index.ts";
import { RocksKvStore, Storage } from "../../host/storage/index.ts";

test("a steady trickle of appends and kv commits (a few per turn of the loop, 2000 in all): every one durable, in order, queryable by tenant and type, the chain verifies, also after a reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-trickle-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    const kv = new RocksKvStore(storage);
    const appends: Promise<SoloEvent>[] = [];
    const commits: Promise<void>[] = [];
    for (let turn = 0; turn < 200; turn++) {
      for (let j = 0; j < 10; j++) {
        const i = turn * 10 + j;
        appends.push(store.append({ type: i % 100 === 0 ? "circuit_opened" : "guest_event", tenant: `t${i % 3}`, service: "svc", data: { i } }));
      }
      commits.push(kv.commit("t0/svc", [[`k${turn}`, `v${turn}`]]));
      await new Promise((r) => setImmediate(r));
    }
    const made = await Promise.all(appends);
    await Promise.all(commits);
    const ids = made.map((e) => e.id);
    const check = async (label: string) => {
      assert.equal((await store.list({ limit: 5000 })).map((e) => e.id), ids, `${label}: all of them, in order`);
      assert.equal((await store.list({ tenant: "t1", limit: 5000 })).map((e) => e.data.i), made.filter((e) => e.tenant === "t1").map((e) => e.data.i), `${label}: by tenant`);
      assert.equal((await store.list({ type: "circuit_opened" })).map((e) => e.data.i), Array.from({ length: 20 }, (_, k) => k * 100), `${label}: a rare type`);
      assert.is((await store.get(ids[1234]!))?.data.i, 1234, `${label}: get`);
      assert.equal(await store.verify(), { ok: true, checked: 2000 }, `${label}: the chain`);
      assert.is((await storage.kvLoad("t0/svc")).length, 200, `${label}: every kv commit`);
    };
    await check("before a reopen");
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.is(store.lastId(), ids[1999]);
    await check("after a reopen");
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
